"""The vectorised run finder against the Grounder's per-file thresholding, on random shards."""

from __future__ import annotations

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation.segments import scores_to_segments
from wstag.index.manifest import FileEntry
from wstag.index.search import best_first, live_mask, logit, runs_in_shard, sigmoid


def _shard(rng, gaps: bool):
    entries, pos = [], 0
    for k in range(int(rng.integers(1, 12))):
        pos += int(rng.integers(0, 4)) if gaps else 0  # frames of no file: garbage of an interrupted build
        n = int(rng.integers(1, 40))
        entries.append(FileEntry(f"f{k}", "s", pos, n, n * 0.04, 0, 0))
        pos += n
    n_total = pos + (int(rng.integers(0, 3)) if gaps else 0)
    # smooth-ish curves with long on and off runs, plus noise
    logits = np.cumsum(rng.normal(0, 1.0, n_total)).astype(np.float32) / 3
    return entries, logits


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("median", [1, 3])
def test_runs_equal_per_file_segments(seed, median):
    rng = np.random.default_rng(seed)
    entries, logits = _shard(rng, gaps=seed % 2 == 1)
    threshold = float(rng.uniform(0.2, 0.8))
    live = live_mask(len(logits), entries)
    peaks, owner, starts, stops = runs_in_shard(logits, live, entries, logit(threshold), median)
    got = sorted((entries[o].file, int(a - entries[o].offset), int(b - entries[o].offset), float(p))
                 for p, o, a, b in zip(peaks, owner, starts, stops))
    want = []
    for e in entries:
        p = sigmoid(logits[e.offset: e.offset + e.n_frames])
        for on, off in scores_to_segments(p, threshold=threshold, median_window=median, duration=e.duration, grid=DEFAULT_GRID):
            a, b = round(on / 0.04), round(off / 0.04)
            want.append((e.file, a, b, float(logits[e.offset + a: e.offset + b].max())))
    assert got == sorted(want)


def test_live_mask_marks_only_frames_of_files():
    entries = [FileEntry("a", "s", 2, 3, 0.12, 0, 0), FileEntry("b", "s", 5, 2, 0.08, 0, 0)]
    np.testing.assert_array_equal(live_mask(9, entries), [0, 0, 1, 1, 1, 1, 1, 0, 0])
    assert live_mask(5, [FileEntry("a", "s", 0, 5, 0.2, 0, 0)]).all()


def test_best_first_orders_by_score_then_file_then_time():
    peaks = np.array([0.5, 0.9, 0.5, 0.5])
    ranks = np.array([1, 3, 0, 1])
    starts = np.array([7, 0, 9, 2])
    assert best_first(peaks, ranks, starts, 3).tolist() == [1, 2, 3]


def test_logit_of_the_edges():
    assert logit(0.0) == -np.inf and logit(1.0) == np.inf and logit(0.5) == 0.0
    assert DEFAULT_GRID.output_hop_s == 0.04
