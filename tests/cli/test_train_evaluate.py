"""End to end on the tiny corpus: `wstag train` (1 epoch) then `wstag evaluate`."""

import json

import pytest
from typer.testing import CliRunner

from wstag.cli.main import app
from wstag.scapes.build import build_corpus

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_train_then_evaluate_writes_a_loadable_model_and_metrics(sound_bank, tmp_path):
    corpus = build_corpus(sound_bank, "tiny", tmp_path / "tiny", seed=1).path
    res = runner.invoke(app, ["train", "configs/phrase_random_cpu.yaml", "--data", str(corpus),
                              "--out", str(tmp_path / "run"), "--max-epochs", "1"])
    assert res.exit_code == 0, res.output
    model_dir = tmp_path / "run" / "model"
    assert {p.name for p in model_dir.iterdir()} >= {"model.safetensors", "config.json", "vocab.json"}
    res = runner.invoke(app, ["evaluate", str(model_dir), "--data", str(corpus)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((model_dir / "metrics.json").read_text())
    for key in ("psds_whole", "th_auc_whole", "psds_short", "th_auc_short",
                "psds_whole_wrong_query", "specificity", "psds_whole_loudness"):
        assert 0.0 <= metrics[key] <= 100.0 or key == "specificity"
    assert metrics["specificity"] == pytest.approx(metrics["psds_whole"] - metrics["psds_whole_wrong_query"], abs=0.11)


def test_train_rejects_a_bad_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  regime: phrase_level\n  batch_sise: 8\n")
    res = runner.invoke(app, ["train", str(bad), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown keys in 'training'" in res.output and "batch_sise" in res.output
