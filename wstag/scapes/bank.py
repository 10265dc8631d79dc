"""The sound bank: curated recordings, decoded once, with a manifest.

For every file the class table names, the bank stores the recording resampled to
32 kHz mono (peak-normalised 16-bit FLAC, so mixing reads no codecs), its active span
(frames within 30 dB of the peak), the RMS level of that span (mixing sets levels from
it), its original sample rate (Scratch, scorched3d and lincity are band-limited 11 kHz
recordings: a domain shift worth knowing), licence and attribution. Duplicates by
content are removed, numbered takes form one source group, and groups are split
train/val/test per class, so test clips use recordings never heard in training.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import soxr

from wstag.audio.frames import SAMPLE_RATE  # the bank is decoded at the model's rate
from wstag.audio.io import audio_info, load_audio, write_flac
from wstag.errors import AudioError, ConfigError
from wstag.files import write_json
from wstag.scapes.classtable import ClassTable, ResolvedFile, resolve_sources
from wstag.scapes.fetch import AUDIO_SUFFIXES, sources_dir

ACTIVE_DB = 30.0  # SOUNDS.md: 30 dB below the peak marks the active span
ACTIVE_FRAME = 320  # 10 ms frames for the active-span envelope
MIN_ACTIVE_S = 0.02  # a single key click of the typing recordings lasts about 30 ms
DEDUP_RATE = 8000
DEDUP_THRESHOLD = 0.8  # SOUNDS.md: 8 kHz cross-correlation above 0.8 marks a duplicate
SPLITS = ("train", "val", "test")
MANIFEST_VERSION = 3  # bump when the bank code changes what it stores


@dataclass(frozen=True)
class Recording:
    """One curated recording in the bank (a row of the manifest)."""

    id: str
    class_name: str
    group: str
    split: str
    source: str
    package: str
    licence: str
    attribution: str
    original_sample_rate: int
    original_channels: int
    duration: float  # seconds, after any crop
    active_onset: float
    active_offset: float
    active_rms_db: float  # dBFS of the active span, in the stored (peak-normalised) audio
    gender: str | None
    path: str  # FLAC path relative to the bank folder

    @property
    def active_duration(self) -> float:
        return self.active_offset - self.active_onset


@dataclass(frozen=True)
class SoundBank:
    root: Path
    recordings: tuple[Recording, ...]
    table: ClassTable
    content_hash: str

    def in_split(self, split: str) -> list[Recording]:
        return [r for r in self.recordings if r.split == split]


def active_span(audio: np.ndarray, frame: int = ACTIVE_FRAME, drop_db: float = ACTIVE_DB) -> tuple[int, int]:
    """Sample indices [start, end) from the first to the last frame within ``drop_db`` of the peak frame."""
    n = len(audio) // frame
    if n == 0:
        return 0, len(audio)
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    active = np.flatnonzero(db >= db.max() - drop_db)
    return int(active[0] * frame), int(min((active[-1] + 1) * frame, len(audio)))


_TAKE_SUFFIX = re.compile(r"[\s_\-.]*\d+$")


def source_group(file: ResolvedFile) -> str:
    """Numbered takes of one recording (Thunder1..5, break_glass.1..3) form one group."""
    rel = file.source.split(":", 1)[1]
    if file.spec.group_pattern:
        m = re.search(file.spec.group_pattern, rel)
        if m:
            return f"{file.spec.package}:{m.group(1)}"
    parent, _, name = rel.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    stem = _TAKE_SUFFIX.sub("", stem) or stem
    return f"{file.spec.package}:{parent}/{stem}"


def _slug(source: str) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "_", source.split(":", 1)[1].rsplit(".", 1)[0]).strip("_")[-60:]
    return f"{base}_{zlib.crc32(source.encode()):08x}"


def _process_file(args: tuple[ResolvedFile, str]) -> tuple[dict, np.ndarray] | str:
    """Decode, crop, measure and store one recording; returns (row, fingerprint) or a skip reason."""
    file, out_path = args
    try:
        info = audio_info(file.path)
        audio = load_audio(file.path, SAMPLE_RATE)
    except AudioError as exc:
        return f"skipped {file.source}: {exc}"
    if file.spec.span:
        a, b = (int(t * SAMPLE_RATE) for t in file.spec.span)
        audio = audio[a:b]
    audio = audio - np.mean(audio)  # some recordings carry a DC offset that would hide the active span
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak < 1e-4:
        return f"skipped {file.source}: silent"
    audio = (audio / peak * 0.99).astype(np.float32)
    start, end = active_span(audio)
    if (end - start) / SAMPLE_RATE < MIN_ACTIVE_S:
        return f"skipped {file.source}: active span under {MIN_ACTIVE_S} s"
    rms = float(np.sqrt(np.mean(audio[start:end].astype(np.float64) ** 2)))
    write_flac(out_path, audio, SAMPLE_RATE)
    row = dict(
        source=file.source,
        original_sample_rate=int(info.sample_rate),
        original_channels=int(info.channels),
        duration=round(len(audio) / SAMPLE_RATE, 4),
        active_onset=round(start / SAMPLE_RATE, 4),
        active_offset=round(end / SAMPLE_RATE, 4),
        active_rms_db=round(20 * np.log10(max(rms, 1e-10)), 2),
    )
    fp = soxr.resample(audio[start:end], SAMPLE_RATE, DEDUP_RATE).astype(np.float32)
    return row, fp


def _max_xcorr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation of two signals (1.0 for identical content)."""
    a = a - a.mean()
    b = b - b.mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    c = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    return float(np.max(np.abs(c)) / (na * nb))


def find_duplicates(fps: list[np.ndarray], threshold: float = DEDUP_THRESHOLD) -> set[int]:
    """Indices to drop: each is a content duplicate of an earlier kept item."""
    drop: set[int] = set()
    for i in range(len(fps)):
        if i in drop:
            continue
        for j in range(i + 1, len(fps)):
            if j in drop:
                continue
            la, lb = len(fps[i]), len(fps[j])
            if min(la, lb) / max(la, lb) < 0.5:
                continue
            if _max_xcorr(fps[i], fps[j]) > threshold:
                drop.add(j)
    return drop


def split_groups(sizes: Mapping[str, int], salt: str) -> dict[str, str]:
    """Assign source groups to splits: about 70/10/20 %, at least one train and one test group.

    The largest group (most recordings) always trains: with few groups per class, the
    model should learn from the richest source. The others are ordered by a hash of
    their name, salted by the class, so adding a class never reshuffles another's split.
    """
    ordered = sorted(sizes, key=lambda g: hashlib.sha1(f"{salt}|{g}".encode()).hexdigest())
    n = len(ordered)
    if n < 2:
        return {g: "train" for g in ordered}
    largest = max(ordered, key=lambda g: (sizes[g], g))
    rest = [g for g in ordered if g != largest]
    n_test = max(1, round(0.2 * n))
    n_val = max(1, round(0.1 * n)) if n >= 3 else 0
    out = {largest: "train"}
    for i, g in enumerate(rest):
        out[g] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out


def _hash_manifest(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def bank_folder(table: ClassTable) -> str:
    """The bank's folder in the cache: ``bank`` for the base table (as always), ``bank-<name>`` else."""
    return "bank" if table.name == "base" else f"bank-{table.name}"


def build_bank(
    table: ClassTable,
    cache: Path,
    workers: int = 2,
    progress: Callable[[Iterable], Iterable] | None = None,
    log: Callable[[str], None] | None = None,
) -> SoundBank:
    """Decode every curated file into ``cache/<bank_folder>`` and write its manifest."""
    say = log or (lambda msg: None)
    wrap = progress or (lambda it, **kw: it)
    resolved = resolve_sources(table, sources_dir(cache), AUDIO_SUFFIXES)
    root = cache / bank_folder(table)
    jobs: list[tuple[ResolvedFile, str]] = []
    for files in resolved.values():
        for f in files:
            jobs.append((f, str(root / "audio" / f.class_name / f"{_slug(f.source)}.flac")))
    results: list[tuple[ResolvedFile, tuple[dict, np.ndarray] | str]] = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for job, res in zip(jobs, wrap(pool.map(_process_file, jobs, chunksize=8), total=len(jobs))):
                results.append((job[0], res))
    else:
        for job in wrap(jobs, total=len(jobs)):
            results.append((job[0], _process_file(job)))
    rows: list[dict] = []
    by_class: dict[str, list[tuple[ResolvedFile, dict, np.ndarray]]] = {}
    for file, res in results:
        if isinstance(res, str):
            say(res)
            continue
        by_class.setdefault(file.class_name, []).append((file, res[0], res[1]))
    for cls in table.classes:
        items = by_class.get(cls.name, [])
        dups = find_duplicates([fp for _, _, fp in items])
        kept = [it for i, it in enumerate(items) if i not in dups]
        if len(dups):
            say(f"{cls.name}: removed {len(dups)} duplicate recordings by content")
        groups = {it[0].source: source_group(it[0]) for it in kept}
        splits = split_groups(Counter(groups.values()), salt=cls.name)
        for file, row, _ in kept:
            pkg = table.packages[file.spec.package]
            rec = Recording(
                id=f"{cls.name}/{_slug(file.source)}",
                class_name=cls.name,
                group=groups[file.source],
                split=splits[groups[file.source]],
                package=file.spec.package,
                licence=pkg.licence,
                attribution=pkg.attribution,
                gender=file.spec.gender,
                path=f"audio/{cls.name}/{_slug(file.source)}.flac",
                **row,
            )
            rows.append(asdict(rec))
    content_hash = _hash_manifest(rows)
    manifest = {"version": MANIFEST_VERSION, "sample_rate": SAMPLE_RATE, "content_hash": content_hash, "recordings": rows}
    write_json(root / "manifest.json", manifest)
    return SoundBank(root, tuple(Recording(**r) for r in rows), table, content_hash)


def load_bank(cache: Path, table: ClassTable) -> SoundBank:
    """Read ``cache/<bank_folder>/manifest.json``; a clear error if the bank was never built."""
    path = cache / bank_folder(table) / "manifest.json"
    if not path.is_file():
        raise ConfigError(f"{path}: no sound bank here; run `wstag data fetch` first")
    try:
        data = json.loads(path.read_text())
        if data.get("version") != MANIFEST_VERSION:
            raise ConfigError(f"{path}: manifest version {data.get('version')} is outdated; run `wstag data fetch` again")
        recs = tuple(Recording(**r) for r in data["recordings"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: corrupt bank manifest ({exc}); run `wstag data fetch` again") from None
    return SoundBank(path.parent, recs, table, data["content_hash"])
