"""Th-AUC in the paper authors' convention (SPEC 3), against hand-computed values.

Cases are built on the default 40 ms grid, 250 frames (10 s) per pair; frame spans
``[a, b)`` are written as frame indices, ``a`` included, ``b`` excluded.
"""

from __future__ import annotations

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation import detection_f1, metrics
from wstag.evaluation.pairs import EVENT_CLASS, PairInputs, build_pair_inputs
from wstag.evaluation.segments import median_filter

from .synthetic import make_clips, oracle_scores

T = 250


def _scores(runs: list[tuple[int, int]], value: float = 0.9) -> np.ndarray:
    s = np.zeros(T)
    for a, b in runs:
        s[a:b] = value
    return s


def _inputs(pairs: dict[str, tuple[np.ndarray, list[tuple[int, int]]]]) -> PairInputs:
    """``{pid: (scores (T,), reference frame spans)}`` -> PairInputs on the 40 ms grid."""
    ft = DEFAULT_GRID.frame_time
    return PairInputs(
        frame_scores={k: np.asarray(s, dtype=np.float64) for k, (s, _) in pairs.items()},
        timestamps={k: DEFAULT_GRID.frame_times(len(s)) for k, (s, _) in pairs.items()},
        ground_truth={k: [(ft(a), ft(b), EVENT_CLASS) for a, b in refs]
                      for k, (_, refs) in pairs.items()},
        audio_durations={k: 10.0 for k in pairs},
    )


def _at(inputs: PairInputs, t: float = 0.5) -> dict[str, float]:
    curve = metrics.f1_curve(inputs, [t])
    return {k: float(curve[k][0]) for k in ("precision", "recall", "f1", "n_det")}


def _sed_at(inputs: PairInputs, t: float = 0.5) -> dict[str, float]:
    curve = metrics.f1_curve_sed(inputs, [t])
    return {k: float(curve[k][0]) for k in ("precision", "recall", "f1")}


# --- 1. joining detections at most 13 frames apart

@pytest.mark.parametrize("gap, n_det, precision, recall", [
    (13, 1, 1.0, 1.0),  # [50, 113): 50 of 63 frames on the reference -> TP
    (14, 2, 0.5, 1.0),  # [50, 90) covers 80 % and is TP; [104, 114) is off it
])
def test_joining_helps_precision(gap, n_det, precision, recall):
    """Reference [50, 100); runs [50, 90) and 10 frames off it, ``gap`` frames later."""
    b = 90 + gap
    inputs = _inputs({"p": (_scores([(50, 90), (b, b + 10)]), [(50, 100)])})
    got = _at(inputs)
    assert (got["n_det"], got["precision"], got["recall"]) == (n_det, precision, recall)


@pytest.mark.parametrize("gap, n_det, precision, recall", [
    (13, 1, 0.0, 0.0),  # [50, 93): 10 of 43 frames on the reference -> FP, ref lost
    (14, 2, 0.5, 1.0),  # [50, 60) exactly on it -> TP; [74, 94) -> FP
])
def test_joining_can_hurt(gap, n_det, precision, recall):
    """Reference [50, 60); runs [50, 60) and [60 + gap, 80 + gap)."""
    b = 60 + gap
    inputs = _inputs({"p": (_scores([(50, 60), (b, b + 20)]), [(50, 60)])})
    got = _at(inputs)
    assert (got["n_det"], got["precision"], got["recall"]) == (n_det, precision, recall)


def test_join_gap_is_a_parameter_in_frames():
    inputs = _inputs({"p": (_scores([(50, 90), (104, 114)]), [(50, 100)])})
    assert detection_f1.JOIN_GAP_FRAMES == 13
    assert detection_f1.f1_curve(inputs, [0.5], join_gap_frames=14)["n_det"][0] == 1
    assert detection_f1.f1_curve(inputs, [0.5], join_gap_frames=0)["n_det"][0] == 2


def test_no_join_across_pairs():
    """A run ending one clip and a run starting the next stay two detections."""
    inputs = _inputs({
        "a": (_scores([(240, 250)]), [(240, 250)]),
        "b": (_scores([(0, 10)]), [(0, 10)]),
    })
    assert _at(inputs) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "n_det": 2}


# --- 2. the divisor: area / 1.0, not / 0.98

def test_perfect_f1_gives_098():
    inputs = _inputs({"p": (_scores([(50, 100)], value=1.0), [(50, 100)])})
    np.testing.assert_array_equal(metrics.f1_curve(inputs)["f1"], np.ones(50))
    assert metrics.th_auc(inputs) == pytest.approx(0.98)
    assert metrics.th_auc_sed(inputs) == pytest.approx(1.0)  # sed: area / span


# --- 3. precision counts detections

def test_precision_counts_detections():
    """Reference [50, 150) (4 s); detections [50, 80) and [110, 140) cover 60 % of it
    together (each alone 30 %) and lie on it; [200, 220) is off it.
    Authors: 2 of 3 detections TP -> P 2/3, R 1, F1 0.8.
    sed_scores_eval: TP counted on the reference (1), the stray detection is 1 FP
    -> P 1/2, R 1, F1 2/3.
    """
    inputs = _inputs({"p": (_scores([(50, 80), (110, 140), (200, 220)]), [(50, 150)])})
    got = _at(inputs)
    assert got["precision"] == pytest.approx(2 / 3)
    assert got["recall"] == 1.0
    assert got["f1"] == pytest.approx(0.8)
    sed = _sed_at(inputs)
    assert sed["precision"] == pytest.approx(1 / 2)
    assert sed["recall"] == 1.0
    assert sed["f1"] == pytest.approx(2 / 3)


def test_counts_pooled_over_pairs():
    """Micro: the previous pair (2 TP of 3 detections, 1 of 1 reference) plus a pair
    with no detection and one reference: P = 2/3, R = 1/2, F1 = 4/7 (not a mean of
    per-pair F1s)."""
    inputs = _inputs({
        "a": (_scores([(50, 80), (110, 140), (200, 220)]), [(50, 150)]),
        "b": (np.zeros(T), [(50, 100)]),
    })
    got = _at(inputs)
    assert got["precision"] == pytest.approx(2 / 3)
    assert got["recall"] == pytest.approx(1 / 2)
    assert got["f1"] == pytest.approx(4 / 7)


def test_nothing_detected_precision_one_f1_zero():
    inputs = _inputs({"p": (np.zeros(T), [(50, 100)])})
    assert _at(inputs) == {"precision": 1.0, "recall": 0.0, "f1": 0.0, "n_det": 0}


# --- 4. DTC only against references that are themselves covered

def test_dtc_counts_only_covered_references():
    """References [0, 100) (4 s) and [150, 170) (0.8 s); one detection [60, 170).
    It covers 40 % of the first (not covered) and all of the second; its overlap with
    covered references is 20 of 110 frames -> not TP: P 0, R 0.
    sed_scores_eval counts its overlap with any reference (60 of 110 frames) -> it
    passes DTC and the second reference is a TP: P 1, R 1/2.
    """
    inputs = _inputs({"p": (_scores([(60, 170)]), [(0, 100), (150, 170)])})
    assert _at(inputs) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_det": 1}
    sed = _sed_at(inputs)
    assert (sed["precision"], sed["recall"]) == (1.0, 0.5)


def test_dtc_passes_once_the_reference_is_covered():
    """Detection [40, 170): 60 % of the first reference (covered), all of the second;
    80 of 130 frames on covered references -> TP, both references TP."""
    inputs = _inputs({"p": (_scores([(40, 170)]), [(0, 100), (150, 170)])})
    assert _at(inputs) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "n_det": 1}


def test_reference_needs_coverage_by_true_positive_detections():
    """Reference [50, 150). [50, 90) lies on it (TP); [120, 200) has 30 of 80 frames on
    it (FP). Together they cover 70 % (so it is covered and the first passes DTC), but
    the TP detection alone covers 40 %: the reference is no TP. P 1/2, R 0."""
    inputs = _inputs({"p": (_scores([(50, 90), (120, 200)]), [(50, 150)])})
    assert _at(inputs) == {"precision": 0.5, "recall": 0.0, "f1": 0.0, "n_det": 2}


# --- 5. strict threshold

def test_score_equal_to_threshold_is_inactive():
    inputs = _inputs({"p": (_scores([(50, 100)], value=0.51), [(50, 100)])})
    f1 = metrics.f1_curve(inputs)["f1"]
    assert metrics.THRESHOLDS[25] == 0.51
    np.testing.assert_array_equal(f1, np.repeat([1.0, 0.0], 25))  # 0.51 > 0.51 is false
    # Area: 1 from 0.01 to 0.49 (0.48), then a trapezoid down to 0 at 0.51 (0.01).
    assert metrics.th_auc(inputs) == pytest.approx(0.49)
    assert _at(inputs, 0.5)["f1"] == 1.0 and _at(inputs, 0.51)["f1"] == 0.0


# --- 6. an independent, loop-by-loop implementation of SPEC 3 agrees on noisy scores

def _reference_counts(scores, times, refs, t, gap=13, crit=0.5):
    """Counts for one pair at one threshold, written as plainly as possible."""
    runs, start = [], None
    for i, on in enumerate(list(scores > t) + [False]):
        if on and start is None:
            start = i
        if not on and start is not None:
            runs.append([start, i - 1])
            start = None
    joined = []
    for a, b in runs:
        if joined and a - joined[-1][1] - 1 <= gap:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    dets = [(times[a], times[b + 1]) for a, b in joined]

    def ov(d, r):
        return max(0.0, min(d[1], r[1]) - max(d[0], r[0]))

    tol = 1e-9
    covered = [sum(ov(d, r) for d in dets) >= crit * (r[1] - r[0]) - tol for r in refs]
    ok = [sum(ov(d, r) for r, c in zip(refs, covered) if c) >= crit * (d[1] - d[0]) - tol
          for d in dets]
    good = [d for d, k in zip(dets, ok) if k]
    tp_ref = sum(sum(ov(d, r) for d in good) >= crit * (r[1] - r[0]) - tol for r in refs)
    return len(dets), sum(ok), tp_ref


def test_matches_plain_implementation_on_noisy_scores():
    clips = make_clips(12, seed=4)
    rng = np.random.default_rng(5)
    scores = {k: np.clip(0.4 * v + 0.7 * rng.random(v.shape), 0, 1)
              for k, v in oracle_scores(clips).items()}
    inputs = build_pair_inputs(clips, scores, grid=DEFAULT_GRID)
    thr = [0.05, 0.3, 0.45, 0.6, 0.8, 0.95]
    counts = detection_f1.pair_counts(inputs, thr)
    for j, pid in enumerate(counts.ids):
        refs = [(on, off) for on, off, _ in inputs.ground_truth[pid]]
        for k, t in enumerate(thr):
            expected = _reference_counts(inputs.frame_scores[pid], inputs.timestamps[pid], refs, t)
            got = (counts.n_det[k, j], counts.tp_det[k, j], counts.tp_ref[k, j])
            assert got == expected, (pid, t)
    assert counts.tp_det.sum() > 0 and (counts.n_det > counts.tp_det).any()


# --- 7. evaluate(): both conventions, named

@pytest.fixture(scope="module")
def noisy():
    """30 synthetic clips; scores 0.3 x truth + 0.7 x uniform noise (seed 7)."""
    clips = make_clips(30, seed=0)
    rng = np.random.default_rng(7)
    scores = {k: np.clip(0.3 * v + 0.7 * rng.random(v.shape), 0, 1)
              for k, v in oracle_scores(clips).items()}
    return clips, scores


def test_evaluate_reports_both_conventions(noisy):
    clips, scores = noisy
    out = metrics.evaluate(clips, scores, grid=DEFAULT_GRID)
    assert out["th_auc_convention"] == metrics.TH_AUC_CONVENTION
    assert out["th_auc_convention"] == (
        "authors: join<=13 frames, detection-counted precision, area/1.0")
    inputs = build_pair_inputs(clips, scores, grid=DEFAULT_GRID)
    assert out["th_auc_whole"] == round(100 * metrics.th_auc(inputs), 1)
    assert out["th_auc_short"] == round(100 * metrics.th_auc(inputs.short()), 1)
    # The sed_scores_eval keys hold what the previous code gave as th_auc_* on these
    # scores (recorded before the change): 9.4 / 9.1, unrounded 0.09424015799...
    assert (out["th_auc_whole_sed"], out["th_auc_short_sed"]) == (9.4, 9.1)
    assert metrics.th_auc_sed(inputs) == pytest.approx(0.09424015799262929, rel=1e-12)
    assert metrics.th_auc_sed(inputs.short()) == pytest.approx(0.09104555665338254, rel=1e-12)
    assert out["th_auc_whole"] != out["th_auc_whole_sed"]


def test_evaluate_median_filter_before_thresholding(noisy):
    clips, scores = noisy
    out = metrics.evaluate(clips, scores, median_window=5, grid=DEFAULT_GRID)
    assert (out["th_auc_whole_sed"], out["th_auc_short_sed"]) == (19.8, 17.5)  # as before
    filtered = build_pair_inputs(clips, scores, grid=DEFAULT_GRID).map_scores(lambda s: median_filter(s, 5))
    assert out["th_auc_whole"] == round(100 * metrics.th_auc(filtered), 1)
    assert out["th_auc_short"] == round(100 * metrics.th_auc(filtered.short()), 1)
    inputs = build_pair_inputs(clips, scores, grid=DEFAULT_GRID)
    assert metrics.th_auc(inputs, median_window=5) == metrics.th_auc(filtered)
    assert metrics.th_auc(inputs, median_window=5) != metrics.th_auc(inputs)
