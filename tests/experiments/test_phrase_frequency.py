"""Phrase repetition and the per-frequency study (Table V's diagnosis): pieces checked by hand."""

import math

import pytest

from wstag.errors import ConfigError
from wstag.experiments.phrase_frequency import (
    format_phrase_frequency, frequency_bin, paired_difference, pair_train_counts, phrase_counts, repetition,
)
from wstag.records import Clip, Phrase, Segment
from wstag.text.tokenize import tokenize


def clip(name: str, *phrases: str, strong: bool = False) -> Clip:
    tokens, spans = [], []
    for p in phrases:
        words = tokenize(p)
        spans.append((p, len(tokens), len(tokens) + len(words) - 1))
        tokens += [*words, "and"]
    segs = (Segment(1.0, 2.0),) if strong else None
    return Clip(name, " ".join(tokens[:-1]), tuple(tokens[:-1]),
                tuple(Phrase(p, s, e, segs) for p, s, e in spans), duration=10.0)


def test_repetition_by_hand():
    train = [clip("a", "A dog barks", "rain falls"), clip("b", "a dog barks"), clip("c", "a dog barks.")]
    test = [clip("t", "a dog barks", "a cat meows", strong=True)]
    r = repetition(train, test)
    # "a dog barks" 3 times (case and full stop do not split it), "rain falls" once: 4 occurrences, 2 distinct
    assert phrase_counts(train) == {"a dog barks": 3, "rain falls": 1}
    assert (r["train_occurrences"], r["train_distinct"], r["occurrences_per_distinct"]) == (4, 2, 2.0)
    assert r["singleton_share"] == 0.5 and r["mean_words"] == 2.5
    assert r["test_unseen_share"] == 0.5  # "a cat meows" never trained
    counts = pair_train_counts(test, phrase_counts(train))
    assert sorted(counts.values()) == [0, 3]
    assert [frequency_bin(n) for n in (0, 1, 4, 5, 19, 20, 300)] == ["unseen", "1-4", "1-4", "5-19", "5-19",
                                                                     "20+", "20+"]


def test_repetition_refuses_labels_without_phrases():
    with pytest.raises(ConfigError, match="phrases in both"):
        repetition([], [clip("t", "a dog barks", strong=True)])


def test_paired_difference_by_hand():
    d = paired_difference([0.5, 0.6, math.nan, 0.7], [0.6, 0.8, 0.9, 0.7])
    # differences 0.1, 0.2, 0.0 (the nan pair left out): mean 0.1, sd 0.1, t(0.975, 2) = 4.303
    assert d["n"] == 3 and d["mean"] == pytest.approx(0.1)
    assert d["half_width"] == pytest.approx(4.3027 * 0.1 / math.sqrt(3), rel=1e-3)
    assert math.isnan(paired_difference([0.5], [0.6])["half_width"])


def test_audiogrounding_v1_phrases_repeat_little(audiogrounding_v1_dir):
    """The real labels: most distinct training phrases are used once (what QGCA must learn from)."""
    from wstag.data.audiogrounding import read_v1

    r = repetition(read_v1(audiogrounding_v1_dir / "train.json"), read_v1(audiogrounding_v1_dir / "val.json"))
    assert r["singleton_share"] > 0.6 and r["occurrences_per_distinct"] < 4 and r["test_unseen_share"] > 0.2


def test_the_table_names_bins_and_differences():
    study = {"repetition": {"corpus": {"train_occurrences": 4, "train_distinct": 2, "occurrences_per_distinct": 2.0,
                                       "singleton_share": 0.5, "mean_words": 2.5, "test_occurrences": 2,
                                       "test_unseen_share": 0.5}},
             "models": {"m": {"unseen": {"pairs": 1, "within_auc": 0.6, "clip_auc": 1.0, "clip_right": 0.9}}},
             "paired_within_auc": {"q - m": {"unseen": {"n": 3, "mean": 0.1, "half_width": 0.25}}}}
    text = format_phrase_frequency(study)
    assert "| corpus | 4 | 2 | 2.0 | 50 % | 2.50 | 50 % |" in text
    assert "| m | 0.600 / 1.000 | - | - | - |" in text and "unseen (1)" in text
    assert "0.100 ± 0.250 (n 3)" in text


def test_the_command_refuses_a_folder_without_labels_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from wstag.cli.main import app

    res = CliRunner().invoke(app, ["experiments", "phrase-frequency", str(tmp_path / "model"), "--data",
                                   str(tmp_path), "--out", str(tmp_path / "pf")])
    assert res.exit_code == 2, res.output
    assert "weak.json" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "pf.json").exists()
