"""`wstag model ship`: the folder replaced whole, the card written, the README block refreshed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.inference.tiny import make_model_dir
from wstag.cli.main import app
from wstag.data.audiogrounding import write_v2
from wstag.errors import ConfigError
from wstag.experiments import ship
from wstag.inference.evaluate import METRIC_KEYS
from wstag.records import Clip, Phrase
from wstag.shipped import CARD_JSON, CARD_MD

runner = CliRunner()
FIGURES = {k: 10.0 + i for i, k in enumerate(METRIC_KEYS)} | {"n_pairs_whole": 7, "n_pairs_short": 3,
                                                               "th_auc_convention": "authors"}
#: What `evaluate_model(..., wordings=True)` adds (results/open_vocabulary/minilm-seed0.json's figures).
WORDING_FIGURES = {"text_encoder": "minilm", "psds_whole_seen_wording": 31.8, "psds_whole_unseen_wording": 26.9,
                   "unseen_to_seen_percent": 84.6, "unseen_wording_pairs": 1450, "unseen_wording_refused_pairs": 0,
                   "unseen_wordings_used": 141, "unseen_wordings_refused": 0, "unseen_wordings_with_training_words": 0,
                   "unseen_wording_seed": 0, "unseen_wording_specificity": 8.2}


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "corpus.json").write_text(json.dumps({"preset": "small", "seed": 0, "content_hash": "feedbeef"}))
    (folder / "test").mkdir()
    # against a model that knows "a dog barks, loudly": one phrase whole, one without "growls", one refused
    write_v2([Clip("t", "a dog barks while a dog growls and a cat meows",
                   tuple("a dog barks while a dog growls and a cat meows".split()),
                   (Phrase("a dog barks", 0, 2), Phrase("a dog growls", 4, 6), Phrase("a cat meows", 8, 10)))],
             folder / "test" / "labels.json")
    return folder


@pytest.fixture
def measured(monkeypatch) -> list:
    """Stands in for the evaluation (the slow test below runs the real one)."""
    calls = []

    def fake_evaluate(model_dir, data_dir, split, progress=None, write_json=True, wordings=False):
        calls.append((Path(model_dir), Path(data_dir), split, write_json, wordings))
        return dict(FIGURES) | (dict(WORDING_FIGURES) if wordings else {})

    monkeypatch.setattr(ship, "evaluate_model", fake_evaluate)
    return calls


def test_ship_copies_the_model_and_writes_its_card(tmp_path, corpus, measured):
    model = make_model_dir(tmp_path / "run" / "model", captions=["a dog barks, loudly"])
    result = ship.ship_model(model, corpus, name="mine", into=tmp_path / "pretrained")
    # nothing written into the source folder; a word model is not asked unseen wordings (it refuses them all)
    assert measured == [(model, corpus, "test", False, False)]
    assert result.folder == tmp_path / "pretrained" / "mine"
    assert sorted(p.name for p in result.folder.iterdir()) == sorted([*ship.MODEL_FILES, CARD_JSON, CARD_MD])
    assert (result.folder / "model.safetensors").read_bytes() == (model / "model.safetensors").read_bytes()
    card = json.loads((result.folder / CARD_JSON).read_text())
    assert card["evaluation"]["command"] == "wstag evaluate mine --data DIR --split test"
    assert "unseen_wording_pairs" not in card["evaluation"] and "Unseen wordings" not in ship.render_card_md(card)
    assert card["evaluation"]["corpus_hash"] == "feedbeef"
    assert card["evaluation"]["build_corpus"] == "wstag data build --preset small --out DIR --seed 0"
    assert card["evaluation"]["metrics"] == {k: FIGURES[k] for k in METRIC_KEYS}
    assert card["known_words"] == ["a", "barks", "dog", "loudly"]  # sorted, no comma
    assert card["evaluation"]["query_coverage"] == {"phrases": 3, "refused": 1, "some_unknown": 1}
    assert card["model"]["parameters"] > 100_000
    text = (result.folder / CARD_MD).read_text()
    assert "| PSDS whole | 10.0 |" in text and "a, barks, dog, loudly" in text
    assert ("Words: 1 of 3 test phrases (33.3 %) have no word it knows that names a sound: `wstag ground` "
            "refuses them, and the figures above score them through `<unk>` (noise); 1 more (33.3 %) are asked "
            "without some of their words.") in text


def test_shipping_again_replaces_the_folder_whole(tmp_path, corpus, measured):
    into = tmp_path / "pretrained"
    ship.ship_model(make_model_dir(tmp_path / "a", captions=["a dog barks"]), corpus, name="default", into=into)
    (into / "default" / "stale.txt").write_text("from the old model")
    ship.ship_model(make_model_dir(tmp_path / "b", captions=["rain falls"]), corpus, name="default", into=into)
    assert not (into / "default" / "stale.txt").exists()
    assert json.loads((into / "default" / CARD_JSON).read_text())["known_words"] == ["falls", "rain"]
    assert sorted(p.name for p in into.iterdir()) == ["default"]  # no staging or old folder left behind


def test_ship_refreshes_only_its_readme_block(tmp_path, corpus, measured):
    begin, end = ship.readme_markers("default")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{begin}\nold\n{end}\n\ntail\n")
    result = ship.ship_model(make_model_dir(tmp_path / "m"), corpus, into=tmp_path / "p", readme=readme)
    assert result.readme_updated
    text = readme.read_text()
    assert text == f"# title\n\n{begin}\n{ship.render_readme_block(result.card)}{end}\n\ntail\n"
    other = tmp_path / "OTHER.md"
    other.write_text("no markers\n")
    assert not ship.update_readme(other, result.card) and other.read_text() == "no markers\n"


def test_bad_input_is_refused_before_evaluating(tmp_path, corpus, measured):
    model = make_model_dir(tmp_path / "m")
    with pytest.raises(ConfigError, match="model name 'Bad/Name'"):
        ship.ship_model(model, corpus, name="Bad/Name", into=tmp_path / "p")
    (tmp_path / "bare").mkdir()
    with pytest.raises(ConfigError, match="no corpus.json"):
        ship.ship_model(model, tmp_path / "bare", into=tmp_path / "p")
    assert measured == []
    res = runner.invoke(app, ["model", "ship", str(tmp_path / "nothing"), "--data", str(corpus),
                              "--into", str(tmp_path / "p")])
    assert res.exit_code == 2 and res.output.startswith("error: model folder") and "Traceback" not in res.output
    assert not (tmp_path / "p").exists()


@pytest.mark.slow  # the real evaluation, on the tiny corpus
def test_the_ship_command_evaluates_for_real(tmp_path, tiny_corpus):
    model = make_model_dir(tmp_path / "m", captions=["a dog barks"])
    readme = tmp_path / "README.md"
    begin, end = ship.readme_markers("tiny")
    readme.write_text(f"{begin}\n{end}\n")
    res = runner.invoke(app, ["model", "ship", str(model), "--data", str(tiny_corpus), "--name", "tiny",
                              "--into", str(tmp_path / "p"), "--readme", str(readme)])
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "p" / "tiny" / CARD_JSON).read_text())
    assert card["evaluation"]["corpus_hash"] == json.loads((tiny_corpus / "corpus.json").read_text())["content_hash"]
    assert card["evaluation"]["n_pairs_whole"] > 0 and 0 <= card["evaluation"]["metrics"]["psds_whole"] <= 100
    assert f"psds_whole {card['evaluation']['metrics']['psds_whole']:.1f}" in res.output
    assert "README block refreshed" in res.output and "| PSDS whole |" in readme.read_text()
    assert not (model / "metrics.json").exists()


def test_an_open_vocabulary_card_lists_no_words(tmp_path, corpus, measured):
    card = ship.ship_model(make_model_dir(tmp_path / "m"), corpus, into=tmp_path / "p").card
    assert card["model"]["text_encoder"] == "word"
    assert ship.text_encoder_kind({"model": {"text_encoder": {"kind": "minilm", "hidden": 0}}}) == "minilm"
    open_card = {**card, "known_words": None, "model": {**card["model"], "text_encoder": "minilm"}}
    for text in (ship.render_card_md(open_card), ship.render_readme_block(open_card)):
        assert "Open vocabulary: its `minilm` text encoder reads any words" in text
        assert "words it knows" not in text.lower()


def as_minilm(model_dir: Path) -> Path:
    """Mark a tiny model folder's text encoder as MiniLM (shipping reads only config.json's kind)."""
    path = model_dir / "config.json"
    config = json.loads(path.read_text())
    config.setdefault("model", {})["text_encoder"] = {"kind": "minilm", "embed_dim": 128, "hidden": 0}
    path.write_text(json.dumps(config))
    return model_dir


def test_an_open_vocabulary_model_is_shipped_with_its_unseen_wording_figures(tmp_path, corpus, measured):
    model = as_minilm(make_model_dir(tmp_path / "m"))
    card = ship.ship_model(model, corpus, name="minilm", into=tmp_path / "p").card
    assert measured == [(model, corpus, "test", False, True)]  # evaluated with --wordings
    ev = card["evaluation"]
    assert ev["command"] == "wstag evaluate minilm --data DIR --split test --wordings"
    assert ev["metrics"] == {k: FIGURES[k] for k in METRIC_KEYS} | {
        "psds_whole_seen_wording": 31.8, "psds_whole_unseen_wording": 26.9, "unseen_to_seen_percent": 84.6,
        "unseen_wording_specificity": 8.2}
    assert (ev["unseen_wording_pairs"], ev["unseen_wording_refused_pairs"], ev["unseen_wording_seed"]) == (1450, 0, 0)
    assert card["known_words"] is None
    assert json.loads((tmp_path / "p" / "minilm" / CARD_JSON).read_text()) == card


def test_a_card_with_wording_figures_renders_them_in_one_line(tmp_path, corpus, measured):
    card = ship.ship_model(as_minilm(make_model_dir(tmp_path / "m")), corpus, name="minilm", into=tmp_path / "p").card
    card["evaluation"]["metrics"] = {  # hand-written, as a card holds them
        "psds_whole": 31.8, "th_auc_whole": 28.7, "psds_short": 25.7, "th_auc_short": 23.7,
        "psds_whole_wrong_query": 18.7, "specificity": 13.1, "psds_whole_loudness": 18.3,
        "psds_whole_seen_wording": 31.8, "psds_whole_unseen_wording": 26.9, "unseen_to_seen_percent": 84.6,
        "unseen_wording_specificity": 8.2,
    }
    card["evaluation"].update(unseen_wording_pairs=1450, unseen_wording_refused_pairs=3)
    line = ('\nUnseen wordings (`--wordings`: each test pair asked again with a held-out wording of its class, '
            'whose words no training caption uses, e.g. "a canine yelps" for "a dog barks"): PSDS whole 26.9 '
            "against 31.8 with the seen wording (84.6 %), specificity 8.2 (unseen minus wrong query); "
            "3 of 1450 pairs refused.\n")
    md, block = ship.render_card_md(card), ship.render_readme_block(card)
    for text in (md, block):
        assert "| PSDS whole | 31.8 |\n" in text and "| PSDS whole, loudness as the score (control, no model) | 18.3 |\n" \
            in text
        assert text.count(line) == 1
        assert "psds_whole_unseen_wording" not in text and "| 26.9 |" not in text  # a line, not table rows
        assert "Open vocabulary: its `minilm` text encoder reads any words" in text
    assert "then `wstag evaluate minilm --data DIR --split test --wordings`" in block
    assert block.index("| Th-AUC whole | 28.7 |") < block.index(line) < block.index("Open vocabulary")
    # a figure the evaluation could not give (no pair answered) reads "-"
    card["evaluation"]["metrics"] |= {"psds_whole_unseen_wording": None, "unseen_to_seen_percent": None}
    assert "PSDS whole - against 31.8 with the seen wording (- %)" in ship.render_card_md(card)


# --- what a model can hear: the training corpus's sounds on the card ---------------------------

def labelled_corpus(folder: Path, content_hash: str, preset: str = "small") -> Path:
    """A corpus folder with corpus.json and train (and the same test) labels: 3 clips naming dog_bark twice and rain once."""
    (folder / "train").mkdir(parents=True)
    (folder / "corpus.json").write_text(json.dumps({"preset": preset, "seed": 0, "content_hash": content_hash}))
    def clip(audio_id: str, caption: str, spans: list[tuple[int, int]], classes: list) -> Clip:
        tokens = tuple(caption.split())
        return Clip(audio_id, caption, tokens, tuple(Phrase(" ".join(tokens[a:b + 1]), a, b) for a, b in spans),
                    extra={"phrase_classes": classes})

    write_v2([clip("a", "A dog barks while rain falls", [(0, 2), (4, 5)], ["dog_bark", "rain"]),
              clip("b", "a dog barks then dogs bark in the distance", [(0, 2), (4, 5), (7, 8)],
                   ["dog_bark", "dog_bark", None]),
              clip("c", "silence", [], [])], folder / "train" / "labels.json")
    (folder / "test").mkdir()
    shutil.copyfile(folder / "train" / "labels.json", folder / "test" / "labels.json")
    return folder


def trained_on(model_dir: Path, content_hash: str) -> Path:
    path = model_dir / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"corpus_hash": content_hash}))
    return model_dir


def test_training_sounds_count_clips_and_wordings_with_their_audioset_place(tmp_path):
    from wstag.experiments.model_sounds import shown_wordings, sounds_under, training_sounds

    sounds = training_sounds(labelled_corpus(tmp_path / "c", "abc"), "small")
    # dog_bark: named in 2 clips (twice in clip b: one clip), 3 phrases; wordings lower-cased, spaces folded
    assert [(s["name"], s["training_clips"]) for s in sounds] == [("dog_bark", 2), ("rain", 1)]
    assert sounds[0]["wordings"] == [["a dog barks", 2], ["dogs bark", 1]]
    assert sounds[0]["audioset_id"] == "/m/05tny_"
    assert sounds[0]["audioset_path"] == "Bark < Dog < Domestic animals, pets < Animal"
    assert shown_wordings(sounds[0], 1) == '"a dog barks" (2), and 1 more'
    assert [s["name"] for s in sounds_under(sounds, "Animal")] == ["dog_bark"]
    assert [s["name"] for s in sounds_under(sounds, "natural sounds")] == ["rain"]
    assert training_sounds(tmp_path / "c", None)[0]["audioset_path"] is None  # no preset: no class table
    bad = tmp_path / "bad" / "train"
    bad.mkdir(parents=True)
    write_v2([Clip("x", "a dog", ("a", "dog"), (Phrase("a dog", 0, 1),))], bad / "labels.json")
    with pytest.raises(ConfigError, match=r"labels\.json: clip 'x' has no phrase_classes"):
        training_sounds(tmp_path / "bad", "small")


def test_a_model_measured_on_two_corpora_gets_both_columns_and_its_sounds(tmp_path, corpus, measured):
    world = labelled_corpus(tmp_path / "world", "cafebabe", preset="world")
    model = trained_on(make_model_dir(tmp_path / "m", captions=["a dog barks"]), "cafebabe")
    card = ship.ship_model(model, world, name="mine", into=tmp_path / "p", also=[corpus]).card
    assert [c[1] for c in measured] == [world, corpus]
    assert [e["corpus_hash"] for e in ship.evaluations(card)] == ["cafebabe", "feedbeef"]
    assert card["training"]["corpus_preset"] == "world"
    assert [s["name"] for s in card["sounds"]] == ["dog_bark", "rain"]
    md = ship.render_card_md(card)
    assert "| test figure (%) | world `cafebabe` | small `feedbeef` |\n|---|---|---|\n" in md
    assert "| PSDS whole | 10.0 | 10.0 |" in md
    assert md.count("- reproduce: `wstag data build --preset") == 2
    assert "## What it can hear (2 sound classes)" in md
    assert "| dog_bark | Bark < Dog < Domestic animals, pets < Animal | 2 | \"a dog barks\" (2), \"dogs bark\" (1) |" in md
    assert "<summary>The 2 sound classes it can hear</summary>" in ship.render_readme_block(card)
    # measured only on a corpus it was not trained on: no sounds to list
    assert ship.ship_model(model, corpus, name="mine", into=tmp_path / "p").card["sounds"] is None


def test_the_sounds_command_lists_a_shipped_models_sounds(tmp_path, corpus, measured, monkeypatch):
    import wstag.shipped

    world = labelled_corpus(tmp_path / "world", "cafebabe", preset="world")
    into = tmp_path / "p"
    ship.ship_model(trained_on(make_model_dir(tmp_path / "m"), "cafebabe"), world, name="mine", into=into)
    ship.ship_model(make_model_dir(tmp_path / "old"), corpus, name="old", into=into)
    monkeypatch.setattr(wstag.shipped, "PRETRAINED_DIR", into)
    res = runner.invoke(app, ["model", "sounds", "mine", "--under", "Animal"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[:2] == [
        f"{'dog_bark':22s}     2 clips  Bark < Dog < Domestic animals, pets < Animal",
        f"{'':22s} \"a dog barks\" (2), \"dogs bark\" (1)"]
    assert "Rain <" not in res.output and "1 of 2 sound classes (training corpus cafebabe, under Animal)" in res.output
    res = runner.invoke(app, ["model", "sounds", "old"])
    assert res.exit_code == 2 and "does not list its sounds" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["model", "sounds", "nothing"])
    assert res.exit_code == 2 and "no shipped model 'nothing'; shipped: mine, old" in res.output
