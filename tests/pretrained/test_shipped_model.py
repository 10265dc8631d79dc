"""The shipped models (`default`, `minilm`, ...): each loadable by name, its card consistent with
its folder and with the README, and (slow) its test figures reproduced by `wstag evaluate NAME`
on a rebuilt corpus, an open-vocabulary model's unseen-wording figures too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.inference.tiny import write_clip
from wstag.cli.main import app
from wstag.evaluation.metrics import TH_AUC_CONVENTION
from wstag.experiments.ship import MODEL_FILES, evaluations, read_card, readme_markers, render_card_md, render_readme_block
from wstag.inference.evaluate import METRIC_KEYS
from wstag.inference.wording_metrics import WORDING_KEYS
from wstag.models.checkpoint import load_model
from wstag.shipped import CARD_JSON, CARD_MD, DEFAULT_MODEL, PRETRAINED_DIR, shipped_models

README = Path(__file__).resolve().parents[2] / "README.md"
SHIPPED = shipped_models()
runner = CliRunner()


def card_of(name: str) -> dict:
    return read_card(PRETRAINED_DIR / name)


def open_vocabulary(card: dict) -> bool:
    return card["known_words"] is None


def test_default_and_minilm_ship():
    assert DEFAULT_MODEL in SHIPPED and "minilm" in SHIPPED
    assert card_of(DEFAULT_MODEL)["model"]["text_encoder"] == "word"
    assert card_of("minilm")["model"]["text_encoder"] == "minilm"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_ships_as_a_small_safetensors_folder_with_its_card(name):
    folder = PRETRAINED_DIR / name
    names = {p.name for p in folder.iterdir()}
    assert names == {*MODEL_FILES, CARD_JSON, CARD_MD}
    assert sum((folder / f).stat().st_size for f in names) < 5 * 2**20  # a few MB at most


@pytest.mark.parametrize("name", SHIPPED)
def test_the_card_describes_the_folder(name):
    card, folder = card_of(name), PRETRAINED_DIR / name
    model, vocab, config = load_model(folder)
    assert card["name"] == name
    assert card["training"]["corpus_hash"] == config["corpus_hash"]
    assert card["training"]["epochs"] == config["epochs"]
    if "config_hash" in config:  # `default`'s folder predates recording it
        assert card["training"]["config_hash"] == config["config_hash"]
    assert card["model"]["parameters"] == sum(p.numel() for p in model.state_dict().values())
    assert open_vocabulary(card) == model.open_vocabulary
    if not model.open_vocabulary:
        assert set(card["known_words"]) == {w for w in vocab.words if any(c.isalnum() for c in w)}
    card_md = (folder / CARD_MD).read_text(encoding="utf-8")
    assert card_md == render_card_md(card)
    for ev in evaluations(card):
        # An open-vocabulary model's card also holds its unseen-wording figures; a word model's does not.
        assert set(ev["metrics"]) == set(METRIC_KEYS) | (set(WORDING_KEYS) if model.open_vocabulary else set())
        assert ev["command"] == f"wstag evaluate {name} --data DIR --split {ev['split']}" + (
            " --wordings" if model.open_vocabulary else "")
        assert ev["th_auc_convention"] == TH_AUC_CONVENTION
        if model.open_vocabulary:
            assert ev["unseen_wording_pairs"] == ev["n_pairs_whole"] and ev["unseen_wording_refused_pairs"] == 0
            m = ev["metrics"]
            assert (f"PSDS whole {m['psds_whole_unseen_wording']:.1f} against {m['psds_whole_seen_wording']:.1f} "
                    f"with the seen wording ({m['unseen_to_seen_percent']:.1f} %)") in card_md
            assert f"0 of {ev['unseen_wording_pairs']} pairs refused" in card_md
    row = "| PSDS whole | " + " | ".join(f"{ev['metrics']['psds_whole']:.1f}" for ev in evaluations(card)) + " |"
    assert row in card_md


@pytest.mark.parametrize("name", SHIPPED)
def test_the_card_lists_the_sounds_of_its_training_corpus(name):
    """A card measured on its training corpus lists the classes its captions named, each a class of
    that preset's table with its AudioSet place, most named first."""
    from wstag.scapes.build import preset_table
    from wstag.scapes.classtable import load_class_table

    card = card_of(name)
    if card.get("sounds") is None:
        pytest.skip(f"{name} was shipped before cards listed sounds")
    assert card["training"]["corpus_hash"] in {ev["corpus_hash"] for ev in evaluations(card)}
    table = {c.name: c for c in load_class_table(name=preset_table(card["training"]["corpus_preset"])).classes}
    sounds = card["sounds"]
    assert {s["name"] for s in sounds} <= set(table) and len(sounds) >= 40
    assert [s["training_clips"] for s in sounds] == sorted((s["training_clips"] for s in sounds), reverse=True)
    for s in sounds:
        assert s["audioset_id"] == table[s["name"]].audioset.id
        assert s["wordings"] and sum(n for _, n in s["wordings"]) >= s["training_clips"]
    res = runner.invoke(app, ["model", "sounds", name, "--wordings", "0"])
    assert res.exit_code == 0 and f"{len(sounds)} of {len(sounds)} sound classes" in res.output


@pytest.mark.parametrize("name", SHIPPED)
def test_the_readme_shows_the_card(name):
    begin, end = readme_markers(name)
    text = README.read_text(encoding="utf-8")
    assert begin in text and end in text, f"README.md has no block for the shipped model {name}"
    block = text[text.index(begin) + len(begin): text.index(end)]
    assert block == "\n" + render_readme_block(card_of(name))


@pytest.mark.parametrize("name", SHIPPED)
def test_each_grounds_by_name_from_python_and_the_cli(name, tmp_path, monkeypatch):
    from wstag import Grounder

    monkeypatch.chdir(tmp_path)  # no folder of that name here: the shipped one is used
    clip = write_clip(tmp_path / "clip.wav")
    # An open-vocabulary model also answers words no caption used; a word model refuses them.
    phrases = ["a dog barks", *(["a canine yelps"] if open_vocabulary(card_of(name)) else [])]
    grounder = Grounder.load(name, device="cpu")
    assert grounder.model_dir == PRETRAINED_DIR / name
    scores = grounder.scores(clip, phrases)
    assert scores.probabilities.shape == (125, len(phrases))
    res = runner.invoke(app, ["ground", name, str(clip), *phrases, "--threshold", "0"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("onset\toffset\tphrase\n"
                                 + "".join(f"0.000\t5.000\t{p}\n" for p in phrases)), res.output


# builds the `small` corpus (once per session, shared by the models measured on it) and
# evaluates 400 clips per model: minutes on 2 cores
# builds each corpus the card was measured on (once per session, shared by the models measured on
# it) and evaluates its test clips per model: minutes on 2 cores
@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_wstag_evaluate_reproduces_the_card(name, card_corpus_for):
    card = card_of(name)
    for ev in evaluations(card):
        corpus = card_corpus_for(ev)
        corpus_hash = json.loads((corpus / "corpus.json").read_text())["content_hash"]
        assert corpus_hash == ev["corpus_hash"]  # the same corpus, or the figures mean nothing
        wordings = "psds_whole_unseen_wording" in ev["metrics"]
        assert wordings == open_vocabulary(card)
        res = runner.invoke(app, ["evaluate", name, "--data", str(corpus), "--split", ev["split"],
                                  *(["--wordings"] if wordings else [])])
        assert res.exit_code == 0, res.output
        printed = {m.group(1): float(m.group(2))
                   for m in re.finditer(r"^(\w+)\s+(-?\d+\.\d)$", res.output, flags=re.M)}
        for key, value in ev["metrics"].items():
            if value is None:
                assert key not in printed, key
            else:
                assert printed[key] == pytest.approx(value, abs=0.05 + 1e-9), (ev["corpus_preset"], key)
        if wordings:
            assert (f"the model refused the unseen wording of {ev['unseen_wording_refused_pairs']} of "
                    f"{ev['unseen_wording_pairs']} pairs") in res.output
    assert not (PRETRAINED_DIR / name / "metrics.json").exists()  # evaluating a shipped model writes nothing into the package
