"""PSDS and Th-AUC: oracle, constant predictor, a hand-computed case, sed_scores_eval cross-checks.

``th_auc_*`` are the paper's convention (``test_th_auc_authors``), ``th_auc_*_sed``
sed_scores_eval's (the hand case and cross-checks below).
"""

from __future__ import annotations

import numpy as np
import pytest
from sed_scores_eval import intersection_based

from wstag.audio.frames import DEFAULT_GRID
from wstag.audio.frames import FrameGrid
from wstag.evaluation import metrics
from wstag.evaluation.pairs import EVENT_CLASS, build_pair_inputs
from wstag.records import Clip, Phrase, Segment

from .synthetic import make_clips, oracle_scores

FIGURES = ("psds_whole", "th_auc_whole_sed", "psds_short", "th_auc_short_sed")


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    return make_clips(30, seed=0)


def test_oracle_scores_100_everywhere(clips):
    out = metrics.evaluate(clips, oracle_scores(clips), grid=DEFAULT_GRID)
    assert {k: out[k] for k in FIGURES} == dict.fromkeys(FIGURES, 100.0)
    # The paper's Th-AUC divides the area (F1 = 1 from 0.01 to 0.99) by 1.0, not 0.98.
    assert out["th_auc_whole"] == out["th_auc_short"] == 98.0
    assert out["n_pairs_whole"] == sum(len(c.phrases) for c in clips)
    assert 0 < out["n_pairs_short"] < out["n_pairs_whole"]
    assert out["n_pairs_skipped"] == 0


def test_oracle_with_median_filter_still_100(clips):
    # Every synthetic segment spans >= 5 frames, so a 3-frame median filter keeps it.
    out = metrics.evaluate(clips, oracle_scores(clips), median_window=3, grid=DEFAULT_GRID)
    assert out["th_auc_whole_sed"] == out["th_auc_short_sed"] == 100.0
    assert out["th_auc_whole"] == out["th_auc_short"] == 98.0


def test_constant_half_scores(clips):
    """Constant 0.5: below it (thresholds 0.01 .. 0.49) each pair detects the whole clip
    [0, 10]; above it (0.51 .. 0.99) nothing.

    The whole-clip detection passes the DTC (>= half of it on reference) exactly when the
    phrase's segments total >= 5 s, i.e. for long phrases, and then covers all their
    references (GTC). So: long pairs give TP = their events, short pairs give one FP and
    no TP.
    - short subset: TP = 0 at every threshold -> PSDS 0, F1 0 -> Th-AUC 0.
    - whole: F1 = c = 2 TP / (2 TP + FP + FN) at the 25 thresholds below 0.5, 0 above;
      trapezoid = c * 0.48 + c * 0.02 / 2 = 0.49 c over a span of 0.98 -> Th-AUC = c / 2
      (sed_scores_eval's); the paper's convention counts one TP detection per long pair
      among n_pairs detections, TP references as above: F1 = 2 TP / (n_pairs + n_ref)
      (each long phrase is one segment) and Th-AUC = 0.49 F1 / 1.0.
      PSD-ROC: (eFPR 0, TPR 0) and (eFPR = n_short / hours, TPR = TP / n_ref), so
      PSDS = TPR * (800 - eFPR) / 800.
    """
    scores = {k: np.full_like(v, 0.5) for k, v in oracle_scores(clips).items()}
    out = metrics.evaluate(clips, scores, grid=DEFAULT_GRID)
    assert out["psds_short"] == 0.0 and out["th_auc_short_sed"] == 0.0
    assert out["th_auc_short"] == 0.0

    long = [p for c in clips for p in c.phrases if not p.is_short(10.0)]
    n_short = out["n_pairs_short"]
    tp = sum(len(p.segments) for p in long)
    n_ref = sum(len(p.segments) for c in clips for p in c.phrases)
    c = 2 * tp / (2 * tp + n_short + (n_ref - tp))
    hours = out["n_pairs_whole"] * 10.0 / 3600
    efpr = n_short / hours
    assert efpr < 800
    assert out["th_auc_whole_sed"] == pytest.approx(100 * c / 2, abs=0.051)
    assert out["psds_whole"] == pytest.approx(100 * tp / n_ref * (800 - efpr) / 800, abs=0.051)
    # Seed 0: 19 of 92 pairs are long (19 of 138 references) -> whole 8.9 / 8.3.
    assert (out["psds_whole"], out["th_auc_whole_sed"]) == (8.9, 8.3)
    assert all(len(p.segments) == 1 for p in long)
    f1 = 2 * tp / (out["n_pairs_whole"] + n_ref)
    assert out["th_auc_whole"] == pytest.approx(100 * 0.49 * f1, abs=0.051)
    assert out["th_auc_whole"] == 8.1  # 0.49 * 38 / 230


# --- a hand-made three-file case on a 1 s grid (10 frames per 10 s clip)
HAND_GRID = FrameGrid(sample_rate=10, hop=5, time_downsample=2)


def _hand_case() -> tuple[list[Clip], dict[str, np.ndarray]]:
    def clip(aid: str, segs: list[tuple[float, float]]) -> Clip:
        return Clip(aid, "x", ("x",), (Phrase("x", 0, 0, tuple(Segment(*s) for s in segs)),),
                    duration=10.0)

    clips = [clip("A", [(2, 4)]), clip("B", [(5, 6)]), clip("C", [(0, 8)])]
    a = np.full(10, 0.1)
    a[2:4] = 0.8  # right on its reference
    b = np.zeros(10)
    b[:2] = 0.7  # a confident false alarm ...
    b[5] = 0.6  # ... and its reference, less confident
    c = np.full(10, 0.4)  # flat over a long reference
    return clips, {"A#0": a, "B#0": b, "C#0": c}


def test_hand_case_psd_roc_and_psds():
    """Detections as the threshold falls (3 references, 30 s = 1/120 h, 1 FP = 120/h):
      > 0.8      : nothing                                   TP 0  FP 0
      [0.7, 0.8) : A [2,4]                                   TP 1  FP 0
      [0.6, 0.7) : + B [0,2] (no overlap)                    TP 1  FP 1
      [0.4, 0.6) : + B [5,6]                                 TP 2  FP 1
      [0.1, 0.4) : + C [0,10]: 8 of 10 s on reference, covers it -> TP 3 FP 1
      [0, 0.1)   : A becomes [0,10]: 2 of 10 s on ref -> FP, A's ref lost: TP 2 FP 2
    ROC after the cumulative max: (0, 1/3), (120, 1), then TPR 1 up to 800, so
    PSDS = (1/3 * 120 + 1 * 680) / 800 = 0.9.
    """
    clips, scores = _hand_case()
    inputs = build_pair_inputs(clips, scores, grid=HAND_GRID)
    tpr, efpr = metrics.psd_roc(inputs)
    np.testing.assert_allclose(efpr, [0, 120, 800])
    np.testing.assert_allclose(tpr, [1 / 3, 1, 1])
    assert metrics.psds(inputs) == pytest.approx(0.9)


def test_hand_case_f1_and_th_auc_sed():
    """sed_scores_eval's F1 = 2 TP / (2 TP + FP + FN) per threshold band (active: score > t):
      t < 0.1   ( 5 thr): TP 2 (B, C) FP 2 (A whole, B [0,2]) FN 1 -> 4/7
      0.1-0.4   (15 thr): TP 3 FP 1 FN 0                      -> 6/7
      0.4-0.6   (10 thr): TP 2 FP 1 FN 1                      -> 2/3  (at t = 0.5: 0.667)
      0.6-0.7   ( 5 thr): TP 1 FP 1 FN 2                      -> 2/5
      0.7-0.8   ( 5 thr): TP 1 FP 0 FN 2                      -> 1/2
      > 0.8     (10 thr): nothing                             -> 0
    """
    clips, scores = _hand_case()
    inputs = build_pair_inputs(clips, scores, grid=HAND_GRID)
    f1 = np.repeat([4 / 7, 6 / 7, 2 / 3, 2 / 5, 1 / 2, 0.0], [5, 15, 10, 5, 5, 10])
    curve = metrics.f1_curve_sed(inputs)
    np.testing.assert_allclose(curve["f1"], f1)
    # Trapezoids: 0.02 * (sum of all F1 - (first + last) / 2) / 0.98.
    expected = 0.02 * (f1.sum() - (f1[0] + f1[-1]) / 2) / 0.98
    assert metrics.th_auc_sed(inputs) == pytest.approx(expected)
    assert round(100 * expected, 1) == 54.3
    # sed_scores_eval's own single-threshold F1 agrees at 0.5.
    f, *_ = intersection_based.fscore(inputs.scores, inputs.ground_truth, 0.5,
                                      dtc_threshold=0.5, gtc_threshold=0.5)
    assert f[EVENT_CLASS] == pytest.approx(2 / 3)


def test_counts_match_sed_scores_eval_fscore(clips):
    """Reading the one-sweep counts at a threshold equals sed_scores_eval's ``fscore``."""
    rng = np.random.default_rng(1)
    scores = {k: np.clip(v * 0.6 + rng.random(v.shape) * 0.5, 0, 1)
              for k, v in oracle_scores(clips[:10]).items()}
    inputs = build_pair_inputs(clips[:10], scores, grid=DEFAULT_GRID)
    thr = [0.05, 0.31, 0.5, 0.73, 0.95]
    counts = metrics.counts_at_thresholds(inputs, thr)
    for t, tp, fp in zip(thr, counts["tps"], counts["fps"]):
        *_, stats = intersection_based.fscore(inputs.scores, inputs.ground_truth, t,
                                              dtc_threshold=0.5, gtc_threshold=0.5)
        assert (tp, fp) == (stats[EVENT_CLASS]["tps"], stats[EVENT_CLASS]["fps"]), t


def test_median_filter_equals_filtering_binary_masks(clips):
    """Th-AUC filters scores once; that must equal binarising, then filtering each mask."""
    from wstag.evaluation.segments import median_filter

    rng = np.random.default_rng(2)
    sub = clips[:8]
    scores = {k: np.clip(v * 0.5 + rng.random(v.shape) * 0.6, 0, 1)
              for k, v in oracle_scores(sub).items()}
    inputs = build_pair_inputs(sub, scores, grid=DEFAULT_GRID)
    thr = [0.21, 0.47, 0.69]
    filtered = metrics.counts_at_thresholds(inputs.map_scores(lambda s: median_filter(s, 5)), thr)
    for t, tp, fp in zip(thr, filtered["tps"], filtered["fps"]):
        masks = inputs.map_scores(lambda s: median_filter((s > t).astype(float), 5))
        ref = metrics.counts_at_thresholds(masks, [0.5])
        assert (tp, fp) == (ref["tps"][0], ref["fps"][0]), t


def test_short_subset_is_its_own_evaluation(clips):
    """psds_short with shared deltas equals evaluating the short pairs alone."""
    rng = np.random.default_rng(3)
    scores = {k: rng.random(v.shape) for k, v in oracle_scores(clips[:12]).items()}
    inputs = build_pair_inputs(clips[:12], scores, grid=DEFAULT_GRID)
    out = metrics.evaluate_inputs(inputs)
    alone = inputs.short()  # fresh sweep, no shared deltas
    assert out["psds_short"] == round(100 * metrics.psds(alone), 1)
    assert out["th_auc_short"] == round(100 * metrics.th_auc(alone), 1)
    assert out["th_auc_short_sed"] == round(100 * metrics.th_auc_sed(alone), 1)


def test_thresholds_are_the_papers_fifty():
    assert len(metrics.THRESHOLDS) == 50
    assert metrics.THRESHOLDS[0] == 0.01 and metrics.THRESHOLDS[-1] == 0.99
    np.testing.assert_allclose(np.diff(metrics.THRESHOLDS), 0.02)
