"""The recording-shift study: descriptors, ranks among training centroids, correlations, bad input."""

import json
import math

import numpy as np
import pytest

from wstag.errors import ConfigError
from wstag.experiments.recording_shift import (
    class_shift, correlations, describe, format_recording_shift, read_per_class, recording_shift_study,
)
from wstag.scapes.bank import SAMPLE_RATE, Recording


def rec(name: str, cls: str, split: str) -> Recording:
    return Recording(name, cls, name, split, name, "pkg", "GPL", "x", SAMPLE_RATE, 1, 1.0, 0.0, 1.0, -20.0, None, name)


def test_the_descriptor_ignores_the_level_but_not_the_spectrum():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=SAMPLE_RATE).astype(np.float32) * 0.1
    tone = np.sin(2 * np.pi * 1000 * np.arange(SAMPLE_RATE) / SAMPLE_RATE).astype(np.float32) * 0.1
    assert describe(noise).shape == (128,)
    np.testing.assert_allclose(describe(noise * 4), describe(noise), atol=1e-3)  # +12 dB: the same take
    assert np.abs(describe(tone) - describe(noise)).max() > 5


def test_ranks_and_margins_against_the_training_centroids():
    # two classes; a's training centroid (1, 0), b's (0, 1). Test a1 lies at (1, 1)/sqrt2 + a bit of b:
    # b's centroid is nearer (rank 1); test b1 sits on b's centroid (rank 0, margin 1)
    recs = [rec("a0", "a", "train"), rec("b0", "b", "train"), rec("a1", "a", "test"), rec("b1", "b", "test")]
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 2.0]])
    shift = class_shift(recs, x)
    assert shift["a"] == {"test_recordings": 1, "rank": 1.0, "margin": pytest.approx(0.6 - 0.8), "nearest_share": 0.0}
    assert shift["b"] == {"test_recordings": 1, "rank": 0.0, "margin": pytest.approx(1.0), "nearest_share": 1.0}


def test_correlations_over_the_classes_a_model_has():
    shift = {c: {"rank": r, "margin": -r} for c, r in zip("abcd", [0.0, 1.0, 2.0, 3.0])}
    grounding = {"a": {"clip_auc": 0.9, "within_auc": 0.9}, "b": {"clip_auc": 0.8, "within_auc": math.nan},
                 "c": {"clip_auc": 0.7, "within_auc": 0.5}, "d": {"clip_auc": 0.6, "within_auc": 0.4}}
    out = correlations(shift, grounding)
    assert out["rank~clip_auc"]["rho"] == -1.0 and out["margin~clip_auc"]["rho"] == 1.0
    assert out["rank~within_auc"] == {"rho": -1.0, "p": pytest.approx(0.0, abs=1e-6), "classes": 3}  # b has no within AUC
    for c, n in zip("abcd", [30, 30, 2, 30]):  # c rests on 2 test pairs: left out at min_pairs 10
        grounding[c]["pairs"] = n
    assert correlations(shift, grounding, min_pairs=10)["rank~clip_auc"]["classes"] == 3


def test_several_per_class_files_are_told_apart_and_bad_ones_refused(tmp_path):
    for stem in ("test", "seen"):
        (tmp_path / f"{stem}.json").write_text(json.dumps({"m": {"classes": {"a": {"clip_auc": 0.5}}}}))
    assert list(read_per_class([tmp_path / "test.json"])) == ["m"]
    assert list(read_per_class([tmp_path / "test.json", tmp_path / "seen.json"])) == ["m, test", "m, seen"]
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"bad\.json: not the JSON of `wstag experiments per-class`"):
        read_per_class([tmp_path / "bad.json"])


def test_a_folder_that_is_not_a_built_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "corpus.json").write_text(json.dumps({"content_hash": "x"}))
    with pytest.raises(ConfigError, match="not a corpus from `wstag data build`"):
        recording_shift_study(tmp_path / "c", [tmp_path / "p.json"])


def test_the_report_names_its_inputs_and_tables_each_model():
    study = {"data": "D", "corpus_hash": "h", "bank_hash": "b", "per_class_files": ["p.json"], "nearest_share": 0.1,
             "chance_share": 0.5, "classes": {"a": {"test_recordings": 2, "rank": 1.0, "margin": -0.2,
                                                   "nearest_share": 0.0}},
             "models": {"m": {"correlations": {"rank~clip_auc": {"rho": -0.5, "p": 0.01, "classes": 40}},
                              "grounding": {"a": {"clip_auc": 0.4, "within_auc": math.nan}}}}}
    text = format_recording_shift(study)
    assert "Test recordings whose own class is the nearest, averaged over classes: 10.0 % (chance 50.0 %)." in text
    assert "| all | rank | clip_auc | -0.50 | 0.010 | 40 |" in text and "| a | 2 | 1.0 | -0.200 | 0.400 | - |" in text
