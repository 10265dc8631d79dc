"""The world preset's data from real labels (issue 27, items 2-3): trusted phrases, modifiers, the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wstag.errors import ConfigError
from wstag.experiments.caption_frequencies import (
    Checks, caption_wording, dump_preset_data, load_checks, phrase_modifiers, preset_data, trusted_class,
)
from wstag.records import Clip, Phrase
from wstag.scapes.classtable import load_class_table
from wstag.scapes.frequencies import load_frequencies, parse_frequencies
from wstag.text.tokenize import tokenize

WORLD = load_class_table(name="world")
CHECKS = Checks({"growling": None, "a train blows": "vehicle_horn", "revving": "vehicle_engine"}, "world", 3,
                (0.6, 0.7), "0" * 64)


def _clip(caption: str, *phrases: str) -> Clip:
    """A real-label-like clip: each phrase at its first place in the caption's tokens."""
    tokens = tokenize(caption)
    out, at = [], 0
    for text in phrases:
        t = tokenize(text)
        start = next(i for i in range(at, len(tokens)) if tokens[i:i + len(t)] == t)
        out.append(Phrase(text, start, start + len(t) - 1))
        at = start + len(t)
    return Clip(audio_id="a.wav", caption=caption, tokens=tuple(tokens), phrases=tuple(out))


def test_a_check_decides_else_the_threshold():
    assert trusted_class("a dog barks", "dog_bark", 0.95, CHECKS) == "dog_bark"
    assert trusted_class("a dog", "dog_bark", 0.65, CHECKS) is None  # the band, unchecked
    assert trusted_class("growling", "big_cat_roar", 0.64, CHECKS) is None  # rejected
    assert trusted_class("a train blows", "train", 0.81, CHECKS) == "vehicle_horn"  # moved, whatever the cosine
    assert trusted_class("revving", "vehicle_engine", 0.57, CHECKS) == "vehicle_engine"  # accepted below the band


def test_the_modifier_is_what_follows_the_phrase_up_to_a_connective():
    clip = _clip("a dog barks loudly in the distance and a man speaks over a loudspeaker , then birds chirp twice",
                 "a dog barks", "the distance", "a man speaks", "a loudspeaker", "birds chirp")
    assert phrase_modifiers(clip) == [
        ("a dog barks", "loudly in the distance"),  # through the place phrase, up to "and"
        ("the distance", ""),
        ("a man speaks", ""),  # "over" belongs to the next sound's phrase
        ("a loudspeaker", ""),
        ("birds chirp", ""),  # "twice" says how often: left out
    ]
    assert phrase_modifiers(_clip("a car passes by quickly", "a car passes")) == [("a car passes", "by quickly")]
    assert phrase_modifiers(_clip("a horn blows its horn", "a horn blows")) == [("a horn blows", "")]  # a pronoun


def test_a_wording_is_kept_fixed_or_rejected_by_the_parser():
    assert caption_wording("a dog barks", "in the distance") == ("a dog barks", "in the distance")
    assert caption_wording("a person talks nearby", "") == ("a person talks", "nearby")  # fixed
    assert caption_wording("a person talks nearby", "loudly") == ("a person talks", "nearby loudly")
    assert caption_wording("a man speaking alongside water", "") is None  # holds a second sound
    assert caption_wording("nearby clinking", "") is None  # the parser's phrase does not start it


def _embed(texts):
    """Unit vectors: dog-like texts on axis 0, cat-like on axis 1, the rest on axis 2."""
    def axis(t):
        return 0 if ("dog" in t or "bark" in t) else 1 if ("cat" in t or "meow" in t) else 2
    return np.array([np.eye(3)[axis(t)] for t in texts], dtype=np.float32)


def test_preset_data_counts_both_sets_and_words_from_train_only():
    texts = {c.name: [] for c in WORLD.classes}
    texts["dog_bark"], texts["cat_meow"] = ["a dog barks"], ["a cat meows"]
    train = [_clip("a dog barks loudly and a cat meows", "a dog barks", "a cat meows"),
             _clip("dogs bark in the distance", "dogs bark", "the distance"),
             _clip("a dog barks , then an engine hums", "a dog barks", "an engine hums")]
    val = [_clip("a puppy barks and a kitten meows", "a puppy barks", "a kitten meows"),
           _clip("a dog barks", "a dog barks")]
    checks = Checks({}, "world", 3, (0.6, 0.7), "0" * 64)
    data, report = preset_data(train, val, WORLD, texts, _embed, checks, {"x.json": "ab"}, model="fake")
    dog, cat = data["classes"]["dog_bark"], data["classes"]["cat_meow"]
    # dog: 3 in train ("a dog barks" twice, "dogs bark"), 2 in val; cat: 1 and 1
    assert (dog["occurrences"], cat["occurrences"]) == (5, 2)
    assert dog["wordings"] == [["a dog barks", "", 1], ["a dog barks", "loudly", 1],
                               ["dogs bark", "in the distance", 1]]
    assert dog["held_out"] == ["a puppy barks"]  # "a dog barks" is a training wording: not held out
    assert cat["held_out"] == ["a kitten meows"]
    assert data["classes"]["gong"] == {"occurrences": 0, "wordings": [], "held_out": []}
    # "the distance" and "an engine hums" (axis 2: no class's text) map nowhere: 7 of 9 occurrences map
    assert data["provenance"]["mapped_share"] == round(7 / 9, 4)
    assert {r["phrase"] for r in report["unmapped"]} == {"the distance", "an engine hums"}
    assert data["provenance"]["train_wording_occurrences"] == {"kept": 4, "fixed": 0, "rejected": 0}
    text = dump_preset_data(data)
    assert json.loads(text) == data and '   ["a dog barks", "loudly", 1],' in text
    parse_frequencies(data, WORLD, "x")  # what the build reads accepts it


def test_checks_file_errors_name_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\ntable: world\nmin_count: 3\nband: [0.6, 0.7]\nverdicts: {growling: lion}\n")
    with pytest.raises(ConfigError, match=r"c.yaml: verdict 'lion' for 'growling' is neither 'reject' nor a class"):
        load_checks(path, WORLD)
    path.write_text("version: 1\ntable: base\nmin_count: 3\nband: [0.6, 0.7]\nverdicts: {}\n")
    with pytest.raises(ConfigError, match="c.yaml: checks the table 'base', not 'world'"):
        load_checks(path, WORLD)
    with pytest.raises(ConfigError, match="not found"):
        load_checks(tmp_path / "none.yaml", WORLD)


CHECKS_FILE = Path(__file__).parents[2] / "results/caption_frequencies/world-checks.yaml"


def test_the_shipped_checks_file_is_valid_and_the_one_the_data_names():
    checks = load_checks(CHECKS_FILE, WORLD)
    assert checks.verdicts["a dog whimpers"] is None and checks.verdicts["a man"] == "male_speech"
    assert checks.band == (0.6, 0.7) and len(checks.verdicts) > 300
    assert load_frequencies(WORLD).provenance["checks_sha256"] == checks.sha256


def test_the_real_labels_give_the_shipped_data_again(audiogrounding_v1_dir):
    """The study, rerun on the real labels with the checks file, writes the classes the package ships."""
    pytest.importorskip("sentence_transformers")
    from wstag.data.audiogrounding import read_v1
    from wstag.data.wordings import load_wordings
    from wstag.experiments.caption_frequencies import class_texts
    from wstag.scapes.frequencies import DATA_FILE
    from wstag.text.sbert import sbert_embedder

    shipped = json.loads((Path(__file__).parents[2] / "wstag/scapes" / DATA_FILE).read_text())
    data, _ = preset_data(read_v1(audiogrounding_v1_dir / "train.json"), read_v1(audiogrounding_v1_dir / "val.json"),
                          WORLD, class_texts(WORLD, load_wordings()), sbert_embedder(), load_checks(CHECKS_FILE, WORLD),
                          shipped["provenance"]["sources"])
    assert data["classes"] == shipped["classes"]
    assert data["provenance"]["mapped_share"] == shipped["provenance"]["mapped_share"]


def test_the_command_refuses_preset_data_without_its_inputs(tmp_path):
    from typer.testing import CliRunner

    from wstag.cli.experiments import app

    labels = tmp_path / "train.json"
    labels.write_text("{}")
    res = CliRunner().invoke(app, ["caption-frequencies", str(labels), "--out", str(tmp_path / "x"), "--table", "world",
                                   "--preset-data", str(tmp_path / "f.json")])
    assert res.exit_code != 0 and "--preset-data needs --checks and --held-out" in res.output
    res = CliRunner().invoke(app, ["caption-frequencies", str(labels), "--out", str(tmp_path / "x"), "--table", "moon"])
    assert res.exit_code != 0 and "unknown class table 'moon'" in res.output
