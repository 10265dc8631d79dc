"""The index folder on disk: ``manifest.json`` beside float16 frame-embedding shards.

::

    INDEX/
      manifest.json        what is indexed: the audio folder, the model's identity, the shards,
                           one entry per file (file, shard, offset, n_frames, duration, size,
                           mtime_ns) and the files that could not be read
      emb-000003.npy       (n_frames, D) float16, the frames of several files laid end to end
      .lock                held (flock) while a build writes

The manifest is the only source of truth. Shards are written under a fresh name, then
the manifest is replaced atomically, then shards it no longer names are deleted: a
build killed at any point leaves the last manifest and the shards it names intact, and
whatever it wrote after is deleted as an orphan by the next build.

A model's identity is ``Grounder.model_id``: a hash of its ``config.json`` and
``model.safetensors``. An index answers only through the model that built it.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from wstag.audio.frames import FrameGrid
from wstag.errors import ConfigError
from wstag.files import atomic_path

MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = "wstag-index"
VERSION = 1
SHARD_PREFIX = "emb-"
DTYPE = "float16"


@dataclass
class FileEntry:
    """One indexed recording: where its frames lie and what it looked like when encoded."""

    file: str  # path relative to the audio folder, '/'-separated
    shard: str  # shard file name
    offset: int  # first frame in the shard
    n_frames: int
    duration: float  # seconds of audio
    size: int  # bytes, when encoded
    mtime_ns: int  # modification time, when encoded
    silent: bool = False


@dataclass
class Failure:
    """A file that could not be indexed, with the reason; retried when it changes."""

    file: str
    size: int
    mtime_ns: int
    error: str


@dataclass
class ModelInfo:
    """Which model encoded the frames: its hash decides, its folder is where to find it."""

    id: str
    dir: str
    embed_dim: int
    grid: dict[str, int]

    @property
    def frame_grid(self) -> FrameGrid:
        return FrameGrid.from_dict(self.grid)


@dataclass
class Manifest:
    audio_dir: str
    model: ModelInfo
    shards: dict[str, int] = field(default_factory=dict)  # name -> frames written in it
    files: dict[str, FileEntry] = field(default_factory=dict)  # by relative path
    failed: dict[str, Failure] = field(default_factory=dict)
    next_shard: int = 0

    # -- sizes
    @property
    def n_frames(self) -> int:
        return sum(e.n_frames for e in self.files.values())

    @property
    def seconds(self) -> float:
        return sum(e.duration for e in self.files.values())

    def live_frames(self) -> dict[str, int]:
        """Frames per shard that belong to an indexed file (the rest is garbage)."""
        live = {name: 0 for name in self.shards}
        for e in self.files.values():
            live[e.shard] += e.n_frames
        return live

    def new_shard_name(self) -> str:
        name = f"{SHARD_PREFIX}{self.next_shard:06d}.npy"
        self.next_shard += 1
        return name

    # -- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "dtype": DTYPE,
            "audio_dir": self.audio_dir,
            "model": asdict(self.model),
            "next_shard": self.next_shard,
            "shards": dict(sorted(self.shards.items())),
            "files": [asdict(e) for _, e in sorted(self.files.items())],
            "failed": [asdict(f) for _, f in sorted(self.failed.items())],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Manifest":
        files = [FileEntry(**e) for e in d["files"]]
        failed = [Failure(**f) for f in d.get("failed", [])]
        return cls(
            audio_dir=d["audio_dir"],
            model=ModelInfo(**d["model"]),
            shards={str(k): int(v) for k, v in d["shards"].items()},
            files={e.file: e for e in files},
            failed={f.file: f for f in failed},
            next_shard=int(d["next_shard"]),
        )


def is_index(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def read_manifest(folder: str | os.PathLike) -> Manifest:
    """The manifest of an index folder; anything else is one ``ConfigError`` line."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.exists():
        raise ConfigError(f"{folder}: index not found")
    if not path.is_file():
        raise ConfigError(f"{folder}: not a wstag index ({MANIFEST} not found; build one with `wstag index build`)")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        if d.get("format") != FORMAT:
            raise ValueError(f"format is {d.get('format')!r}, not {FORMAT!r}")
        if d.get("version") != VERSION:
            raise ValueError(f"version {d.get('version')!r}; this wstag reads version {VERSION}: build it again")
        return Manifest.from_dict(d)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: unreadable index manifest: {exc}") from None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    with atomic_path(Path(folder) / MANIFEST) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(manifest.to_dict(), fh, indent=1, ensure_ascii=False)
            fh.write("\n")
        readable(tmp)


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def readable(path: Path) -> None:
    """Give a temporary file (created 0600) the mode an ordinary new file would have: others may search the index."""
    os.chmod(path, 0o666 & ~_UMASK)


def remove_orphans(folder: Path, manifest: Manifest) -> list[str]:
    """Delete shards the manifest does not name and half-written temporary files."""
    removed = []
    for p in Path(folder).iterdir():
        orphan = (p.name.startswith(SHARD_PREFIX) and p.suffix == ".npy" and p.name not in manifest.shards) or (
            p.name.startswith(".") and p.name.endswith(".partial"))
        if orphan and p.is_file():
            p.unlink()
            removed.append(p.name)
    return removed


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """One build at a time per index (released by the OS if the process dies)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fh = open(Path(folder) / LOCK, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(f"{folder}: another `wstag index build` is writing this index") from None
        yield
    finally:
        fh.close()
