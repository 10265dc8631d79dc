"""PSDS and Th-AUC for text-to-audio grounding (paper V-D, SPEC 3).

Two Th-AUC conventions:

- ``th_auc`` (keys ``th_auc_whole``, ``th_auc_short``): the one the paper's figures
  were computed with (``detection_f1``): detections of a pair at most 13 frames apart
  joined, precision counted on detections, area under F1(threshold) divided by 1.0.
- ``th_auc_sed`` (keys ``th_auc_whole_sed``, ``th_auc_short_sed``): sed_scores_eval's
  intersection-based F-score (true positives counted on reference events, no joining),
  area divided by the threshold span 0.98. On the paper's model scores it reads
  0.8-1.3 points higher (SPEC 3); on fragmented, noisy scores it can read lower,
  since joining removes most of the false detections that fragments make.

PSDS and ``th_auc_sed`` count with sed_scores_eval: its "deltas" (per pair, the change
in true and false positive counts at every score where detections change) are computed
once per score set and reused on the whole set and on the short-duration subset, so 50
thresholds cost one sweep, not 50.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
from sed_scores_eval import intersection_based
from sed_scores_eval.base_modules.precision_recall import fscore_from_precision_recall

from wstag.audio.frames import FrameGrid
from wstag.evaluation import detection_f1
from wstag.records import Clip
# Re-exported, defined beside the paper's Th-AUC: DTC = GTC = 0.5, the intersection
# criteria (half of a detection on reference, half of a reference covered, V-D), and
# THRESHOLDS, the 50 Th-AUC thresholds 0.01, 0.03, ..., 0.99.
from wstag.evaluation.detection_f1 import DTC, GTC, THRESHOLDS
from wstag.evaluation.pairs import EVENT_CLASS, PairInputs, build_pair_inputs
from wstag.evaluation.segments import median_filter

#: eFPR range of the PSD-ROC, per hour: 800, not SED's 100, because the false
#: positives of all phrases are summed (V-D).
MAX_EFPR = 800.0
#: What ``th_auc_whole`` / ``th_auc_short`` mean; ``evaluate`` reports it in metrics.json.
TH_AUC_CONVENTION = detection_f1.CONVENTION

Deltas = dict[str, Any]


def deltas(inputs: PairInputs) -> Deltas:
    """sed_scores_eval's per-pair intersection-count deltas over all thresholds."""
    return intersection_based.intermediate_statistics_deltas(
        inputs.scores, inputs.ground_truth, dtc_threshold=DTC, gtc_threshold=GTC,
        cttc_threshold=None,
    )


def _subset_deltas(d: Deltas | None, inputs: PairInputs) -> Deltas | None:
    return None if d is None else {k: d[k] for k in inputs.ids}


def psds(inputs: PairInputs, *, pair_deltas: Deltas | None = None) -> float:
    """Intersection-based PSDS in [0, 1]: dtc = gtc = 0.5, no cross-triggers, eFPR <= 800/h.

    ``pair_deltas`` (from ``deltas``, possibly of a superset of the pairs) skips the
    sweep over scores.
    """
    value, *_ = intersection_based.psds(
        None if pair_deltas is not None else inputs.scores,
        inputs.ground_truth,
        inputs.audio_durations,
        deltas=_subset_deltas(pair_deltas, inputs),
        dtc_threshold=DTC, gtc_threshold=GTC, cttc_threshold=None,
        alpha_ct=0.0, alpha_st=0.0, unit_of_time="hour", max_efpr=MAX_EFPR,
    )
    return float(value)


def psd_roc(inputs: PairInputs, *, pair_deltas: Deltas | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The PSD-ROC operating points (TPR, eFPR per hour) behind ``psds``."""
    (tpr, efpr), _ = intersection_based.psd_roc(
        None if pair_deltas is not None else inputs.scores,
        inputs.ground_truth,
        inputs.audio_durations,
        deltas=_subset_deltas(pair_deltas, inputs),
        dtc_threshold=DTC, gtc_threshold=GTC, cttc_threshold=None,
        alpha_ct=0.0, alpha_st=0.0, unit_of_time="hour", max_efpr=MAX_EFPR,
    )
    return tpr, efpr


def counts_at_thresholds(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    pair_deltas: Deltas | None = None,
) -> dict[str, np.ndarray | int]:
    """Pooled intersection-based ``tps`` and ``fps`` at each threshold, and ``n_ref``.

    sed_scores_eval accumulates the counts at every score where they change
    (``cp``, ascending, ending in inf); a threshold t (frames active when score > t)
    takes the counts of the first change point above t, exactly as its ``fscore``
    does for one threshold (``get_curve_idx_for_threshold``).
    """
    thr = np.asarray(list(thresholds), dtype=np.float64)
    stats, _ = intersection_based.accumulated_intermediate_statistics(
        None if pair_deltas is not None else inputs.scores,
        inputs.ground_truth,
        deltas=_subset_deltas(pair_deltas, inputs),
        dtc_threshold=DTC, gtc_threshold=GTC, cttc_threshold=None,
    )
    cp, counts = stats[EVENT_CLASS]
    idx = np.searchsorted(cp, thr, side="right")
    return {
        "thresholds": thr,
        "tps": counts["tps"][idx].astype(np.int64),
        "fps": counts["fps"][idx].astype(np.int64),
        "n_ref": int(counts["n_ref"]),
    }


def f1_curve_sed(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    pair_deltas: Deltas | None = None,
) -> dict[str, np.ndarray]:
    """sed_scores_eval's intersection-based micro F1, precision and recall per threshold.

    True positives are reference events (``counts_at_thresholds``), pooled over all
    pairs. Precision is 1 where nothing is detected (sed_scores_eval's convention), so
    F1 is 0 there, not undefined. ``f1_curve`` is the paper's detection-counted one.
    """
    c = counts_at_thresholds(inputs, thresholds, pair_deltas=pair_deltas)
    tps, fps, n_ref = c["tps"], c["fps"], c["n_ref"]
    n_det = tps + fps
    precision = np.where(n_det > 0, tps / np.maximum(n_det, 1), 1.0)
    recall = tps / max(n_ref, 1)
    f1 = fscore_from_precision_recall(precision, recall)
    return {"thresholds": c["thresholds"], "f1": f1, "precision": precision, "recall": recall,
            "tps": tps, "fps": fps}


#: The paper's detection-counted F1 curve (``detection_f1``): joined detections,
#: precision = true-positive detections / detections.
f1_curve = detection_f1.f1_curve


def th_auc(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    median_window: int = 1,
) -> float:
    """The paper's Th-AUC in [0, 0.98], computed as the authors' evaluation did (SPEC 3).

    Detections of a pair at most ``detection_f1.JOIN_GAP_FRAMES`` (13) frames apart are
    joined; precision counts true-positive *detections* (those with >= 50 % of their
    duration on references that are themselves >= 50 % covered), recall the references
    covered by them; F1 pooled over pairs at each threshold; trapezoidal area divided
    by 1.0, the 0-1 threshold range. ``median_window`` (odd, in frames) filters the
    scores before thresholding. ``th_auc_sed`` is sed_scores_eval's variant.
    """
    return detection_f1.th_auc(inputs, thresholds, median_window=median_window)


def th_auc_sed(
    inputs: PairInputs,
    thresholds: Iterable[float] = THRESHOLDS,
    *,
    median_window: int = 1,
    pair_deltas: Deltas | None = None,
) -> float:
    """sed_scores_eval's Th-AUC in [0, 1]: area under ``f1_curve_sed`` / threshold span (0.98).

    Intersection-based counts, true positives on reference events, no joining of
    detections; the paper's figures use ``th_auc`` instead.
    ``median_window`` (odd, in frames) filters the scores before thresholding, which
    equals filtering each binarised mask (see ``segments``). ``pair_deltas`` must
    then come from the filtered scores.
    """
    if median_window != 1:
        inputs = inputs.map_scores(lambda s: median_filter(s, median_window))
    curve = f1_curve_sed(inputs, thresholds, pair_deltas=pair_deltas)
    thr, f1 = curve["thresholds"], curve["f1"]
    if len(thr) < 2 or not np.all(np.diff(thr) > 0):
        raise ValueError(f"Th-AUC needs at least two increasing thresholds, got {thr}")
    return float(np.trapezoid(f1, thr) / (thr[-1] - thr[0]))


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def evaluate_inputs(inputs: PairInputs, *, median_window: int = 1) -> dict[str, float | int | str]:
    """The four Table II figures (percent, one decimal), the sed_scores_eval Th-AUC, pair counts.

    ``th_auc_*`` follow the paper's convention (``th_auc``), ``th_auc_*_sed``
    sed_scores_eval's (``th_auc_sed``); ``th_auc_convention`` names the former.
    """
    d = deltas(inputs)
    th_inputs, d_th = inputs, d
    if median_window != 1:
        th_inputs = inputs.map_scores(lambda s: median_filter(s, median_window))
        d_th = deltas(th_inputs)
    short, th_short = inputs.short(), th_inputs.short()
    counts = detection_f1.pair_counts(th_inputs)  # once; the short subset sums its columns

    def authors_auc(c: detection_f1.PairCounts) -> float:
        curve = detection_f1.f1_from_counts(c)
        return detection_f1.auc_from_curve(curve["thresholds"], curve["f1"])

    out: dict[str, float | int | str] = {
        "psds_whole": _pct(psds(inputs, pair_deltas=d)),
        "th_auc_whole": _pct(authors_auc(counts)),
        "psds_short": math.nan,
        "th_auc_short": math.nan,
        "th_auc_whole_sed": _pct(th_auc_sed(th_inputs, pair_deltas=d_th)),
        "th_auc_short_sed": math.nan,
        "n_pairs_whole": len(inputs),
        "n_pairs_short": len(short),
        "th_auc_convention": TH_AUC_CONVENTION,
    }
    if len(short):  # NaN, not an error, when a set has no short phrase
        out["psds_short"] = _pct(psds(short, pair_deltas=d))
        out["th_auc_short"] = _pct(authors_auc(counts.subset(th_short.ids)))
        out["th_auc_short_sed"] = _pct(th_auc_sed(th_short, pair_deltas=d_th))
    return out


def evaluate(
    clips: Iterable[Clip],
    scores: Mapping[str, np.ndarray],
    *,
    grid: FrameGrid,
    median_window: int = 1,
) -> dict[str, float | int | str]:
    """PSDS and Th-AUC on the whole test set and its short-duration subset.

    ``scores[pair_id(audio_id, i)]`` is the (T,) frame probability of phrase i of each
    strong-labelled clip on ``grid``. Returns ``psds_whole, th_auc_whole, psds_short,
    th_auc_short`` as percentages with one decimal (Table II; Th-AUC in the paper's
    convention, named by ``th_auc_convention``), ``th_auc_whole_sed`` and
    ``th_auc_short_sed`` (sed_scores_eval's Th-AUC), ``n_pairs_whole``,
    ``n_pairs_short``, and ``n_pairs_skipped`` (phrases without annotated segments).
    """
    clips = list(clips)
    inputs = build_pair_inputs(clips, scores, grid=grid)
    out = evaluate_inputs(inputs, median_window=median_window)
    out["n_pairs_skipped"] = sum(len(c.phrases) for c in clips) - len(inputs)
    return out
