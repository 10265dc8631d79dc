"""Thresholding and median filtering of frame probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation.segments import median_filter, scores_to_segments


def test_scores_to_segments_strict_threshold():
    s = np.zeros(250)
    s[25:50] = 0.9  # 1.0 - 2.0 s
    s[100] = 0.5  # exactly the threshold: not active
    assert scores_to_segments(s, threshold=0.5, grid=DEFAULT_GRID) == [(1.0, 2.0)]
    assert scores_to_segments(s, threshold=0.4, grid=DEFAULT_GRID) == [(1.0, 2.0), (4.0, 4.04)]


def test_median_filter_removes_blips_and_fills_gaps():
    s = np.zeros(20)
    s[5] = 1.0  # a one-frame blip
    s[10:16] = 1.0
    s[12] = 0.0  # a one-frame gap
    out = median_filter(s, 3)
    assert out[5] == 0.0 and out[12] == 1.0
    assert scores_to_segments(s, threshold=0.5, median_window=3, grid=DEFAULT_GRID) == [(0.4, 0.64)]


def test_median_filter_commutes_with_threshold():
    rng = np.random.default_rng(0)
    s = rng.random((4, 100))
    for t in (0.2, 0.5, 0.8):
        np.testing.assert_array_equal(median_filter(s, 7) > t,
                                      median_filter((s > t).astype(float), 7) > 0.5)


def test_duration_clips_last_segment():
    assert scores_to_segments(np.ones(250), threshold=0.5, duration=9.99, grid=DEFAULT_GRID) == [(0.0, 9.99)]


@pytest.mark.parametrize("window", [0, 2, -1, 1.0])
def test_median_window_must_be_odd_positive_int(window):
    with pytest.raises(ValueError, match="odd"):
        median_filter(np.zeros(5), window)


def test_median_filter_matches_scipy_default():
    from scipy.ndimage import median_filter as scipy_median

    x = np.random.default_rng(1).random((3, 40))
    for window in (3, 5, 9):
        np.testing.assert_array_equal(median_filter(x, window), scipy_median(x, size=(1, window)))


def test_the_running_median_equals_the_windowed_one_at_every_length():
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 5, 10, 37, 250):
        for w in (1, 3, 5, 11, 21, 75, 501):
            x = rng.random((2, n))
            pad = w // 2
            padded = np.pad(x, [(0, 0), (pad, pad)], mode="symmetric")
            want = np.median(sliding_window_view(padded, w, axis=-1), axis=-1)
            np.testing.assert_allclose(median_filter(x, w), want, err_msg=f"n {n}, window {w}")


def test_a_wide_window_on_a_long_recording_stays_small_in_memory():
    import tracemalloc

    x = np.random.default_rng(0).random(15_000)  # 600 s of 40 ms frames
    tracemalloc.start()
    median_filter(x, 501)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * x.nbytes  # a frames x window copy would be 501 x 8 bytes per frame (60 MB)


def test_the_median_window_is_bounded():
    from wstag.errors import ConfigError
    from wstag.inference.queries import MAX_MEDIAN, check_median

    assert check_median(MAX_MEDIAN) == MAX_MEDIAN
    with pytest.raises(ConfigError, match="at most"):
        check_median(99999)
