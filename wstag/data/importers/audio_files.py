"""Finding and checking the user's audio files: the naming conventions, a file index, decoding probes."""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from wstag.audio.io import audio_info, load_audio
from wstag.data.audiocaps import CaptionRow
from wstag.data.corpus import CORPUS_INFO
from wstag.data.weak_labels import AUDIOCAPS_CLIP_S
from wstag.errors import AudioError
from wstag.records import Clip

#: Extensions load_audio reads (through soundfile); matched in any case.
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
#: Extensions YouTube downloaders produce that soundfile cannot read: reported, not imported.
UNSUPPORTED_EXTENSIONS = (".m4a", ".webm", ".opus", ".aac", ".mp4", ".mkv")
#: Audio shorter than this is reported as unreadable (a failed or cut download).
MIN_SECONDS = 1.0
#: The AudioCaps caption files looked for in a captions folder.
AUDIOCAPS_FILES = ("train.csv", "val.csv", "test.csv")
REPORT_NAME = "import_report.json"
MISSING_NAME = "missing.txt"
COMPLETE_MARKER = CORPUS_INFO
DEFAULT_VAL_SIZE = 1000
DEFAULT_MAX_MISSING = 0.2

#: Names of the conventions, as counted in the report.
NAMING_CONVENTIONS = (
    "label file name",
    "<audiocap_id>",
    "<youtube_id>_<start>_<end>",
    "Y<youtube_id>_<start>_<end>",
    "<youtube_id>_<start>",
    "Y<youtube_id>_<start>",
    "Y<youtube_id>",
    "<youtube_id>",
)
_STARTLESS = {"Y<youtube_id>", "<youtube_id>"}
_V1_NAME = re.compile(r"^(?P<yid>.+)_(?P<start>\d+(?:\.\d+)?)_(?P<end>\d+(?:\.\d+)?)$")
_V2_NAME = re.compile(r"^Y(?P<yid>[A-Za-z0-9_-]{11})$")
UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")

Progress = Callable[..., Iterable]


# ----------------------------------------------------------------------------- naming


def _seconds_forms(seconds: float) -> list[str]:
    """How download scripts write a start time: 30, 30.0, 30.000, 30000 (ms)."""
    forms = []
    if float(seconds).is_integer():
        forms.append(str(int(seconds)))
    forms += [f"{seconds:.1f}", f"{seconds:.3f}", str(int(round(seconds * 1000)))]
    return list(dict.fromkeys(forms))


def candidate_names(
    youtube_id: str | None,
    start_time: float | None,
    audiocap_id: str | None = None,
    label_name: str | None = None,
) -> list[tuple[str, str]]:
    """File stems (no extension) that may hold a row's clip, most specific first,
    each with the name of its convention (see the docstring of wstag.data.importers)."""
    out: list[tuple[str, str]] = []
    if label_name:
        out.append((file_stem(label_name), "label file name"))
    if audiocap_id:
        out.append((audiocap_id, "<audiocap_id>"))
    if youtube_id and start_time is not None:
        starts = _seconds_forms(start_time)
        ends = _seconds_forms(start_time + AUDIOCAPS_CLIP_S)
        for prefix in ("", "Y"):
            for s, e in zip(starts, ends):
                out.append((f"{prefix}{youtube_id}_{s}_{e}", f"{prefix}<youtube_id>_<start>_<end>"))
        for prefix in ("", "Y"):
            for s in starts:
                out.append((f"{prefix}{youtube_id}_{s}", f"{prefix}<youtube_id>_<start>"))
    if youtube_id:
        out.append((f"Y{youtube_id}", "Y<youtube_id>"))
        out.append((youtube_id, "<youtube_id>"))
    seen: set[str] = set()
    unique = []
    for stem, conv in out:
        if stem not in seen:
            seen.add(stem)
            unique.append((stem, conv))
    return unique


def file_stem(name: str) -> str:
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_EXTENSIONS or suffix in UNSUPPORTED_EXTENSIONS:
        return path.name[: -len(path.suffix)]
    return path.name


def parse_label_name(name: str) -> tuple[str | None, float | None]:
    """(youtube_id, start seconds) from an AudioGrounding audio name; None where it names none.

    v1: ``<youtube_id>_<start>_<end>.wav`` (the id may itself hold ``_`` or start with ``-``);
    v2: ``Y<youtube_id>.wav`` (no start time).
    """
    stem = file_stem(name)
    m = _V1_NAME.match(stem)
    if m:
        return m["yid"], float(m["start"])
    m = _V2_NAME.match(stem)
    if m:
        return m["yid"], None
    return None, None


class AudioIndex:
    """Every audio file under some folders, by stem (recursive; symlinked folders followed once).

    Hidden files (a leading ``.``, as partial downloads) are skipped. Where several files
    share a stem (another extension or sub-folder), the first in sorted path order wins and
    ``duplicates`` counts the stems concerned.
    """

    def __init__(self, folders: Sequence[Path], exclude: Sequence[Path] = ()):
        self.by_stem: dict[str, list[Path]] = {}
        self.unsupported: dict[str, list[Path]] = {}
        self.n_files = 0
        visited: set[str] = {os.path.realpath(p) for p in exclude}  # the corpus being written, if under a folder
        for folder in folders:
            for root, dirs, files in os.walk(folder, followlinks=True):
                real = os.path.realpath(root)
                if real in visited:
                    dirs[:] = []
                    continue
                visited.add(real)
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    suffix = os.path.splitext(name)[1].lower()
                    target = (self.by_stem if suffix in SUPPORTED_EXTENSIONS
                              else self.unsupported if suffix in UNSUPPORTED_EXTENSIONS else None)
                    if target is None:
                        continue
                    target.setdefault(name[: -len(suffix)], []).append(Path(root) / name)
                    if target is self.by_stem:
                        self.n_files += 1
        for paths in (*self.by_stem.values(), *self.unsupported.values()):
            paths.sort()

    @property
    def duplicates(self) -> int:
        return sum(len(p) > 1 for p in self.by_stem.values())


# ----------------------------------------------------------------------------- entries


@dataclass
class ImportEntry:
    """One label entry (a caption of a clip) on its way into the corpus."""

    source: str  # where it came from, for the report: "audiocaps/train", "audiogrounding/test", ...
    row: CaptionRow  # as written to captions.csv
    clip: Clip | None = None  # strong labels (AudioGrounding); None for AudioCaps rows
    label_name: str | None = None  # the label file's own audio name
    start_known: bool = True
    path: Path | None = None
    convention: str | None = None
    problem: str | None = None  # missing | unsupported | ambiguous | unreadable
    detail: str = ""
    audio_id: str = ""


@dataclass(frozen=True)
class Probe:
    digest: str
    duration: float | None
    problem: str | None


def probe_audio(path: str) -> Probe:
    """Hash a file's bytes and decode it once (at its own rate) to prove it is usable."""
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return Probe("", None, f"{path}: cannot read the file ({exc.strerror or exc})")
    try:
        rate = audio_info(path).sample_rate
        n = len(load_audio(path, rate))
    except AudioError as exc:
        return Probe(digest, None, str(exc))
    except (OSError, ValueError, RuntimeError, MemoryError) as exc:  # a decoder failing in its own way
        return Probe(digest, None, f"{path}: unreadable ({type(exc).__name__}: {exc})")
    duration = n / rate
    if duration < MIN_SECONDS:
        return Probe(digest, duration, f"{path}: only {duration:.2f} s of audio (at least {MIN_SECONDS:g} s needed)")
    return Probe(digest, duration, None)


def _probe_all(paths: list[Path], workers: int, progress: Progress | None) -> dict[Path, Probe]:
    wrap = progress or (lambda it, **kw: it)
    names = [str(p) for p in paths]
    workers = max(1, workers or (os.cpu_count() or 1))
    if workers == 1 or len(names) < 4 * workers:
        results = [probe_audio(p) for p in wrap(names, total=len(names), desc="checking audio")]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(wrap(pool.map(probe_audio, names, chunksize=16), total=len(names), desc="checking audio"))
    return dict(zip(paths, results))


def resolve_audio(entries: list[ImportEntry], index: AudioIndex, starts_by_video: dict[str, set[float]]) -> None:
    """Find each entry's file by the naming conventions; set ``path`` or ``problem``."""
    for e in entries:
        start = e.row.start_time if e.start_known else None
        cands = candidate_names(e.row.youtube_id or None, start, e.row.audiocap_id or None, e.label_name)
        for stem, conv in cands:
            paths = index.by_stem.get(stem)
            if not paths:
                continue
            if conv in _STARTLESS and len(starts_by_video.get(e.row.youtube_id, ())) > 1:
                n = len(starts_by_video[e.row.youtube_id])
                e.problem, e.detail = "ambiguous", (
                    f"{paths[0].name} names no start time and video {e.row.youtube_id} is captioned at {n} start times")
                break
            e.path, e.convention = paths[0], conv
            break
        else:
            unsupported = next((index.unsupported[s][0] for s, _ in cands if s in index.unsupported), None)
            if unsupported is not None:
                e.problem, e.detail = "unsupported", (
                    f"{unsupported}: {unsupported.suffix} cannot be read; convert it to wav, flac, ogg or mp3")
            else:
                e.problem = "missing"
                shown = ", ".join(f"{s}.*" for s, _ in cands[:3])
                e.detail = f"no file named {shown}" + (" ..." if len(cands) > 3 else "")


def check_audio(entries: list[ImportEntry], workers: int, progress: Progress | None) -> dict[Path, Probe]:
    paths = sorted({e.path for e in entries if e.path is not None and e.problem is None})
    probes = _probe_all(paths, workers, progress)
    for e in entries:
        if e.path is not None and e.problem is None and probes[e.path].problem:
            e.problem, e.detail = "unreadable", probes[e.path].problem
    return probes
