"""Import real AudioCaps and AudioGrounding from disk into the corpus layout of ``wstag data build``.

Both importers write, per split, ``audio/`` (links to the user's files, never re-encoded),
``captions.csv`` (AudioCaps columns), ``weak.json`` (the phrase parser's phrases, no
segments: what weakly-supervised training reads) and, where strong labels exist,
``labels.json`` (AudioGrounding v2 with segments), plus ``corpus.json`` (content hash and
import statistics), ``import_report.json`` and ``missing.txt``. So ``wstag train``,
``wstag evaluate`` and ``wstag experiments`` accept an imported corpus as they accept a
built one.

:func:`import_audiocaps` follows the paper's data preparation (V-A): the AudioCaps
train, val and test captions are merged; every AudioCaps row of a video in the
AudioGrounding test set is removed (the paper eliminates the AudioGrounding test audio
from training; removing the whole video also drops other 10 s windows of it); the rest
is re-split into train and a validation split of exactly ``val_size`` pairs (1,000 in
the paper), drawn by whole videos with ``numpy.random.default_rng(seed)`` so that no
video is heard in both. The AudioGrounding test set, with its segments, is the test
split. The same inputs and seed give byte-identical label files.

:func:`import_audiogrounding` keeps AudioGrounding's own train/val/test split (v1 or v2
label files), every split with its segments (for SSTAG and evaluation); a video of the
test split found in train or val is removed there.

Audio files are matched to label rows by file name, searched recursively under the
audio folder(s), with any of the extensions ``.wav .flac .ogg .mp3`` (any case), in this
order of preference:

1. the label file's own name (AudioGrounding v1 ``<youtube_id>_<start>_<end>.wav``,
   v2 ``Y<youtube_id>.wav``), with any of the four extensions;
2. ``<audiocap_id>`` (what the ``audiocaps-download`` package writes, one file per caption);
3. ``[Y]<youtube_id>_<start>_<end>`` and ``[Y]<youtube_id>_<start>``, with the start
   (and end = start + 10 s) written as whole seconds (``30``), one decimal (``30.0``),
   three decimals (``30.000``, AudioGrounding's form) or milliseconds (``30000``);
4. ``Y<youtube_id>`` (AudioSet downloads, AudioGrounding v2) and ``<youtube_id>``: these
   name no start time, so a video captioned at two different start times cannot be
   matched this way and its rows are reported as ambiguous.

A file found only as ``.m4a``, ``.webm``, ``.opus``, ``.aac``, ``.mp4`` or ``.mkv`` is
reported as unsupported (convert it to one of the four). Every matched file is decoded
once with :func:`wstag.audio.io.load_audio` (at its own rate, no resampling): missing,
unsupported, ambiguous and unreadable audio (corrupt, truncated, shorter than
:data:`MIN_SECONDS`) drop their rows, counted in ``import_report.json`` and listed in
``missing.txt``; never a crash. More than ``max_missing`` of a source without readable
audio stops the import with one line (a :class:`~wstag.errors.ConfigError`).

In the corpus each label entry gets its own file name, ``<audiocap_id><ext>`` (a suffix
``_2``, ``_3`` ... where two entries share an id), because evaluation keys every
(clip, phrase) pair by the audio id: the five captions of one AudioCaps test clip are
five entries linking the same file. Links are absolute symlinks by default, hard links
(or copies across file systems) with ``copy=True``. Segments that run past the end of a
shorter download are cut at the audio's end (counted as ``segments_cut``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

import numpy as np

from wstag.audio.io import audio_info, load_audio
from wstag.data.audiocaps import CaptionRow, read_captions_csv, write_captions_csv
from wstag.data.audiogrounding import clip_from_v2, load_json, read_v1, write_v2
from wstag.data.corpus import CAPTIONS, CORPUS_INFO, LABELS, SPLITS, WEAK, finish_corpus, hash_label_files
from wstag.data.weak_labels import AUDIOCAPS_CLIP_S, caption_to_weak_clip
from wstag.errors import AudioError, ConfigError, LabelError
from wstag.files import atomic_open, check_output_folder, recover_folder, write_json
from wstag.records import SEGMENT_TOLERANCE_S, Clip, Phrase, Segment

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
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")

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
    each with the name of its convention (see the module docstring)."""
    out: list[tuple[str, str]] = []
    if label_name:
        out.append((_stem(label_name), "label file name"))
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


def _stem(name: str) -> str:
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
    stem = _stem(name)
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
class _Entry:
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
class _Probe:
    digest: str
    duration: float | None
    problem: str | None


def probe_audio(path: str) -> _Probe:
    """Hash a file's bytes and decode it once (at its own rate) to prove it is usable."""
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return _Probe("", None, f"{path}: cannot read the file ({exc.strerror or exc})")
    try:
        rate = audio_info(path).sample_rate
        n = len(load_audio(path, rate))
    except AudioError as exc:
        return _Probe(digest, None, str(exc))
    except (OSError, ValueError, RuntimeError, MemoryError) as exc:  # a decoder failing in its own way
        return _Probe(digest, None, f"{path}: unreadable ({type(exc).__name__}: {exc})")
    duration = n / rate
    if duration < MIN_SECONDS:
        return _Probe(digest, duration, f"{path}: only {duration:.2f} s of audio (at least {MIN_SECONDS:g} s needed)")
    return _Probe(digest, duration, None)


def _probe_all(paths: list[Path], workers: int, progress: Progress | None) -> dict[Path, _Probe]:
    wrap = progress or (lambda it, **kw: it)
    names = [str(p) for p in paths]
    workers = max(1, workers or (os.cpu_count() or 1))
    if workers == 1 or len(names) < 4 * workers:
        results = [probe_audio(p) for p in wrap(names, total=len(names), desc="checking audio")]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(wrap(pool.map(probe_audio, names, chunksize=16), total=len(names), desc="checking audio"))
    return dict(zip(paths, results))


def _resolve(entries: list[_Entry], index: AudioIndex, starts_by_video: dict[str, set[float]]) -> None:
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


def _check_audio(entries: list[_Entry], workers: int, progress: Progress | None) -> dict[Path, _Probe]:
    paths = sorted({e.path for e in entries if e.path is not None and e.problem is None})
    probes = _probe_all(paths, workers, progress)
    for e in entries:
        if e.path is not None and e.problem is None and probes[e.path].problem:
            e.problem, e.detail = "unreadable", probes[e.path].problem
    return probes


# ----------------------------------------------------------------------------- labels


def read_grounding_labels(path: str | os.PathLike) -> tuple[list[Clip], str]:
    """An AudioGrounding label file, v1 (pandas "columns" JSON) or v2 (a JSON list), as
    strong-label clips, and the version found.

    v2 entries without a ``caption`` (the Zenodo release keeps only ``tokens``) get the
    tokens, joined by spaces, as their caption.
    """
    data = load_json(path)
    if isinstance(data, dict):
        return read_v1(path), "v1"
    if not isinstance(data, list):
        raise LabelError(f"{path}: neither AudioGrounding v1 (a JSON object) nor v2 (a JSON list)")
    clips = []
    for i, entry in enumerate(data):
        if isinstance(entry, dict) and "caption" not in entry and "tokens" in entry:
            tokens = entry["tokens"]
            if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
                tokens = " ".join(tokens)
            if isinstance(tokens, str):
                entry = {**entry, "caption": tokens}
        clips.append(clip_from_v2(entry, str(path), i, require_segments=True))
    return clips, "v2"


def _grounding_file(path: Path, split: str) -> Path:
    if path.is_dir():
        found = path / f"{split}.json"
        if not found.is_file():
            raise LabelError(f"{path}: no {split}.json (AudioGrounding v1 or v2 labels) in this folder")
        return found
    if not path.is_file():
        raise LabelError(f"{path}: no such file or folder")
    return path


def _caption_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LabelError(f"{path}: no such file or folder (expected the AudioCaps captions: "
                         f"{', '.join(AUDIOCAPS_FILES)})")
    files = [path / n for n in AUDIOCAPS_FILES if (path / n).is_file()]
    if not files:
        raise LabelError(f"{path}: holds none of {', '.join(AUDIOCAPS_FILES)} (the AudioCaps caption CSVs)")
    return files


def _id_key(value: str | None) -> tuple:
    return (0, int(value), "") if value and value.isdigit() else (1, 0, value or "")


def _fit_to_audio(clip: Clip, duration: float) -> tuple[Clip, int]:
    """The clip with its measured duration; segments past the audio's end cut there."""
    cut = 0
    phrases = []
    for p in clip.phrases:
        if p.segments is None:
            phrases.append(p)
            continue
        segs = []
        for s in p.segments:
            if s.offset > duration + SEGMENT_TOLERANCE_S:
                cut += 1
                if s.onset >= duration:
                    continue
                s = Segment(s.onset, duration)
            segs.append(s)
        phrases.append(Phrase(p.text, p.start_index, p.end_index, tuple(segs)))
    return replace(clip, phrases=tuple(phrases), duration=duration), cut


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the corpus folder, its hash and the figures of the report."""

    path: Path
    source: str
    seed: int | None
    content_hash: str
    sizes: dict[str, int]
    counts: dict[str, dict[str, int]]  # per source: entries, imported, missing, unsupported, ambiguous, unreadable
    stats: dict[str, dict]
    report: dict = field(repr=False, default_factory=dict)


_PROBLEMS = ("missing", "unsupported", "ambiguous", "unreadable")


def _counts(entries: list[_Entry]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in entries:
        c = out.setdefault(e.source, {"entries": 0, "imported": 0, **{p: 0 for p in _PROBLEMS}})
        c["entries"] += 1
        c[e.problem or "imported"] += 1
    return out


def _missing_lines(entries: list[_Entry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["source", "audiocap_id", "youtube_id", "start_time", "problem", "detail"])
    for e in entries:
        if e.problem:
            start = f"{e.row.start_time:g}" if e.start_known else ""
            w.writerow([e.source, e.row.audiocap_id, e.row.youtube_id, start, e.problem, e.detail])
    return buf.getvalue()


def _write_report(folder: Path, report: dict, entries: list[_Entry]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / REPORT_NAME, report)
    with atomic_open(folder / MISSING_NAME, "w", encoding="utf-8", newline="") as fh:
        fh.write(_missing_lines(entries))


def _conventions(entries: list[_Entry]) -> dict[str, int]:
    counts = {c: 0 for c in NAMING_CONVENTIONS}
    for e in entries:
        if e.problem is None and e.convention:
            counts[e.convention] += 1
    return {c: n for c, n in counts.items() if n}


def _check_shares(groups: dict[str, list[_Entry]], max_missing: float, out: Path, report: dict,
                  entries: list[_Entry], writable: bool) -> None:
    """Stop with one line if a group has more than ``max_missing`` entries without readable audio."""
    for what, group in groups.items():
        if not group:
            continue
        bad = [e for e in group if e.problem]
        share = len(bad) / len(group)
        if share > max_missing:
            where = ""
            if writable:
                _write_report(out, {**report, "stopped": True}, entries)
                where = f"; the list is in {out / MISSING_NAME}"
            kinds = ", ".join(f"{sum(e.problem == p for e in bad)} {p}" for p in _PROBLEMS
                              if any(e.problem == p for e in bad))
            raise ConfigError(
                f"{share:.1%} of the {len(group)} {what} have no readable audio ({kinds}), more than "
                f"--max-missing {max_missing:g}: import stopped{where}")


# ----------------------------------------------------------------------------- output folder


def _is_report_only(folder: Path) -> bool:
    return all(p.name in (REPORT_NAME, MISSING_NAME) for p in folder.iterdir())


def check_import_out(out: Path, force: bool) -> bool:
    """Refuse an --out that cannot take the corpus; True if a failed import may write its report there."""
    check_output_folder(out)
    recover_folder(out)
    if not out.exists():
        return True
    if (out / COMPLETE_MARKER).is_file():
        if not force:
            raise ConfigError(f"{out}: holds a corpus already; choose another --out or pass --force")
        return False
    if any(out.iterdir()) and not _is_report_only(out):  # --force replaces a corpus, never anything else
        raise ConfigError(f"{out}: folder exists and is not a wstag corpus (no {COMPLETE_MARKER}); wstag replaces "
                          f"only a corpus it wrote, even with --force: choose another --out")
    return True


def _check_audio_dirs(folders: Iterable[Path]) -> list[Path]:
    out = []
    for folder in folders:
        if not folder.exists():
            raise AudioError(f"{folder}: no such audio folder")
        if not folder.is_dir():
            raise AudioError(f"{folder}: is a file; give the folder that holds the audio files")
        if folder not in out:
            out.append(folder)
    return out


def _safe_id(value: str) -> str:
    return _SAFE.sub("_", value).strip(".") or "clip"


def _assign_audio_ids(entries: list[_Entry]) -> None:
    """``<audiocap_id><ext>``, unique within the split (``_2``, ``_3`` ... on a repeat)."""
    used: set[str] = set()
    for e in entries:
        assert e.path is not None
        base = _safe_id(e.row.audiocap_id or _stem(e.label_name or e.path.name))
        ext = e.path.suffix.lower()
        name, k = f"{base}{ext}", 1
        while name in used:
            k += 1
            name = f"{base}_{k}{ext}"
        used.add(name)
        e.audio_id = name


def _place(src: Path, dst: Path, copy: bool) -> None:
    src = src.resolve()
    if not copy:
        os.symlink(src, dst)
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copyfile(src, dst)


def _split_stats(entries: list[_Entry], weak: list[Clip], strong: list[Clip] | None,
                 probes: dict[Path, _Probe]) -> dict:
    files = {e.path for e in entries}
    hours = sum(probes[p].duration or 0.0 for p in files) / 3600
    stats = {
        "clips": len(entries),
        "audio_files": len(files),
        "hours": round(hours, 3),
        "weak_phrases": sum(len(c.phrases) for c in weak),
        "captions_without_phrase": len(entries) - len(weak),
        "strong_phrases": None,
        "short_share": None,
    }
    if strong is not None:
        phrases = [(c, p) for c in strong for p in c.phrases]
        stats["strong_phrases"] = len(phrases)
        short = sum(p.is_short(c.duration or AUDIOCAPS_CLIP_S) for c, p in phrases)
        stats["short_share"] = round(short / max(len(phrases), 1), 3)
    return stats


def _write_corpus(
    out: Path,
    splits: dict[str, list[_Entry]],
    probes: dict[Path, _Probe],
    info: dict,
    report: dict,
    all_entries: list[_Entry],
    *,
    copy: bool,
    weak_from: Literal["parser", "human"] = "parser",
    progress: Progress | None = None,
) -> ImportResult:
    wrap = progress or (lambda it, **kw: it)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    stats: dict[str, dict] = {}
    segments_cut = 0
    for split in SPLITS:
        entries = splits[split]
        folder = tmp / split
        (folder / "audio").mkdir(parents=True)
        _assign_audio_ids(entries)
        for e in wrap(entries, total=len(entries), desc=f"linking {split}"):
            _place(e.path, folder / "audio" / e.audio_id, copy)
        strong = None
        if entries and all(e.clip is not None for e in entries):  # AudioGrounding: segments for evaluation
            strong = []
            for e in entries:
                clip, cut = _fit_to_audio(e.clip, round(probes[e.path].duration, 3))
                segments_cut += cut
                strong.append(replace(clip, audio_id=e.audio_id, audiocap_id=e.row.audiocap_id,
                                      extra={**clip.extra, "source_audio_id": e.label_name}))
            write_v2(strong, folder / LABELS)
        weak = []
        for i, e in enumerate(entries):
            duration = round(probes[e.path].duration, 3)
            if weak_from == "human" and strong is not None:
                clip = strong[i].weak()
            else:
                clip = replace(caption_to_weak_clip(e.row, e.audio_id), duration=duration)
            if clip.phrases:
                weak.append(clip.validate(str(folder / WEAK)))
        write_v2(weak, folder / WEAK)
        write_captions_csv([e.row for e in entries], folder / CAPTIONS)
        stats[split] = _split_stats(entries, weak, strong, probes)
    h = hashlib.sha256()
    hash_label_files(h, tmp)
    for split in SPLITS:
        for e in splits[split]:
            h.update(f"{split}/{e.audio_id}\0{probes[e.path].digest}\n".encode())
    content_hash = h.hexdigest()[:16]
    sizes = {s: len(splits[s]) for s in SPLITS}
    report = {**report, "segments_cut": segments_cut, "sizes": sizes, "content_hash": content_hash}
    corpus = {**info, "sizes": sizes, "bank_hash": None, "content_hash": content_hash,
              "import": {k: report[k] for k in ("counts", "removed_test_overlap", "naming", "segments_cut",
                                                 "duplicate_names", "longer_than_12s")},
              "stats": stats}
    _write_report(tmp, report, all_entries)
    finish_corpus(tmp, out, corpus)  # the old corpus is deleted only once the new one is in place
    return ImportResult(out, info["source"], info.get("seed"), content_hash, sizes, report["counts"], stats, report)


def _base_report(source: str, entries: list[_Entry], index: AudioIndex, probes: dict[Path, _Probe],
                 removed: int, extra: dict) -> dict:
    long = sum(1 for p in probes.values() if p.duration and p.duration > 12.0)
    return {
        "source": source,
        **extra,
        "audio_files_found": index.n_files,
        "duplicate_names": index.duplicates,
        "removed_test_overlap": removed,
        "counts": _counts(entries),
        "naming": _conventions(entries),
        "longer_than_12s": long,
        "missing_list": MISSING_NAME,
    }


# ----------------------------------------------------------------------------- AudioCaps


def _val_split(entries: list[_Entry], val_size: int, seed: int) -> tuple[list[_Entry], list[_Entry]]:
    """Hold out exactly ``val_size`` pairs (when whole videos allow it), drawn by video with ``seed``."""
    by_video: dict[str, list[_Entry]] = {}
    for e in entries:
        by_video.setdefault(e.row.youtube_id, []).append(e)
    videos = sorted(by_video)
    order = np.random.default_rng(seed).permutation(len(videos))
    val_videos: set[str] = set()
    left = val_size
    for i in order:
        if left == 0:
            break
        group = by_video[videos[i]]
        if len(group) <= left:
            val_videos.add(videos[i])
            left -= len(group)
    key = lambda e: _id_key(e.row.audiocap_id)  # noqa: E731
    train = sorted((e for e in entries if e.row.youtube_id not in val_videos), key=key)
    val = sorted((e for e in entries if e.row.youtube_id in val_videos), key=key)
    return train, val


def _test_entries(clips: list[Clip], rows_by_id: dict[str, CaptionRow], source: str) -> list[_Entry]:
    """AudioGrounding clips as entries; youtube id and start from AudioCaps (by audiocap_id) or the file name."""
    out = []
    for clip in clips:
        row = rows_by_id.get(clip.audiocap_id or "")
        yid, start = parse_label_name(clip.audio_id)
        start_known = start is not None
        if row is not None:
            yid, start, start_known = row.youtube_id, row.start_time, True
        out.append(_Entry(
            source=source,
            row=CaptionRow(clip.audiocap_id or _stem(clip.audio_id), yid or _stem(clip.audio_id), start or 0.0,
                           clip.caption),
            clip=clip,
            label_name=clip.audio_id,
            start_known=start_known,
        ))
    return out


def import_audiocaps(
    captions: str | os.PathLike,
    audio_dir: str | os.PathLike,
    out: str | os.PathLike,
    grounding: str | os.PathLike,
    *,
    grounding_audio: str | os.PathLike | None = None,
    val_size: int = DEFAULT_VAL_SIZE,
    seed: int = 0,
    max_missing: float = DEFAULT_MAX_MISSING,
    copy: bool = False,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import AudioCaps (captions + downloaded audio) with the AudioGrounding test set as test split.

    ``captions``: the AudioCaps ``train.csv``, ``val.csv``, ``test.csv`` folder (those
    present), or one CSV; ``grounding``: the AudioGrounding test labels (v1 or v2 file, or a
    folder with ``test.json``); audio is searched under ``audio_dir`` and
    ``grounding_audio`` (default: ``audio_dir``). See the module docstring for the
    preparation, the naming conventions and what is reported.
    """
    say = log or (lambda m: None)
    captions, audio_dir, out, grounding = Path(captions), Path(audio_dir), Path(out), Path(grounding)
    if val_size < 1:
        raise ConfigError(f"--val-size must be at least 1, got {val_size}")
    if not 0 <= max_missing <= 1:
        raise ConfigError(f"--max-missing must be a share between 0 and 1, got {max_missing}")
    files = _caption_files(captions)
    test_file = _grounding_file(grounding, "test")
    folders = _check_audio_dirs([audio_dir, Path(grounding_audio) if grounding_audio else audio_dir])
    writable = check_import_out(out, force)

    rows_by_id: dict[str, CaptionRow] = {}
    pool: list[_Entry] = []
    for f in files:
        name = f"audiocaps/{f.stem}"
        for row in read_captions_csv(f):
            if row.audiocap_id in rows_by_id:
                raise LabelError(f"{f}: audiocap_id {row.audiocap_id} occurs twice in the caption files")
            rows_by_id[row.audiocap_id] = row
            pool.append(_Entry(source=name, row=row))
    test_clips, version = read_grounding_labels(test_file)
    test = _test_entries(test_clips, rows_by_id, "audiogrounding/test")
    test_videos = {e.row.youtube_id for e in test}
    test_ids = {e.row.audiocap_id for e in test if e.row.audiocap_id}
    kept = [e for e in pool if e.row.youtube_id not in test_videos and e.row.audiocap_id not in test_ids]
    removed = len(pool) - len(kept)
    say(f"{len(pool)} AudioCaps captions from {len(files)} file(s); {removed} of them, of videos in the "
        f"AudioGrounding test set ({len(test)} captions, {version}), removed")

    starts: dict[str, set[float]] = {}
    for e in (*pool, *test):
        if e.start_known:
            starts.setdefault(e.row.youtube_id, set()).add(e.row.start_time)
    index = AudioIndex(folders, exclude=(out, out.with_name(f".{out.name}.partial")))
    say(f"{index.n_files} audio files under {', '.join(map(str, folders))}")
    entries = kept + test
    _resolve(entries, index, starts)
    probes = _check_audio(entries, workers, progress)

    report = _base_report("audiocaps", entries, index, probes, removed, {
        "seed": seed, "val_size": val_size, "max_missing": max_missing,
        "inputs": {"captions": [str(f) for f in files], "audio": [str(f) for f in folders],
                   "grounding_test": str(test_file), "grounding_format": version},
    })
    _check_shares({"AudioCaps captions": kept, "AudioGrounding test captions": test}, max_missing, out, report,
                  entries, writable)
    usable = [e for e in kept if e.problem is None]
    if len(usable) <= val_size:
        raise ConfigError(f"only {len(usable)} AudioCaps captions have readable audio: --val-size {val_size} "
                          f"leaves none for training")
    train, val = _val_split(usable, val_size, seed)
    if not val:
        raise ConfigError(f"no video has {val_size} or fewer captions: --val-size {val_size} holds none out")
    if len(val) != val_size:
        say(f"validation holds {len(val)} captions, not {val_size}: whole videos did not add up")
    splits = {"train": train, "val": val, "test": [e for e in test if e.problem is None]}
    if not splits["test"]:
        raise ConfigError(f"{test_file}: no caption of the AudioGrounding test set has readable audio")
    info = {"source": "audiocaps", "preset": "import-audiocaps", "seed": seed, "val_size": val_size,
            "link": "hardlink-or-copy" if copy else "symlink", "inputs": report["inputs"]}
    return _write_corpus(out, splits, probes, info, report, entries, copy=copy, progress=progress)


# ----------------------------------------------------------------------------- AudioGrounding


def import_audiogrounding(
    labels: str | os.PathLike,
    audio_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    weak_phrases: Literal["parser", "human"] = "parser",
    max_missing: float = DEFAULT_MAX_MISSING,
    copy: bool = False,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import AudioGrounding (``labels``: a folder with ``train.json``, ``val.json``,
    ``test.json``, each v1 or v2) with its audio, keeping its split and every segment.

    ``weak.json`` holds the phrase parser's phrases of each caption (``weak_phrases="parser"``,
    as ``wstag data build`` writes) or the human phrases without their segments (``"human"``).
    """
    say = log or (lambda m: None)
    labels, audio_dir, out = Path(labels), Path(audio_dir), Path(out)
    if weak_phrases not in ("parser", "human"):
        raise ConfigError(f"--weak-phrases must be parser or human, got {weak_phrases!r}")
    if not 0 <= max_missing <= 1:
        raise ConfigError(f"--max-missing must be a share between 0 and 1, got {max_missing}")
    if not labels.is_dir():
        raise LabelError(f"{labels}: {'is a file' if labels.exists() else 'no such folder'}; give the folder "
                         f"with the AudioGrounding train.json, val.json and test.json")
    paths = {s: _grounding_file(labels, s) for s in SPLITS}
    folders = _check_audio_dirs([audio_dir])
    writable = check_import_out(out, force)

    by_split: dict[str, list[_Entry]] = {}
    versions = {}
    for split in SPLITS:
        clips, versions[split] = read_grounding_labels(paths[split])
        by_split[split] = _test_entries(clips, {}, f"audiogrounding/{split}")
    test_videos = {e.row.youtube_id for e in by_split["test"]}
    removed = 0
    for split in ("train", "val"):
        before = len(by_split[split])
        by_split[split] = [e for e in by_split[split] if e.row.youtube_id not in test_videos]
        removed += before - len(by_split[split])
    entries = [e for s in SPLITS for e in by_split[s]]
    say("AudioGrounding: " + ", ".join(f"{s} {len(by_split[s])} captions ({versions[s]})" for s in SPLITS)
        + (f"; {removed} captions of test videos removed from train/val" if removed else ""))
    starts: dict[str, set[float]] = {}
    for e in entries:
        if e.start_known:
            starts.setdefault(e.row.youtube_id, set()).add(e.row.start_time)
    index = AudioIndex(folders, exclude=(out, out.with_name(f".{out.name}.partial")))
    say(f"{index.n_files} audio files under {audio_dir}")
    _resolve(entries, index, starts)
    probes = _check_audio(entries, workers, progress)
    report = _base_report("audiogrounding", entries, index, probes, removed, {
        "seed": None, "max_missing": max_missing, "weak_phrases": weak_phrases,
        "inputs": {"labels": {s: str(p) for s, p in paths.items()}, "formats": versions,
                   "audio": [str(f) for f in folders]},
    })
    _check_shares({f"AudioGrounding {s} captions": by_split[s] for s in SPLITS}, max_missing, out, report,
                  entries, writable)
    splits = {s: [e for e in by_split[s] if e.problem is None] for s in SPLITS}
    for s, es in splits.items():
        if not es:
            raise ConfigError(f"{paths[s]}: no caption of the {s} split has readable audio")
    info = {"source": "audiogrounding", "preset": "import-audiogrounding", "seed": None,
            "link": "hardlink-or-copy" if copy else "symlink", "weak_phrases": weak_phrases,
            "inputs": report["inputs"]}
    return _write_corpus(out, splits, probes, info, report, entries, copy=copy, weak_from=weak_phrases,
                         progress=progress)
