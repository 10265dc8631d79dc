"""Pack a split's log-mel features into one HDF5 file: on every core, resumable, once per recording.

AudioCaps is 50,000+ clips, hours of work on a laptop and still minutes on a server, and
an imported corpus links each recording once per caption (five AudioCaps captions, five
ids, one file). So packing

- computes each *recording* once: ids whose files are the same file (``os.stat`` after
  following links: the importer's symlinks and hard links) get one dataset and HDF5 hard
  links to it, in the unchanged cache layout (``logmel/<audio_id>``, float16, attribute
  ``front_end``) that :class:`~wstag.data.feature_cache.FeatureStore` reads;
- runs in worker processes (one torch thread each) while the calling process alone
  writes HDF5 (an h5py file takes one writer);
- resumes: finished clips go to part files in ``<cache>.parts/``, each written
  atomically every ``part_size`` clips or ``part_seconds``, and kept when the packing
  is killed; the next call computes only the clips found in no part and not in a
  complete cache of the same front end, then merges everything into the cache
  atomically and deletes the parts;
- transforms every clip alone, so its features do not depend on the worker, the order
  or the clips around it: a resumed packing equals an uninterrupted one bit for bit;
- waits on a lock file (``.<cache>.lock``) for another packing of the same file (another
  DDP rank, another run on the same corpus), which it then finds done (on a file system
  without locks, pack with ``wstag data pack`` before starting several processes);
- skips audio it cannot read and names it in :attr:`PackResult.unreadable`; never raises
  for a bad file.

A cache or parts made with another front end (the fields of ``FEATURE_FIELDS``) are not
reused: the cache is rebuilt for this one, as ``build_feature_cache`` always did.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import h5py
import numpy as np
import torch

from wstag.audio.frontend import FrontEnd
from wstag.audio.io import load_audio
from wstag.data.corpus import LABELS, WEAK
from wstag.data.feature_cache import CACHE_NAME, GROUP, feature_difference, stored_front_end
from wstag.errors import AudioError
from wstag.files import atomic_path

#: Clips per in-process packing below which starting worker processes costs more than it saves.
MIN_CLIPS_PER_WORKER = 16

Progress = Callable[..., Iterable]


@dataclass(frozen=True)
class PackResult:
    path: Path
    computed: int  # recordings transformed by this call
    reused: int  # ids found in the cache or in parts of an earlier, interrupted call
    linked: int  # ids stored as a hard link to another id's recording
    unreadable: dict[str, str] = field(default_factory=dict)  # audio id -> why (skipped)
    seconds: float = 0.0

    @property
    def clips_per_second(self) -> float:
        """Recordings transformed per second of this call (0 when none were)."""
        return self.computed / self.seconds if self.computed and self.seconds > 0 else 0.0


def parts_dir(cache: Path) -> Path:
    """Where an unfinished packing of ``cache`` keeps its finished clips."""
    return cache.with_name(cache.name + ".parts")


def pack_features(
    audio_dir: Path,
    audio_ids: Sequence[str],
    out: Path,
    *,
    front_end: FrontEnd,
    workers: int | None = None,
    part_size: int = 256,
    part_seconds: float = 60.0,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> PackResult:
    """Make ``out`` hold ``front_end``'s log-mels of ``audio_ids`` (files in ``audio_dir``).

    ``workers`` processes (default: every core this process may use) transform the clips
    still missing; the cache keeps ids it already held. Returns what was done; the
    unreadable ids have no features.
    """
    out, audio_dir = Path(out), Path(audio_dir)
    say = log or (lambda m: None)
    start = time.perf_counter()
    ids = list(dict.fromkeys(audio_ids))
    cached = _cached_ids(out, front_end)
    if cached is not None and cached.issuperset(ids) and not parts_dir(out).exists():  # no lock: read-only works
        return PackResult(out, 0, len(ids), 0, seconds=time.perf_counter() - start)
    with _exclusive(out.with_name(f".{out.name}.lock"), say):
        cached = _cached_ids(out, front_end)  # None: no cache of this front end
        parts = _read_parts(parts_dir(out), front_end, say)
        have = (cached or set()) | set(parts)
        groups = _by_recording(audio_dir, ids)
        todo = [g[0] for g in groups if not have.intersection(g)]  # one id per recording to transform
        links = {i: next((j for j in g if j in have), g[0]) for g in groups for i in g if i not in have}
        links = {i: rep for i, rep in links.items() if i != rep}
        if cached is not None and not todo and not links and not parts:
            return PackResult(out, 0, len(ids), 0, seconds=time.perf_counter() - start)
        if cached is None and out.is_file():
            say(f"{out}: made with another front end (or unreadable); packing it anew")
        unreadable = _compute(audio_dir, todo, parts_dir(out), front_end, workers, part_size, part_seconds,
                              progress)
        parts = _read_parts(parts_dir(out), front_end, say)
        for i, rep in links.items():
            if rep in unreadable:
                unreadable[i] = f"same recording as {rep}: {unreadable[rep]}"
        links = {i: rep for i, rep in links.items() if rep not in unreadable}
        if cached is None or parts or links:  # else only unreadable clips were missing: nothing to add
            _merge(out, front_end, keep_cache=cached is not None, parts=parts, links=links)
        shutil.rmtree(parts_dir(out), ignore_errors=True)
    reused = sum(i in have for i in ids)
    return PackResult(out, len(todo) - sum(i in unreadable for i in todo), reused, len(links),
                      {i: unreadable[i] for i in ids if i in unreadable}, time.perf_counter() - start)


# -- which ids are the same recording --------------------------------------------------
def _by_recording(audio_dir: Path, ids: list[str]) -> list[list[str]]:
    """Ids grouped by the file they name (device and inode, links followed), in first-seen order."""
    groups: dict[object, list[str]] = {}
    for aid in ids:
        try:
            st = os.stat(audio_dir / aid)
            key: object = (st.st_dev, st.st_ino)
        except OSError:  # missing or a broken link: its own group, reported when read
            key = ("missing", aid)
        groups.setdefault(key, []).append(aid)
    return list(groups.values())


# -- what is already there -------------------------------------------------------------
def _same_features(h5: h5py.File, front_end: FrontEnd) -> bool:
    return not feature_difference(stored_front_end(h5), front_end)


def _cached_ids(path: Path, front_end: FrontEnd) -> set[str] | None:
    """The ids of a complete cache made with ``front_end``'s features; None if there is none."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as h5:
            return set(h5[GROUP].keys()) if _same_features(h5, front_end) else None
    except (OSError, KeyError):
        return None


def _read_parts(folder: Path, front_end: FrontEnd, say) -> dict[str, Path]:
    """id -> part file, from the parts of ``front_end``; parts of another front end are deleted."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for part in sorted(folder.glob("part-*.h5")):
        try:
            with h5py.File(part, "r") as h5:
                if _same_features(h5, front_end):
                    found.update(dict.fromkeys(h5[GROUP].keys(), part))
                    continue
        except (OSError, KeyError):
            pass
        say(f"{part}: from another front end or unreadable; deleted")
        part.unlink()
    return found


# -- computing -------------------------------------------------------------------------
class FileFeatures:
    """One clip's waveform -> its log-mel (T, n_mels) float16, alone (no batch around it)."""

    def __init__(self, front_end: FrontEnd):
        self.front_end = front_end
        self.logmel = front_end.logmel().eval()

    def __call__(self, path: str) -> tuple[np.ndarray | None, str | None]:
        try:
            wave = load_audio(path, self.front_end.sample_rate)
        except AudioError as exc:
            return None, str(exc)
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:  # a decoder failing its own way
            return None, f"{path}: unreadable ({type(exc).__name__}: {exc})"
        with torch.inference_mode():
            feats = self.logmel(torch.from_numpy(wave)[None])[0].numpy()  # (T, n_mels)
        return feats[: self.front_end.n_feature_frames(len(wave))].astype(np.float16), None


_WORKER: FileFeatures | None = None


def _init_worker(front_end: dict) -> None:
    global _WORKER
    torch.set_num_threads(1)  # one process per core: threads would only contend
    _WORKER = FileFeatures(FrontEnd.from_dict(front_end))


def _transform_in_worker(path: str) -> tuple[np.ndarray | None, str | None]:
    assert _WORKER is not None
    return _WORKER(path)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Single-threaded torch for in-process packing, as in a worker: the same bits either way."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _compute(audio_dir: Path, todo: list[str], folder: Path, front_end: FrontEnd, workers: int | None,
             part_size: int, part_seconds: float, progress: Progress | None) -> dict[str, str]:
    """Transform ``todo`` into part files in ``folder``; the unreadable ids and why."""
    unreadable: dict[str, str] = {}
    if not todo:
        return unreadable
    wrap = progress or (lambda it, **kw: it)
    workers = max(1, min(workers or default_workers(), len(todo) // MIN_CLIPS_PER_WORKER or 1))
    paths = [str(audio_dir / aid) for aid in todo]
    writer = _PartWriter(folder, front_end, part_size, part_seconds)
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(front_end.to_dict(),)) \
        if workers > 1 else None
    finished = False
    try:
        with _one_thread():
            results = (pool.map(_transform_in_worker, paths, chunksize=4) if pool
                       else map(FileFeatures(front_end), paths))
            for aid, (feats, problem) in wrap(zip(todo, results), total=len(todo), desc="packing log-mel features"):
                if feats is None:
                    unreadable[aid] = problem or "unreadable"
                else:
                    writer.add(aid, feats)
        finished = True
    finally:  # an interruption keeps every clip already transformed, and waits for no other
        writer.flush()
        if pool is not None:
            pool.shutdown(wait=finished, cancel_futures=not finished)
    return unreadable


class _PartWriter:
    """Buffers finished clips and writes them as one atomic part file at a time."""

    def __init__(self, folder: Path, front_end: FrontEnd, size: int, seconds: float):
        self.folder, self.front_end, self.size, self.seconds = folder, front_end, size, seconds
        self.buffer: dict[str, np.ndarray] = {}
        self.last = time.monotonic()

    def add(self, aid: str, feats: np.ndarray) -> None:
        self.buffer[aid] = feats
        if len(self.buffer) >= self.size or time.monotonic() - self.last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not self.buffer:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        n = len(list(self.folder.glob("part-*.h5")))
        name = f"part-{n:06d}-{socket.gethostname()}-{os.getpid()}.h5"  # never another packer's, lock or not
        with atomic_path(self.folder / name) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs["front_end"] = self.front_end.tag()
            group = h5.create_group(GROUP)
            for aid, feats in self.buffer.items():
                group.create_dataset(aid, data=feats)
        self.buffer = {}


# -- the cache -------------------------------------------------------------------------
def _merge(out: Path, front_end: FrontEnd, *, keep_cache: bool, parts: dict[str, Path],
           links: dict[str, str]) -> None:
    """Write the cache anew (atomically): its own datasets if kept, the parts', then the links."""
    sources: dict[Path, list[str]] = {}
    for aid, part in parts.items():
        sources.setdefault(part, []).append(aid)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["front_end"] = front_end.tag()
        group = h5.create_group(GROUP)
        if keep_cache:
            with h5py.File(out, "r") as old:
                _copy_group(old[GROUP], group, skip=set(parts))
        for part, aids in sources.items():
            with h5py.File(part, "r") as src:
                for aid in aids:
                    src.copy(src[GROUP][aid], group, name=aid)
        for aid, rep in links.items():
            group[aid] = group[rep]  # an HDF5 hard link: one recording, stored once


def _copy_group(src: h5py.Group, dst: h5py.Group, skip: set[str]) -> None:
    """Copy every dataset of ``src`` not in ``skip``, keeping hard links as links."""
    first: dict[object, str] = {}
    for name in src:
        if name in skip:
            continue
        obj_id = src[name].id
        if obj_id in first:
            dst[name] = dst[first[obj_id]]
        else:
            src.file.copy(src[name], dst, name=name)
            first[obj_id] = name


# -- one packer per file ---------------------------------------------------------------
@contextlib.contextmanager
def _exclusive(lock: Path, say) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (waiting for another packer); none where locks are unsupported."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one packer at a time is up to the user
        yield
        return
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a")
    except OSError as exc:  # a read-only folder: the packing will say what it cannot write
        say(f"{lock}: cannot create the lock file ({exc}); packing without a lock")
        yield
        return
    with fh:
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(f"waiting for another process packing {lock.name[1:-5]} to finish")
                fcntl.flock(fh, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks
            say(f"{lock}: cannot lock ({exc}); packing without a lock")
        yield


# -- a whole corpus --------------------------------------------------------------------
UNREADABLE_LIST = "unreadable.txt"


def corpus_audio_ids(split_dir: Path) -> list[str]:
    """The audio ids a split's label files name: weak.json (training) and labels.json (evaluation)."""
    from wstag.data.audiogrounding import read_v2, read_weak_v2

    ids: dict[str, None] = {}
    if (split_dir / WEAK).is_file():
        ids.update(dict.fromkeys(c.audio_id for c in read_weak_v2(split_dir / WEAK)))
    if (split_dir / LABELS).is_file():
        ids.update(dict.fromkeys(c.audio_id for c in read_v2(split_dir / LABELS)))
    return list(ids)


def pack_corpus(
    data_dir: Path,
    splits: Sequence[str] = ("train", "val", "test"),
    *,
    front_end: FrontEnd,
    workers: int | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, PackResult]:
    """Pack every split of a corpus folder (what ``wstag train`` and ``evaluate`` would do first).

    Each split's unreadable audio is listed in ``<split>/unreadable.txt`` (removed when none is).
    """

    results = {}
    for split in splits:
        folder = Path(data_dir) / split
        ids = corpus_audio_ids(folder)
        if not ids:
            raise AudioError(f"{folder}: no weak.json or labels.json naming audio; is {data_dir} a corpus?")
        result = pack_features(folder / "audio", ids, folder / CACHE_NAME, front_end=front_end, workers=workers,
                               progress=progress, log=log)
        listing = folder / UNREADABLE_LIST
        if result.unreadable:
            with atomic_path(listing) as tmp:
                tmp.write_text("".join(f"{aid}\t{why}\n" for aid, why in result.unreadable.items()))
        else:
            listing.unlink(missing_ok=True)
        results[split] = result
    return results


def build_feature_cache(
    audio_dir: Path,
    audio_ids: Sequence[str],
    out: Path,
    progress: Callable[..., Iterable] | None = None,
    *,
    front_end: FrontEnd,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Compute ``front_end``'s log-mels of ``audio_ids`` (files in ``audio_dir``) into ``out`` unless current.

    Every readable clip is packed; then AudioError names the clips whose audio could
    not be read (callers that may drop clips use ``pack_features`` and its report).
    """
    result = pack_features(audio_dir, audio_ids, out, front_end=front_end, workers=workers,
                           progress=progress, log=log)
    if result.unreadable:
        names = ", ".join(list(result.unreadable)[:5]) + (" ..." if len(result.unreadable) > 5 else "")
        first = next(iter(result.unreadable.values()))
        raise AudioError(f"{out}: {len(result.unreadable)} clips have no features, their audio could not "
                         f"be read ({names}; first: {first})")
    return result.path
