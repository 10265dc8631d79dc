"""Recordings or scenes: the corpora checked, the figures taken from the frame diagnosis and averaged
per recipe by hand-computed values, and (slow) the command on a tiny model."""

from __future__ import annotations

import json
import math

import pytest

from wstag.errors import ConfigError
from wstag.experiments.seen_recordings import (
    SETS, check_corpora, format_seen_recordings, model_figures, recipe_of, summarise,
)


def corpus(folder, **info):
    folder.mkdir(parents=True)
    (folder / "corpus.json").write_text(json.dumps({"preset": "small", "seed": 0, "bank_hash": "b1",
                                                    "content_hash": folder.name, **info}))
    return folder


def test_the_seen_corpus_must_be_the_same_build_from_the_training_recordings(tmp_path):
    data = corpus(tmp_path / "data")
    seen = corpus(tmp_path / "seen", recordings_from="train")
    assert check_corpora(data, seen)[1]["recordings_from"] == "train"
    with pytest.raises(ConfigError, match="not built with --recordings-from train"):
        check_corpora(data, data)
    other = corpus(tmp_path / "other", recordings_from="train", seed=1, bank_hash="b2")
    with pytest.raises(ConfigError, match="differs from .* in seed, bank_hash: build it with `wstag data build "
                                          "--preset small --seed 0 --recordings-from train`"):
        check_corpora(data, other)
    with pytest.raises(ConfigError, match="no corpus.json"):
        check_corpora(tmp_path / "none", seen)


def figures(psds, wrong, clip, within):
    return {"psds_whole": psds, "psds_whole_wrong_query": wrong, "clip": {"auc": clip}, "auc": {"within_mean": within}}


def test_figures_per_model_and_their_mean_and_sd_per_recipe():
    assert model_figures(figures(40.0, 15.0, 0.7, 0.8)) == {
        "psds_whole": 40.0, "specificity": 25.0, "clip_auc": 0.7, "within_auc": 0.8}
    assert recipe_of("learn_base-seed12") == "learn_base" and recipe_of("mine") == "mine"
    per_model = {
        "a-seed0": {k: model_figures(figures(40.0, 15.0, 0.7, 0.8)) for k, _ in SETS},
        "a-seed1": {k: model_figures(figures(44.0, 15.0, 0.8, math.nan)) for k, _ in SETS},
        "b-seed0": {k: model_figures(figures(30.0, 20.0, 0.6, 0.7)) for k, _ in SETS},
    }
    s = summarise(per_model)
    assert s["a"]["new_scenes"]["psds_whole"] == {"mean": 42.0, "sd": pytest.approx(math.sqrt(8)), "n": 2}
    assert s["a"]["training_clips"]["specificity"]["mean"] == pytest.approx(27.0)
    assert s["a"]["new_recordings"]["within_auc"] == {"mean": 0.8, "sd": 0.0, "n": 1}  # the NaN left out
    assert s["b"]["new_recordings"]["clip_auc"] == {"mean": 0.6, "sd": 0.0, "n": 1}
    text = format_seen_recordings({"data": "d", "seen": "s", "corpus_hash": "h1", "seen_corpus_hash": "h2",
                                   "sets": {k: {"n_pairs": 7} for k, _ in SETS}, "models": per_model, "recipes": s})
    assert "| a (2 seeds) | PSDS whole | 42.0 ± 2.8 | 42.0 ± 2.8 | 42.0 ± 2.8 |" in text
    assert "| b (1 seed) | specificity | 10.0 | 10.0 | 10.0 |" in text
    assert "| a-seed1 | 44.0 / 29.0 / 0.800 / nan |" in text


@pytest.mark.slow
def test_the_command_scores_the_three_sets(sound_bank, tiny_corpus, tmp_path):
    from typer.testing import CliRunner

    from tests.inference.tiny import make_model_dir
    from wstag.cli.main import app
    from wstag.scapes.build import build_corpus

    info = json.loads((tiny_corpus / "corpus.json").read_text())
    seen = build_corpus(sound_bank, "tiny", tmp_path / "seen", seed=info["seed"], recordings_from="train").path
    model = make_model_dir(tmp_path / "tiny-seed0")
    out = tmp_path / "study" / "seen"
    res = CliRunner().invoke(app, ["experiments", "seen-recordings", str(model), "--data", str(tiny_corpus),
                                   "--seen", str(seen), "--out", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.with_suffix(".json").read_text())
    assert d["sets"]["training_clips"]["split"] == "train" and d["sets"]["new_scenes"]["folder"] == str(seen)
    assert set(d["models"]["tiny-seed0"]) == {k for k, _ in SETS}
    assert all(0.0 <= d["models"]["tiny-seed0"][k]["clip_auc"] <= 1.0 for k, _ in SETS)
    assert "| tiny (1 seed) | PSDS whole |" in out.with_suffix(".md").read_text()
