"""Frame probabilities -> detected segments: threshold, optional median filter.

Used by inference (onset/offset of each detected region) and, through
``median_filter``, by Th-AUC. The threshold is strict (a frame is active when its
score is *above* it), as in sed_scores_eval, so inference segments and the counts
behind Th-AUC agree frame for frame.

A median filter of odd length commutes with thresholding (the window's median exceeds
t exactly when most of its values do), so filtering the probabilities once and then
thresholding equals binarising first and filtering each binary mask: Th-AUC can
evaluate all 50 thresholds in one sweep over filtered scores.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from numpy.lib.stride_tricks import sliding_window_view

from wstag.audio.frames import FrameGrid


def median_filter(scores: np.ndarray, window: int) -> np.ndarray:
    """Median over ``window`` frames along the last axis, edges mirrored.

    ``window`` must be a positive odd integer; 1 returns the scores unchanged. An even
    window would average two middle values and no longer commute with thresholding.
    Edges mirror the signal (``d c b a | a b c d``), as ``scipy.ndimage.median_filter``
    does by default (the authors' post-processing).
    """
    if not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ValueError(f"median filter window must be a positive odd integer, got {window!r}")
    x = np.asarray(scores, dtype=np.float64)
    if window == 1:
        return x
    pad = window // 2
    if pad <= x.shape[-1]:  # one reflection at each edge: scipy's running filter, O(frames) memory
        return ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (window,), mode="reflect")
    # a window longer than twice the signal reflects it again and again (numpy's "symmetric"); the
    # signal is then shorter than the window, so the frames x window copy is small
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="symmetric")
    return np.median(sliding_window_view(padded, window, axis=-1), axis=-1)


def scores_to_segments(
    scores: np.ndarray,
    *,
    threshold: float,
    median_window: int = 1,
    grid: FrameGrid,
    duration: float | None = None,
) -> list[tuple[float, float]]:
    """Detected ``[(onset, offset), ...]`` seconds for one (clip, phrase) pair.

    ``scores`` is (T,) on ``grid``; frames with (filtered) score > ``threshold`` are
    active and each run becomes one segment. ``duration`` clips the last offset to the
    clip's end, as the evaluation does.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D (T,), got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores hold NaN or inf")
    mask = median_filter(s, median_window) > threshold
    segments = grid.frame_mask_to_segments(mask)
    if duration is not None:
        segments = [(on, min(off, duration)) for on, off in segments if on < duration]
    return segments
