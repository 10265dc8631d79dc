"""Per-class and per-loudness grounding (issue 24): the pieces checked by hand."""

import math

import numpy as np

from wstag.experiments.per_class import event_to_rest_db, ratio_bin, summarise


def test_event_to_rest_ratio_by_hand():
    feats = np.zeros((8, 4))  # 8 feature frames, 2 output frames of 4
    feats[4:] = 6.0  # the second output frame is 6 dB louder in every band
    assert event_to_rest_db(feats, np.array([False, True]), 4) == 6.0
    assert event_to_rest_db(feats, np.array([True, False]), 4) == -6.0
    assert math.isnan(event_to_rest_db(feats, np.array([True, True]), 4))  # a whole-clip event has no rest


def test_summaries_by_hand():
    rows = [{"class": "dog", "within_auc": 0.8, "clip_right": 0.9, "clip_wrong": 0.1, "ratio_db": 12.0},
            {"class": "dog", "within_auc": 0.6, "clip_right": 0.2, "clip_wrong": 0.3, "ratio_db": 2.0},
            {"class": "rain", "within_auc": math.nan, "clip_right": 0.1, "clip_wrong": 0.5, "ratio_db": math.nan}]
    by_class = summarise(rows, lambda r: r["class"])
    # dog: within mean 0.7; clip AUC of {0.9, 0.2} against {0.1, 0.3}: 3 of 4 couples ordered -> 0.75
    assert by_class["dog"]["within_auc"] == 0.7 and by_class["dog"]["clip_auc"] == 0.75
    assert by_class["rain"]["clip_auc"] == 0.0 and math.isnan(by_class["rain"]["within_auc"])
    assert [ratio_bin(r) for r in rows] == ["> 10 dB", "0-5 dB", "whole clip"]
