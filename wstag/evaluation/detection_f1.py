"""Th-AUC as the paper's figures were computed (SPEC 3): detection-counted F1 per threshold.

The paper's authors computed Th-AUC with conventions that differ from
sed_scores_eval's intersection-based F-score (``metrics.th_auc_sed``); on the paper's
model scores they give 0.8-1.3 points less. This module implements them:

1. Thresholds 0.01, 0.03, ..., 0.99; a frame is active when its score is strictly
   above the threshold (after any median filter, applied by the caller). Each run of
   active frames is a detection; frame t covers ``[t * hop, (t + 1) * hop)``, the last
   frame clipped to the clip's end (``PairInputs.timestamps``).
2. Detections of one pair separated by at most ``JOIN_GAP_FRAMES`` (13) inactive frames
   are joined into one, the gap filled (0.52 s on the 40 ms grid; counted in frames, so
   it scales with the grid).
3. Matching per pair, on intervals in seconds (references as annotated, clipped and
   merged by ``pairs``):

   - a reference is *covered* when all detections together overlap >= GTC of it;
   - a detection is a true positive when its overlap with covered references is
     >= DTC of its duration;
   - a reference is a true positive when the true-positive detections alone still
     cover >= GTC of it.

   precision = true-positive detections / detections (1 where nothing is detected),
   recall = true-positive references / references, both pooled over all pairs (micro),
   F1 = 2PR / (P + R) (0 where both are 0).
4. Th-AUC = trapezoidal area under F1(threshold) divided by 1.0, the 0-1 range the
   thresholds sample (not by their span 0.98): a perfect F1 gives 0.98.

Ties on the 50 % criteria are decided with a tolerance of ``TIME_TOL`` seconds, so
that float rounding of frame times (``25 * 0.04 != 1.0``) cannot flip them.

The work is vectorised over all pairs at once (scores concatenated along time), one
threshold at a time: about 3,000 pairs of 250 frames take well under 10 s for 50
thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from wstag.evaluation.pairs import PairInputs
from wstag.evaluation.segments import median_filter

#: Detections of one pair at most this many inactive frames apart are joined
#: (13 frames = 0.52 s on the 40 ms output grid).
JOIN_GAP_FRAMES = 13
#: Intersection criteria (paper V-D): half of a detection on covered references, half
#: of a reference covered.
DTC = 0.5
GTC = 0.5
#: Th-AUC divides the area by the 0-1 threshold range, not by the thresholds' span.
THRESHOLD_RANGE = 1.0
#: Tolerance in seconds on the ">= criterion * duration" comparisons.
TIME_TOL = 1e-9
#: Th-AUC thresholds 0.01, 0.03, ..., 0.99 (50); rounded so they print as written.
THRESHOLDS = np.round(np.arange(0.01, 1.0, 0.02), 2)

#: How ``metrics.json`` names this convention (key ``th_auc_convention``).
CONVENTION = (f"authors: join<={JOIN_GAP_FRAMES} frames, detection-counted precision, "
              f"area/{THRESHOLD_RANGE:.1f}")


@dataclass(frozen=True)
class PairCounts:
    """Per-pair counts at each threshold: arrays (n_thresholds, n_pairs), ``n_ref`` (n_pairs,).

    ``ids[j]`` names column j. ``subset`` and ``pooled`` make the short-duration subset
    and the micro sums without recounting.
    """

    ids: list[str]
    thresholds: np.ndarray
    n_det: np.ndarray
    tp_det: np.ndarray
    tp_ref: np.ndarray
    n_ref: np.ndarray

    def subset(self, ids: Iterable[str]) -> "PairCounts":
        col = {pid: j for j, pid in enumerate(self.ids)}
        keep = list(dict.fromkeys(ids))
        missing = [k for k in keep if k not in col]
        if missing:
            raise ValueError(f"subset: unknown pair ids {missing[:5]}")
        idx = np.array([col[k] for k in keep], dtype=np.int64)
        return PairCounts(keep, self.thresholds, self.n_det[:, idx], self.tp_det[:, idx],
                          self.tp_ref[:, idx], self.n_ref[idx])

    def pooled(self) -> dict[str, np.ndarray | int]:
        """Counts summed over pairs: ``n_det, tp_det, tp_ref`` (n_thresholds,), ``n_ref``."""
        return {
            "thresholds": self.thresholds,
            "n_det": self.n_det.sum(axis=1),
            "tp_det": self.tp_det.sum(axis=1),
            "tp_ref": self.tp_ref.sum(axis=1),
            "n_ref": int(self.n_ref.sum()),
        }


def pair_counts(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    join_gap_frames: int = JOIN_GAP_FRAMES,
    dtc: float = DTC,
    gtc: float = GTC,
) -> PairCounts:
    """Detections, true-positive detections and true-positive references per pair and threshold."""
    thr = np.asarray(list(thresholds), dtype=np.float64)
    if join_gap_frames < 0:
        raise ValueError(f"join_gap_frames must be >= 0, got {join_gap_frames}")
    ids = inputs.ids
    n_pairs = len(ids)

    # All pairs' frames end to end; a run or a join never crosses a pair boundary.
    lengths = np.array([len(inputs.frame_scores[k]) for k in ids], dtype=np.int64)
    scores = np.concatenate([np.asarray(inputs.frame_scores[k], dtype=np.float64) for k in ids])
    f_on = np.concatenate([inputs.timestamps[k][:-1] for k in ids])
    f_off = np.concatenate([inputs.timestamps[k][1:] for k in ids])
    frame_pair = np.repeat(np.arange(n_pairs), lengths)
    first = np.zeros(len(scores), dtype=bool)
    first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
    last = np.zeros(len(scores), dtype=bool)
    last[np.cumsum(lengths) - 1] = True

    # References, and a (n_pairs, R_max) table of their indices padded with a
    # zero-length sentinel (index n_refs) that no detection overlaps.
    refs = [[(on, off) for on, off, *_ in inputs.ground_truth[k]] for k in ids]
    n_ref = np.array([len(r) for r in refs], dtype=np.int64)
    n_refs = int(n_ref.sum())
    ref_pair = np.repeat(np.arange(n_pairs), n_ref)
    spans = np.array([s for r in refs for s in r], dtype=np.float64).reshape(-1, 2)
    ref_on = np.append(spans[:, 0], 0.0)
    ref_off = np.append(spans[:, 1], 0.0)
    ref_need = gtc * (ref_off[:-1] - ref_on[:-1]) - TIME_TOL
    r_max = max(int(n_ref.max(initial=0)), 1)
    table = np.full((n_pairs, r_max), n_refs, dtype=np.int64)
    rank = np.arange(n_refs) - np.repeat(np.cumsum(n_ref) - n_ref, n_ref)
    table[ref_pair, rank] = np.arange(n_refs)

    shape = (len(thr), n_pairs)
    n_det, tp_det, tp_ref = (np.zeros(shape, dtype=np.int64) for _ in range(3))
    for k, t in enumerate(thr):
        active = scores > t
        prev = np.empty_like(active)
        prev[0], prev[1:] = False, active[:-1]
        prev[first] = False
        nxt = np.empty_like(active)
        nxt[-1], nxt[:-1] = False, active[1:]
        nxt[last] = False
        starts = np.flatnonzero(active & ~prev)
        if not len(starts):
            continue
        ends = np.flatnonzero(active & ~nxt)  # inclusive; pairs up with starts
        run_pair = frame_pair[starts]
        # Join runs of one pair at most join_gap_frames inactive frames apart.
        opens = np.ones(len(starts), dtype=bool)
        opens[1:] = (run_pair[1:] != run_pair[:-1]) | (starts[1:] - ends[:-1] - 1 > join_gap_frames)
        closes = np.append(opens[1:], True)
        det_on, det_off = f_on[starts[opens]], f_off[ends[closes]]
        det_pair = run_pair[opens]

        # Overlap (n_det, R_max) of each detection with each reference of its pair.
        ridx = table[det_pair]
        overlap = np.clip(np.minimum(det_off[:, None], ref_off[ridx])
                          - np.maximum(det_on[:, None], ref_on[ridx]), 0.0, None)
        covered = np.bincount(ridx.ravel(), overlap.ravel(), minlength=n_refs + 1)[:-1] >= ref_need
        on_covered = (overlap * np.append(covered, False)[ridx]).sum(axis=1)
        det_ok = on_covered >= dtc * (det_off - det_on) - TIME_TOL
        coverage_ok = np.bincount(ridx[det_ok].ravel(), overlap[det_ok].ravel(),
                                  minlength=n_refs + 1)[:-1]
        ref_ok = coverage_ok >= ref_need

        n_det[k] = np.bincount(det_pair, minlength=n_pairs)
        tp_det[k] = np.bincount(det_pair[det_ok], minlength=n_pairs)
        tp_ref[k] = np.bincount(ref_pair[ref_ok], minlength=n_pairs)
    return PairCounts(list(ids), thr, n_det, tp_det, tp_ref, n_ref)


def f1_from_counts(counts: PairCounts) -> dict[str, np.ndarray]:
    """Micro precision, recall and F1 at each threshold from per-pair counts."""
    c = counts.pooled()
    n_det, tp_det, tp_ref, n_ref = c["n_det"], c["tp_det"], c["tp_ref"], c["n_ref"]
    precision = np.where(n_det > 0, tp_det / np.maximum(n_det, 1), 1.0)
    recall = tp_ref / max(n_ref, 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-15)
    return {"thresholds": c["thresholds"], "f1": f1, "precision": precision, "recall": recall,
            "n_det": n_det, "tp_det": tp_det, "tp_ref": tp_ref}


def f1_curve(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    join_gap_frames: int = JOIN_GAP_FRAMES,
) -> dict[str, np.ndarray]:
    """Detection-counted micro F1, precision and recall at each threshold (see module doc)."""
    return f1_from_counts(pair_counts(inputs, thresholds, join_gap_frames=join_gap_frames))


def auc_from_curve(thresholds: np.ndarray, f1: np.ndarray) -> float:
    """Trapezoidal area under F1(threshold) / ``THRESHOLD_RANGE`` (1.0)."""
    thr = np.asarray(thresholds, dtype=np.float64)
    if len(thr) < 2 or not np.all(np.diff(thr) > 0):
        raise ValueError(f"Th-AUC needs at least two increasing thresholds, got {thr}")
    return float(np.trapezoid(f1, thr) / THRESHOLD_RANGE)


def th_auc(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    median_window: int = 1,
    join_gap_frames: int = JOIN_GAP_FRAMES,
) -> float:
    """The paper's Th-AUC in [0, 0.98]: detection-counted F1, joined detections, area / 1.0.

    ``median_window`` (odd, in frames) filters the scores before thresholding.
    """
    if median_window != 1:
        inputs = inputs.map_scores(lambda s: median_filter(s, median_window))
    curve = f1_curve(inputs, thresholds, join_gap_frames=join_gap_frames)
    return auc_from_curve(curve["thresholds"], curve["f1"])
