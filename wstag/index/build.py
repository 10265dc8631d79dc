"""Building an index: encode every recording of a folder once, resumably.

Each file goes through ``Grounder.encode`` (the same blocks, stitching and model as
``wstag ground``), its frame embeddings are rounded to float16 and collected; every
``flush_seconds`` of work (or ``flush_frames`` frames) they are written as one new
shard and the manifest is replaced, so a build that is killed loses at most that much
work and the next build continues from the last manifest. Files whose path, size and
modification time are unchanged are skipped; changed ones are encoded again; deleted
ones are dropped. A file that cannot be read is recorded with the reason, reported at
the end, and tried again only once it changes. At the end, shards holding garbage
(frames of changed or deleted files) or too few frames are merged into shards of up
to ``shard_bytes``, so the index stays one or a few memory-mapped files.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from wstag.errors import AudioError, ConfigError
from wstag.files import atomic_path
from wstag.index.manifest import (
    DTYPE, Failure, FileEntry, Manifest, ModelInfo, build_lock, is_index, read_manifest, readable,
    remove_orphans, write_manifest,
)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
FLUSH_SECONDS = 60.0
FLUSH_FRAMES = 1 << 18  # 64 MiB of float16 at D = 128
SHARD_BYTES = 1 << 30
COPY_FRAMES = 1 << 18


@dataclass
class BuildReport:
    """What a build did; ``failed`` lists (file, reason) for every file not indexed."""

    index: Path
    n_files: int = 0  # indexed, in total
    encoded: int = 0
    unchanged: int = 0
    dropped: int = 0
    seconds_audio: float = 0.0  # indexed, in total
    encoded_seconds: float = 0.0  # audio encoded by this build
    wall_seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)

    def summary(self) -> str:
        hours = self.seconds_audio / 3600
        line = (f"{self.index}: {self.n_files} files, {hours:.2f} h indexed; this build encoded {self.encoded} "
                f"({self.encoded_seconds / 3600:.2f} h), skipped {self.unchanged} unchanged, dropped "
                f"{self.dropped} deleted; {len(self.failed)} unreadable")
        if self.encoded_seconds and self.wall_seconds:
            line += f"; {self.encoded_seconds / 3600 / (self.wall_seconds / 60):.2f} h of audio per minute"
        return line


def scan(audio_dir: Path) -> dict[str, os.stat_result]:
    """Audio files under ``audio_dir`` (recursive, hidden names skipped) -> their stat, by relative path."""
    found: dict[str, os.stat_result] = {}
    for root, dirs, files in os.walk(audio_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not name.lower().endswith(AUDIO_SUFFIXES):
                continue
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError:  # a dangling link: reported by the encoder as not found
                st = None
            if st is None or Path(path).is_file():
                found[path.relative_to(audio_dir).as_posix()] = st  # type: ignore[assignment]
    return found


def build_index(
    audio_dir: str | os.PathLike,
    model,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    progress: Callable[..., Iterable] | None = None,
    log: Callable[[str], None] | None = None,
    flush_seconds: float = FLUSH_SECONDS,
    flush_frames: int = FLUSH_FRAMES,
    shard_bytes: int = SHARD_BYTES,
) -> BuildReport:
    """Index every recording under ``audio_dir`` with ``model`` (a model folder or a ``Grounder``) into ``out``."""
    start = time.perf_counter()
    audio_dir, out = Path(audio_dir), Path(out)
    if not audio_dir.exists():
        raise AudioError(f"{audio_dir}: audio folder not found")
    if not audio_dir.is_dir():
        raise AudioError(f"{audio_dir}: is not a folder")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; give --out a new or index folder")
    if out.is_dir() and any(out.iterdir()) and not is_index(out):
        raise ConfigError(f"{out}: exists, is not empty and is not a wstag index; give --out a new folder")
    found = scan(audio_dir)
    if not found:
        raise AudioError(f"{audio_dir}: holds no audio files ({', '.join(AUDIO_SUFFIXES)})")
    grounder = _grounder(model, device)
    if not grounder.model.scores_by_dot_product:  # QGCA: no vector per phrase to score stored frames with
        raise ConfigError(f"{grounder.model_dir}: a QGCA model (cross-gating attention) reads each phrase anew in "
                          f"every frame, so an index of its frame embeddings cannot be searched by one dot "
                          f"product per phrase; index with a dot-product model")
    info = ModelInfo(grounder.model_id, str(Path(grounder.model_dir).resolve()), int(grounder.model.embed_dim),
                     grounder.grid.to_dict())
    root = str(audio_dir.resolve())
    if is_index(out):
        manifest = read_manifest(out)
        _check_same(out, manifest, info, root)
    else:
        manifest = Manifest(root, info)
    manifest.model.dir = info.dir  # a moved model folder with the same weights: remember where it is now
    out.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out)
    with build_lock(out):
        remove_orphans(out, manifest)
        todo = _plan(manifest, found, report)
        writer = _Writer(out, manifest, grounder.model.embed_dim, flush_seconds, flush_frames)
        writer.flush(force=True)  # the dropped files leave the manifest now
        bar = progress(todo, total=len(todo), desc="index") if progress else todo
        try:
            for rel in bar:
                _encode_one(grounder, audio_dir, rel, found[rel], manifest, writer, report, log)
                writer.flush()
        finally:  # Ctrl-C or a crash: what was encoded is kept
            writer.flush(force=True)
        _compact(out, manifest, shard_bytes)
        write_manifest(out, manifest)
        remove_orphans(out, manifest)
    report.n_files = len(manifest.files)
    report.seconds_audio = manifest.seconds
    report.failed = sorted((f.file, f.error) for f in manifest.failed.values())
    report.wall_seconds = time.perf_counter() - start
    return report


def _grounder(model, device: str):
    from wstag.inference.grounder import Grounder

    if isinstance(model, Grounder):
        return model
    return Grounder.load(model, device=device, cache_size=0)


def _check_same(out: Path, manifest: Manifest, info: ModelInfo, root: str) -> None:
    if manifest.model.id != info.id:
        raise ConfigError(f"{out}: indexed with another model ({manifest.model.dir}, id {manifest.model.id}) than "
                          f"{info.dir} (id {info.id}); build into a new --out or delete {out}")
    if manifest.audio_dir != root:
        raise ConfigError(f"{out}: indexes {manifest.audio_dir}, not {root}; build into a new --out")


def _plan(manifest: Manifest, found: dict[str, os.stat_result], report: BuildReport) -> list[str]:
    """Drop deleted files; return the files to encode (new or changed; failed ones only once changed)."""
    for rel in [r for r in manifest.files if r not in found]:
        del manifest.files[rel]
        report.dropped += 1
    for rel in [r for r in manifest.failed if r not in found]:
        del manifest.failed[rel]
    todo = []
    for rel, st in found.items():
        entry = manifest.files.get(rel) or manifest.failed.get(rel)
        if st is not None and entry is not None and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns):
            if rel in manifest.files:
                report.unchanged += 1
            continue
        todo.append(rel)
    return todo


def _encode_one(grounder, audio_dir: Path, rel: str, st, manifest: Manifest, writer: "_Writer",
                report: BuildReport, log) -> None:
    size, mtime = (st.st_size, st.st_mtime_ns) if st is not None else (0, 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a silent file is recorded, not printed per file
            enc = grounder.encode(audio_dir / rel)
        emb = enc.embeddings.numpy().astype(np.float16)
        if not np.isfinite(emb).all():
            raise AudioError(f"{audio_dir / rel}: frame embeddings overflow float16")
    except Exception as exc:  # noqa: BLE001 - every file's problem is reported at the end, never a crash
        msg = str(exc) if isinstance(exc, AudioError) else f"{audio_dir / rel}: {type(exc).__name__}: {exc}"
        manifest.failed[rel] = Failure(rel, size, mtime, msg)
        manifest.files.pop(rel, None)
        writer.dirty = True
        if log:
            log(f"skipped: {msg}")
        return
    manifest.failed.pop(rel, None)
    writer.add(FileEntry(rel, "", 0, int(emb.shape[0]), float(enc.duration), size, mtime, bool(enc.silent)), emb)
    report.encoded += 1
    report.encoded_seconds += enc.duration
    if enc.silent:
        report.silent.append(rel)


class _Writer:
    """Collects encoded files; writes them as a new shard plus a new manifest every so often."""

    def __init__(self, out: Path, manifest: Manifest, dim: int, flush_seconds: float, flush_frames: int) -> None:
        self.out, self.manifest, self.dim = out, manifest, dim
        self.flush_seconds, self.flush_frames = flush_seconds, flush_frames
        self.pending: list[tuple[FileEntry, np.ndarray]] = []
        self.n_pending = 0
        self.last = time.monotonic()
        self.dirty = False

    def add(self, entry: FileEntry, emb: np.ndarray) -> None:
        self.pending.append((entry, emb))
        self.n_pending += emb.shape[0]

    def flush(self, force: bool = False) -> None:
        due = self.n_pending >= self.flush_frames or time.monotonic() - self.last >= self.flush_seconds
        if not force and not (due and (self.pending or self.dirty)):
            return
        if self.pending:
            name = self.manifest.new_shard_name()
            with atomic_path(self.out / name) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, np.concatenate([e for _, e in self.pending]).astype(DTYPE), allow_pickle=False)
                readable(tmp)
            offset = 0
            for entry, emb in self.pending:
                entry.shard, entry.offset = name, offset
                offset += emb.shape[0]
                self.manifest.files[entry.file] = entry
            self.manifest.shards[name] = offset
        write_manifest(self.out, self.manifest)
        self.pending, self.n_pending, self.dirty = [], 0, False
        self.last = time.monotonic()


def _compact(out: Path, manifest: Manifest, shard_bytes: int) -> None:
    """Merge shards that hold garbage or are small into full ones; clean full shards stay as they are."""
    dim = manifest.model.embed_dim
    target = max(1, shard_bytes // (2 * dim))
    live = manifest.live_frames()
    dead = {name: manifest.shards[name] - live[name] for name in manifest.shards}
    for name in [n for n in manifest.shards if live[n] == 0]:  # nothing left in it
        del manifest.shards[name]
    candidates = [n for n in sorted(manifest.shards) if dead[n] > 0 or live[n] < target]
    if not candidates or (len(candidates) == 1 and dead[candidates[0]] == 0):
        return
    entries = sorted((e for e in manifest.files.values() if e.shard in candidates), key=lambda e: (e.shard, e.offset))
    groups: list[list[FileEntry]] = [[]]
    size = 0
    for e in entries:
        if groups[-1] and size + e.n_frames > target:
            groups.append([])
            size = 0
        groups[-1].append(e)
        size += e.n_frames
    sources = {n: np.load(out / n, mmap_mode="r") for n in candidates}
    moved: list[tuple[FileEntry, str, int]] = []
    new_shards: dict[str, int] = {}
    for group in groups:
        name = manifest.new_shard_name()
        n = sum(e.n_frames for e in group)
        with atomic_path(out / name) as tmp:
            dst = np.lib.format.open_memmap(tmp, mode="w+", dtype=DTYPE, shape=(n, dim))
            pos = 0
            for e in group:
                src = sources[e.shard]
                for a in range(0, e.n_frames, COPY_FRAMES):
                    b = min(a + COPY_FRAMES, e.n_frames)
                    dst[pos + a: pos + b] = src[e.offset + a: e.offset + b]
                moved.append((e, name, pos))
                pos += e.n_frames
            dst.flush()
            del dst
            readable(tmp)
        new_shards[name] = n
    del sources
    for e, name, pos in moved:
        e.shard, e.offset = name, pos
    for name in candidates:
        del manifest.shards[name]
    manifest.shards.update(new_shards)
