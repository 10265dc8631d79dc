"""Per-class and per-loudness grounding (issue 24): the pieces checked by hand."""

import json
import math

import numpy as np

from wstag.experiments.per_class import duration_bin, event_to_rest_db, format_study, ratio_bin, summarise


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


def test_duration_bins_and_their_table():
    rows = [{"class": "dog", "within_auc": 0.8, "clip_right": 0.9, "clip_wrong": 0.1, "ratio_db": 12.0, "short": True},
            {"class": "dog", "within_auc": 0.6, "clip_right": 0.2, "clip_wrong": 0.3, "ratio_db": 2.0, "short": False}]
    assert [duration_bin(r) for r in rows] == ["short (under half the clip)", "long"]
    study = {"m": {"classes": summarise(rows, lambda r: r["class"]), "loudness": summarise(rows, ratio_bin),
                   "duration": summarise(rows, duration_bin)}}
    text = format_study(study)
    assert "| short (under half the clip) | 1 | 0.800 | 1.000 | 0.900 |" in text and "| long | 1 | 0.600 | 0.000 | 0.200 |" in text


def test_the_report_section_says_what_is_missed(tmp_path):
    from wstag.experiments.report import per_class_section

    assert per_class_section(tmp_path) == ""  # no study: no section
    rows = [{"class": "dog", "within_auc": 0.8, "clip_right": 0.9, "clip_wrong": 0.1, "ratio_db": 12.0, "short": True},
            {"class": "rain", "within_auc": 0.4, "clip_right": 0.2, "clip_wrong": 0.3, "ratio_db": -2.0, "short": False}]
    study = {"m-seed0": {"classes": summarise(rows, lambda r: r["class"]), "loudness": summarise(rows, ratio_bin),
                         "duration": summarise(rows, duration_bin)}}
    (tmp_path / "per-class.json").write_text(json.dumps(study))
    text = per_class_section(tmp_path)
    assert text.startswith("## Per sound class, per loudness and per duration")
    assert ("m-seed0: 1 of 2 classes localised below a within AUC of 0.6 (rain 0.40); within AUC 0.40 for events "
            "quieter than the rest of the clip (< 0 dB) against 0.80 above 10 dB; 0.80 for short events against "
            "0.40 for long ones.") in text
    assert "### m-seed0: per class, worst localised first" in text and "| rain | 1 | 0.400 |" in text
    # with the recording-shift study beside it, the section says why those classes
    corr = {f"{m}~{g}": {"rho": -0.6, "p": 0.0001, "classes": 47} for m in ("rank", "margin")
            for g in ("clip_auc", "within_auc")}
    (tmp_path / "recording-shift.json").write_text(json.dumps({"models": {"m-seed0": {"correlations": corr}}}))
    text = per_class_section(tmp_path)
    assert "([recording-shift.md](recording-shift.md), level-free log-mel statistics)" in text
    assert ("- m-seed0: the further a class's test recordings sound from its training recordings (their rank "
            "among the training centroids, no model), the worse it is grounded: clip AUC rho -0.60 (p < 0.001, "
            "47 classes), within AUC rho -0.60 (p < 0.001, 47 classes)") in text
