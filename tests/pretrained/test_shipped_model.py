"""The shipped model: loadable by name, its card consistent with it and with the README,
and (slow) its test figures reproduced by `wstag evaluate default` on a rebuilt corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.inference.tiny import write_clip
from wstag.cli.main import app
from wstag.evaluation.metrics import TH_AUC_CONVENTION
from wstag.experiments.evaluate import METRIC_KEYS
from wstag.experiments.ship import MODEL_FILES, readme_markers, render_readme_block
from wstag.models.checkpoint import load_model
from wstag.shipped import CARD_JSON, CARD_MD, DEFAULT_MODEL, PRETRAINED_DIR, shipped_models

README = Path(__file__).resolve().parents[2] / "README.md"
FOLDER = PRETRAINED_DIR / DEFAULT_MODEL
runner = CliRunner()


def test_default_ships_as_a_small_safetensors_folder_with_its_card():
    assert DEFAULT_MODEL in shipped_models()
    names = {p.name for p in FOLDER.iterdir()}
    assert names == {*MODEL_FILES, CARD_JSON, CARD_MD}
    assert sum((FOLDER / f).stat().st_size for f in names) < 5 * 2**20  # a few MB at most


def test_the_card_describes_the_folder(default_card):
    model, vocab, config = load_model(FOLDER)
    assert default_card["name"] == DEFAULT_MODEL
    assert default_card["training"]["corpus_hash"] == config["corpus_hash"]
    assert default_card["training"]["epochs"] == config["epochs"]
    assert default_card["model"]["parameters"] == sum(p.numel() for p in model.state_dict().values())
    if model.open_vocabulary:
        assert default_card["known_words"] is None
    else:
        assert set(default_card["known_words"]) == {w for w in vocab.words if any(c.isalnum() for c in w)}
    assert set(default_card["evaluation"]["metrics"]) == set(METRIC_KEYS)
    assert default_card["evaluation"]["th_auc_convention"] == TH_AUC_CONVENTION
    card_md = (FOLDER / CARD_MD).read_text(encoding="utf-8")
    assert f"| PSDS whole | {default_card['evaluation']['metrics']['psds_whole']:.1f} |" in card_md


def test_the_readme_shows_the_card(default_card):
    begin, end = readme_markers(DEFAULT_MODEL)
    text = README.read_text(encoding="utf-8")
    block = text[text.index(begin) + len(begin): text.index(end)]
    assert block == "\n" + render_readme_block(default_card)


def test_default_grounds_by_name_from_python_and_the_cli(tmp_path, monkeypatch):
    from wstag import Grounder

    monkeypatch.chdir(tmp_path)  # no folder named "default" here: the shipped one is used
    clip = write_clip(tmp_path / "clip.wav")
    grounder = Grounder.load(DEFAULT_MODEL, device="cpu")
    assert grounder.model_dir == FOLDER
    scores = grounder.scores(clip, ["a dog barks"])
    assert scores.probabilities.shape == (125, 1)
    res = runner.invoke(app, ["ground", DEFAULT_MODEL, str(clip), "a dog barks", "--threshold", "0"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("onset\toffset\tphrase\n0.000\t5.000\ta dog barks\n"), res.output


@pytest.mark.slow  # builds the `small` corpus (once per session) and evaluates 400 clips: minutes on 2 cores
def test_wstag_evaluate_default_reproduces_the_card(default_card, card_corpus):
    corpus_hash = json.loads((card_corpus / "corpus.json").read_text())["content_hash"]
    assert corpus_hash == default_card["evaluation"]["corpus_hash"]  # the same corpus, or the figures mean nothing
    res = runner.invoke(app, ["evaluate", DEFAULT_MODEL, "--data", str(card_corpus),
                              "--split", default_card["evaluation"]["split"]])
    assert res.exit_code == 0, res.output
    printed = {m.group(1): float(m.group(2))
               for m in re.finditer(r"^(\w+)\s+(-?\d+\.\d)$", res.output, flags=re.M)}
    for key in METRIC_KEYS:
        assert printed[key] == pytest.approx(default_card["evaluation"]["metrics"][key], abs=0.05 + 1e-9), key
    assert not (FOLDER / "metrics.json").exists()  # evaluating a shipped model writes nothing into the package
