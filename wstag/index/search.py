"""Searching an index: one phrase against every frame of the collection, ranked moments out.

Scoring is one matrix-vector product per chunk of a memory-mapped shard: the float16
frame embeddings times the phrase's embedding (rounded to float16, accumulated in
float32 by torch), the logit ``a_t . t`` of ``GroundingModel.frame_phrase_probs``. Each
chunk is mapped, scored and unmapped in turn, so memory is bounded by the chunk and
the logits of one shard, not by the collection.

Moments are the Grounder's detections (``Scores.detect``): contiguous runs of frames
whose probability is strictly above ``threshold`` (after an optional ``median``-frame
median filter within each file), never crossing a file boundary, the last offset
clipped to the file's duration. A moment's score is the highest raw frame probability
inside it, and moments are ranked by it across the collection. We chose runs rather
than the top peaks with a minimum gap because a run has a real onset and offset, and
because it gives exactly what ``wstag ground`` prints for the same file, threshold and
median. The threshold is applied to logits (``p > t`` exactly when ``logit > log(t /
(1 - t))``; the median filter commutes with that monotone map), so only the moments'
peaks pass through the sigmoid.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from wstag.evaluation.segments import median_filter
from wstag.index.manifest import FileEntry, Manifest

CHUNK_FRAMES = 1 << 19  # 128 MiB of float16 at D = 128, mapped at a time


@dataclass(frozen=True)
class Moment:
    """Where a phrase sounds in the collection: a file (relative to the audio folder), seconds, score."""

    file: str
    onset: float
    offset: float
    score: float  # the highest frame probability inside


class Moments(list):
    """Ranked ``Moment``s (best first) with what produced them."""

    def __init__(self, items=(), *, phrase: str, threshold: float, median: int, n_files: int, n_frames: int,
                 best: Moment | None, ignored_words: tuple[str, ...] = ()) -> None:
        super().__init__(items)
        self.phrase = phrase
        self.threshold = threshold
        self.median = median
        self.n_files = n_files
        self.n_frames = n_frames
        self.best = best  # the single highest frame of the collection (a one-frame moment), even below threshold
        self.ignored_words = ignored_words


def logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def shard_logits(path: Path, n_frames: int, text16: torch.Tensor, chunk: int = CHUNK_FRAMES) -> np.ndarray:
    """(n_frames,) float32 logits of a shard, mapping and unmapping it one chunk at a time."""
    header = np.load(path, mmap_mode="r")
    dim, offset = header.shape[1], header.offset
    if header.shape[0] < n_frames or header.dtype != np.float16:
        raise ValueError(f"{path}: holds {header.shape} {header.dtype}, the manifest expects {n_frames} float16 frames")
    del header
    out = torch.empty(n_frames, dtype=torch.float16)
    for a in range(0, n_frames, chunk):
        b = min(a + chunk, n_frames)
        block = np.memmap(path, dtype=np.float16, mode="r", offset=offset + a * dim * 2, shape=(b - a, dim))
        torch.mv(_tensor(block), text16, out=out[a:b])
        del block
    return out.numpy().astype(np.float32)  # numpy converts float16 faster than torch does


def entry_logits(folder: Path, entry: FileEntry, text16: torch.Tensor, first: int = 0, stop: int | None = None
                 ) -> np.ndarray:
    """(frames, N) float32 logits of frames ``first:stop`` of one indexed file for N phrases."""
    stop = entry.n_frames if stop is None else stop
    shard = np.load(folder / entry.shard, mmap_mode="r")
    block = np.asarray(shard[entry.offset + first: entry.offset + stop])
    del shard
    return np.stack([_mv(block, t) for t in text16.reshape(-1, block.shape[1])], axis=1)


def _tensor(block: np.ndarray) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a read-only map: torch only reads it
        return torch.from_numpy(block)


def _mv(block: np.ndarray, text16: torch.Tensor) -> np.ndarray:
    return torch.mv(_tensor(block), text16).numpy().astype(np.float32)


def iter_shards(manifest: Manifest) -> Iterator[tuple[str, list[FileEntry]]]:
    """Each shard with its files in frame order."""
    by_shard: dict[str, list[FileEntry]] = {}
    for e in manifest.files.values():
        by_shard.setdefault(e.shard, []).append(e)
    for name in sorted(by_shard):
        yield name, sorted(by_shard[name], key=lambda e: e.offset)


def live_mask(n: int, entries: list[FileEntry]) -> np.ndarray:
    """(n,) bool: which frames of a shard belong to an indexed file (the rest is garbage of an interrupted build)."""
    ends = [e.offset + e.n_frames for e in entries]
    if ends[-1] == n and entries[0].offset == 0 and all(e.offset == x for e, x in zip(entries[1:], ends)):
        return np.ones(n, dtype=bool)  # files tile the shard: the usual case
    cover = np.zeros(n + 1, dtype=np.int32)
    for e in entries:
        cover[e.offset] += 1
        cover[e.offset + e.n_frames] -= 1
    return np.cumsum(cover[:-1]) > 0


def runs_in_shard(logits: np.ndarray, live: np.ndarray, entries: list[FileEntry], thr: float, median: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of frames with (filtered) logit > ``thr`` inside each file.

    Returns (raw peak logit, index into ``entries``, first frame, stop frame), frames
    counted from the start of the shard. ``entries`` are sorted by offset.
    """
    offsets = np.array([e.offset for e in entries], dtype=np.int64)
    lengths = np.array([e.n_frames for e in entries], dtype=np.int64)
    filtered = logits
    if median > 1:
        filtered = logits.copy()
        for o, k in zip(offsets, lengths):
            filtered[o:o + k] = median_filter(logits[o:o + k], median)
    mask = filtered > thr
    if not live.all():
        mask &= live
    if not mask.any():
        return np.empty(0, np.float32), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    n = len(mask)
    firsts, lasts = offsets, offsets + lengths - 1
    starts = np.flatnonzero(mask[1:] & ~mask[:-1]) + 1  # rising edges, then every file's first frame that is on
    starts = np.union1d(starts, firsts[mask[firsts]])
    stops = np.flatnonzero(mask[:-1] & ~mask[1:]) + 1  # falling edges, then every file's last frame that is on
    stops = np.union1d(stops, lasts[mask[lasts]] + 1)
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, stops
    if bounds[-1] == n:  # reduceat's last segment runs to the end anyway
        bounds = bounds[:-1]
    peaks = np.maximum.reduceat(logits, bounds)[0::2]  # raw, not filtered
    owner = np.searchsorted(offsets, starts, side="right") - 1
    return peaks.astype(np.float32), owner, starts, stops


def best_first(peaks: np.ndarray, ranks: np.ndarray, starts: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` best runs: highest peak first, then file order, then time (deterministic)."""
    order = np.lexsort((starts, ranks, -peaks))
    return order[:top]
