"""The time grid: frame counts, boundaries, segments <-> frame masks (hand-computed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from wstag.audio import frames
from wstag.audio.frames import (
    DEFAULT_GRID,
    OUTPUT_HOP_S,
    FrameGrid,
    frame_mask_to_segments,
    frame_times,
    n_feature_frames,
    n_output_frames,
    segments_to_frame_mask,
)


def test_constants():
    assert (frames.SAMPLE_RATE, frames.N_FFT, frames.HOP, frames.N_MELS) == (32000, 1024, 320, 64)
    assert (frames.F_MIN, frames.F_MAX, frames.TIME_DOWNSAMPLE) == (50, 14000, 4)
    assert OUTPUT_HOP_S == 0.04 == DEFAULT_GRID.output_hop_s


@pytest.mark.parametrize(
    "n_samples, n_feat, n_out",
    [
        (320000, 1001, 250),  # 10 s: floor(320000 / 320) + 1 = 1001; 1001 // 4 = 250
        (128000, 401, 100),  # 4 s
        (319360, 999, 249),  # 9.98 s (AudioCaps clips are often short of 10 s)
        (0, 1, 0),
        (319, 1, 0),
        (959, 3, 0),
        (960, 4, 1),  # 3 * 320: the first whole output frame
        (1279, 4, 1),
    ],
)
def test_frame_counts(n_samples, n_feat, n_out):
    assert n_feature_frames(n_samples) == n_feat
    assert n_output_frames(n_samples) == n_out


def test_frame_counts_follow_spec_formula():
    for n in np.random.default_rng(0).integers(0, 10**6, 200):
        assert n_output_frames(int(n)) == (int(n) // 320 + 1) // 4


def test_frame_times():
    np.testing.assert_array_equal(frame_times(3), [0.0, 0.04, 0.08, 0.12])
    assert frame_times(250)[-1] == 10.0
    assert frame_times(0).shape == (1,)


def test_rasterise_centre_rule():
    # centres of 40 ms frames: 0.02, 0.06, 0.10, ..., 0.30, 0.34, 0.38
    mask = segments_to_frame_mask([(0.1, 0.3)], 10)
    # onset 0.10 is frame 2's centre (included); offset 0.30 is frame 7's (excluded)
    np.testing.assert_array_equal(mask, [0, 0, 1, 1, 1, 1, 1, 0, 0, 0])
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(
        segments_to_frame_mask([(0.05, 0.13)], 5), [0, 1, 1, 0, 0]  # centres 0.06, 0.10
    )
    np.testing.assert_array_equal(  # two segments, one overlapping the grid's end
        segments_to_frame_mask([(0.0, 0.04), (0.3, 5.0)], 10), [1, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    )


def test_rasterise_edge_cases():
    # shorter than a frame and between two centres: the frame holding its midpoint
    np.testing.assert_array_equal(segments_to_frame_mask([(0.085, 0.095)], 4), [0, 0, 1, 0])
    # zero-length segments mark nothing; parts before 0 or after the grid are dropped
    np.testing.assert_array_equal(segments_to_frame_mask([(0.1, 0.1)], 4), [0, 0, 0, 0])
    np.testing.assert_array_equal(segments_to_frame_mask([(-0.5, 0.05)], 3), [1, 0, 0])
    np.testing.assert_array_equal(segments_to_frame_mask([(9.0, 12.0)], 3), [0, 0, 0])
    assert segments_to_frame_mask([], 0).shape == (0,)
    with pytest.raises(ValueError, match="onset <= offset"):
        segments_to_frame_mask([(0.5, 0.2)], 10)
    with pytest.raises(ValueError, match="onset <= offset"):
        segments_to_frame_mask([(np.nan, 0.2)], 10)


def test_rasterise_accepts_segment_objects():
    @dataclass
    class Seg:
        onset: float
        offset: float

    np.testing.assert_array_equal(segments_to_frame_mask([Seg(0.04, 0.12)], 4), [0, 1, 1, 0])


def test_mask_to_segments():
    assert frame_mask_to_segments(np.array([0, 1, 1, 0, 1], bool)) == [(0.04, 0.12), (0.16, 0.2)]
    # probabilities: >= 0.5 is positive
    assert frame_mask_to_segments([0.2, 0.7, 0.5, 0.1, 0.9]) == [(0.04, 0.12), (0.16, 0.2)]
    assert frame_mask_to_segments(np.zeros(5)) == []
    assert frame_mask_to_segments(np.ones(250)) == [(0.0, 10.0)]
    with pytest.raises(ValueError, match="1-D"):
        frame_mask_to_segments(np.zeros((2, 3)))


def test_round_trips():
    # segments -> frames -> segments: boundaries snap to the nearest 40 ms edge
    mask = segments_to_frame_mask([(0.1, 0.3)], 10)
    assert frame_mask_to_segments(mask) == [(0.08, 0.28)]
    # frames -> segments -> frames is exact
    rng = np.random.default_rng(0)
    for _ in range(50):
        m = (rng.random(rng.integers(1, 300)) < 0.4).astype(np.float32)
        np.testing.assert_array_equal(segments_to_frame_mask(frame_mask_to_segments(m), len(m)), m)


def test_custom_grid_and_serialisation():
    grid = FrameGrid(sample_rate=16000, hop=160, time_downsample=2)
    assert grid.output_hop_s == 0.02
    assert grid.n_feature_frames(16000) == 101 and grid.n_output_frames(16000) == 50
    assert grid.frame_mask_to_segments([0, 1, 1]) == [(0.02, 0.06)]
    np.testing.assert_array_equal(grid.segments_to_frame_mask([(0.02, 0.06)], 4), [0, 1, 1, 0])
    assert grid.n_output_frames_for_duration(1.0) == 50
    assert FrameGrid.from_dict(grid.to_dict()) == grid
    assert DEFAULT_GRID.to_dict() == {"sample_rate": 32000, "hop": 320, "time_downsample": 4}
    with pytest.raises(ValueError, match="unknown keys"):
        FrameGrid.from_dict({"hop": 320, "n_mels": 64})
    with pytest.raises(ValueError, match="hop"):
        FrameGrid(hop=0)
