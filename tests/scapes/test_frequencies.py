"""AudioCaps' proportions (issue 27, items 2-3): the shipped frequencies, weighted draws and real wordings.

The uniform path that tiny, small and full are built with is pinned twice: a digest of fifty
compositions and captions drawn from the mixing tests' classes (taken before weights and real
wordings existed), and, where the cached base bank is present, the tiny corpus's content hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from wstag.data.audiogrounding import read_weak_v2
from wstag.errors import ConfigError
from wstag.scapes.build import AUDIOCAPS_PRESETS, PRESET_MIX, PRESETS, build_corpus
from wstag.scapes.captions import write_caption
from wstag.scapes.classtable import load_class_table
from wstag.scapes.frequencies import (
    DATA_FORMAT, CaptionWordings, Wording, gender_of, load_frequencies, parse_frequencies,
    wording_problem,
)
from wstag.scapes.mixing import Composer, MixConfig
from wstag.scapes.wordings import caption_words, held_out_wordings, table_wordings
from wstag.data.wordings import load_wordings, seen_words
from wstag.evaluation.controls import content_stems
from wstag.text.phrases import extract_phrases
from wstag.text.queries import is_function_word
from wstag.text.tokenize import tokenize

from tests.scapes.test_mixing import CLASSES, RECS, _cls

WORLD = load_class_table(name="world")
BASE = load_class_table()
#: sha256 of 50 compositions and captions (seeds [0, 0, i]) from the mixing tests' classes, drawn by the
#: code every corpus so far was built with (commit 7f2e7c7, before weights and real wordings)
UNIFORM_DIGEST = "9b475640fc2739461c3a224d529d85a4a7cb6ec520167be09249b35bc6b31891"
#: `wstag data build --preset tiny --seed 0` from the cached base bank e0283b36bebece2f, before this work
TINY_HASH, BASE_BANK = "571478585018dac5", "e0283b36bebece2f"


def _uniform_digest(wordings=None) -> str:
    comp = Composer(CLASSES, RECS, MixConfig())
    out = []
    for i in range(50):
        rng = np.random.default_rng([0, 0, i])
        events = comp.compose(rng)
        clip = write_caption(rng, events, f"c{i}.flac", 10.0, wordings)
        out.append([clip.caption, [(e.sound_class.name, e.segments,
                                    [(p.recording.id, round(p.src_start, 6), round(p.gain_db, 6)) for p in e.pieces])
                                   for e in events]])
    return hashlib.sha256(json.dumps(out).encode()).hexdigest()


def test_the_uniform_path_draws_what_it_always_drew():
    assert _uniform_digest() == UNIFORM_DIGEST
    # real wordings for none of these classes leave every draw as it was
    assert _uniform_digest(CaptionWordings({"owl": (Wording("an owl hoots", "", 1),)})) == UNIFORM_DIGEST


def test_only_the_world_preset_has_frequencies_and_its_own_mixing():
    assert AUDIOCAPS_PRESETS == {"world"} and set(PRESET_MIX) == {"world"}
    assert replace(PRESET_MIX["world"], chain_classes=MixConfig().chain_classes) == MixConfig()
    assert set(PRESET_MIX["world"].chain_classes) - set(MixConfig().chain_classes) == {"male_speech", "female_speech"}
    # a training epoch at most 3 times small's
    assert PRESETS["world"]["train"] <= 3 * PRESETS["small"]["train"]
    assert PRESETS["small"] == {"train": 2000, "val": 200, "test": 400}


def test_the_cached_base_bank_still_builds_the_same_tiny_corpus(tmp_path):
    from wstag.scapes.bank import load_bank
    from wstag.scapes.fetch import default_cache_dir

    try:
        bank = load_bank(default_cache_dir(), BASE)
    except ConfigError:
        pytest.skip("needs the base sound bank in the cache (`wstag data fetch`)")
    if bank.content_hash != BASE_BANK:
        pytest.skip(f"the cached base bank is {bank.content_hash}, not {BASE_BANK}")
    assert build_corpus(bank, "tiny", tmp_path / "t", seed=0, workers=1).content_hash == TINY_HASH


def test_a_wording_must_survive_the_phrase_parser():
    assert wording_problem("a dog barks", "") is None
    assert wording_problem("a dog barks", "loudly in the distance") is None  # "the distance": a place phrase
    assert wording_problem("a train moves getting", "closer") is None  # the parser trims "closer"
    assert "extracts 'a person talks'" in wording_problem("a person talks nearby", "")
    assert "holds the phrase 'a loudspeaker'" in wording_problem("a man speaks", "over a loudspeaker")
    assert "token form" in wording_problem("A dog barks", "")
    assert wording_problem("", "") == "an empty phrase"


def test_gender_words():
    assert gender_of("a man laughs") == "male" and gender_of("women laughing") == "female"
    assert gender_of("laughing") is None and gender_of("a man and a woman laugh") is None
    assert gender_of("a mans voice") == "male"


LAUGH = _cls("laughter", "event", ["a person laughs", "laughing", "laughter", "someone laughs"])
LAUGH = replace(LAUGH, phrases_male=("a man laughs",), phrases_female=("a woman laughs",))
DOG = CLASSES["dog"]


def _draws(wordings, cls, gender, n=400):
    rng = np.random.default_rng(0)
    return Counter(wordings.draw(rng, cls, gender) for _ in range(n))


def test_real_wordings_are_drawn_by_count_and_by_gender():
    wordings = CaptionWordings({
        "dog": (Wording("a dog barks", "", 3), Wording("barking", "in the distance", 1)),
        "laughter": (Wording("a man laughs", "", 5), Wording("people laughing", "loudly", 2)),
    })
    dog = _draws(wordings, DOG, None, 4000)
    assert set(dog) == {("a dog barks", ""), ("barking", "in the distance")}
    assert dog["a dog barks", ""] / 4000 == pytest.approx(0.75, abs=0.02)
    assert _draws(wordings, DOG, "male") == _draws(wordings, DOG, None)  # no gendered phrases: gender ignored
    assert set(_draws(wordings, LAUGH, "male")) == {("a man laughs", "")}
    # no female wording: the ungendered ones
    assert set(_draws(wordings, LAUGH, "female")) == {("people laughing", "loudly")}
    assert set(_draws(wordings, LAUGH, None)) == {("people laughing", "loudly")}  # never "a man laughs"
    assert wordings.draw(np.random.default_rng(0), CLASSES["cat"], None) is None  # templates


def test_a_caption_with_a_real_wording_annotates_the_phrase_not_its_modifier():
    wordings = CaptionWordings({"dog": (Wording("dogs are barking", "in the distance", 1),)})
    comp = Composer({"dog": DOG}, [r for r in RECS if r.class_name == "dog"], MixConfig())
    rng = np.random.default_rng(3)
    clip = write_caption(rng, comp.compose(rng), "x.flac", 10.0, wordings)
    assert clip.caption == "Dogs are barking in the distance"
    assert [(p.text, p.start_index, p.end_index) for p in clip.phrases] == [("dogs are barking", 0, 2)]
    # the parser, as weak training reads it, finds the place too: a phrase of no class, as in AudioGrounding
    assert [p.text for p in extract_phrases(clip.caption)] == ["dogs are barking", "the distance"]


def test_weighted_draws_follow_the_weights_and_refuse_a_class_without_one():
    comp = Composer(CLASSES, RECS, MixConfig(n_events_weights=(1.0,), p_background=0.0),
                    weights={"dog": 98.0, "bell": 1.0, "cat": 1.0, "rain": 1.0})
    picks = Counter(comp.compose(np.random.default_rng([0, i]))[0].sound_class.name for i in range(1000))
    assert picks["dog"] / 1000 == pytest.approx(0.98, abs=0.015)
    again = Composer(CLASSES, RECS, MixConfig(n_events_weights=(1.0,), p_background=0.0),
                     weights={"dog": 98.0, "bell": 1.0, "cat": 1.0, "rain": 1.0})
    assert [again.compose(np.random.default_rng([0, i]))[0].sound_class.name for i in range(50)] == \
        [comp.compose(np.random.default_rng([0, i]))[0].sound_class.name for i in range(50)]
    with pytest.raises(ValueError, match=r"without a positive weight: \['cat'\]"):
        Composer(CLASSES, RECS, MixConfig(), weights={"dog": 1.0, "bell": 1.0, "rain": 1.0})


def _data(**classes):
    base = {c.name: {"occurrences": 0, "wordings": [], "held_out": []} for c in WORLD.classes}
    return {"format": DATA_FORMAT, "table": "world", "provenance": {}, "classes": {**base, **classes}}


def test_the_data_file_is_checked_against_the_table():
    freq = parse_frequencies(_data(dog_bark={"occurrences": 12, "wordings": [["a dog barks", "loudly", 3]],
                                             "held_out": ["a dog yaps"]}), WORLD, "f.json")
    assert freq.weights(floor=5.0)["dog_bark"] == 12.0 and freq.weights(floor=5.0)["gong"] == 5.0
    assert freq.wordings["dog_bark"] == (Wording("a dog barks", "loudly", 3),)
    with pytest.raises(ConfigError, match="f.json: not a wstag frequencies file"):
        parse_frequencies({"format": "x"}, WORLD, "f.json")
    with pytest.raises(ConfigError, match="f.json: written for class table 'world', not 'base'"):
        parse_frequencies(_data(), BASE, "f.json")
    bad = _data()
    del bad["classes"]["gong"]
    with pytest.raises(ConfigError, match=r"missing \['gong'\]"):
        parse_frequencies(bad, WORLD, "f.json")
    with pytest.raises(ConfigError, match="'dog_bark': wording 'a person talks nearby'.*extracts 'a person talks'"):
        parse_frequencies(_data(dog_bark={"occurrences": 1, "wordings": [["a person talks nearby", "", 1]],
                                          "held_out": []}), WORLD, "f.json")
    with pytest.raises(ConfigError, match="positive count"):
        parse_frequencies(_data(dog_bark={"occurrences": 1, "wordings": [["a dog barks", "", 0]], "held_out": []}),
                          WORLD, "f.json")


def test_held_out_wordings_prefer_the_val_phrases():
    freq = parse_frequencies(_data(
        dog_bark={"occurrences": 1, "wordings": [], "held_out": ["a dog yaps", "a pup yelps"]},
        cat_meow={"occurrences": 1, "wordings": [], "held_out": ["a kitty cries"]}), WORLD, "f.json")
    shipped = {"dog_bark": ("a canine yelps", "a hound bays"), "cat_meow": ("a kitten mews", "a feline yowls")}
    got = held_out_wordings(WORLD, freq, shipped)
    assert got["dog_bark"] == ("a dog yaps", "a pup yelps")  # two of its own: the val phrases alone
    assert got["cat_meow"] == ("a kitty cries", "a kitten mews", "a feline yowls")  # one: completed
    assert "gong" not in got  # neither: left out


def test_the_shipped_frequencies_have_a_long_tail_and_real_wordings():
    freq = load_frequencies(WORLD)
    occ = freq.occurrences
    named = sorted((n for n in occ.values() if n), reverse=True)
    assert named[0] / named[-1] >= 100  # AudioCaps' imbalance: more than 100 times between the ends
    top = sorted(occ, key=occ.get, reverse=True)[:8]
    assert {"male_speech", "female_speech", "speech", "dog_bark", "vehicle_engine"} <= set(top)
    assert sum(n < 10 for n in occ.values()) >= 30  # most classes rare
    weights = freq.weights()
    assert min(weights.values()) == 5.0 and set(weights) == {c.name for c in WORLD.classes}
    assert len({w.phrase for w in freq.wordings["dog_bark"]}) >= 50
    assert any(w.modifier == "in the distance" for w in freq.wordings["dog_bark"])
    for name, ws in freq.wordings.items():  # every wording survives the parser (checked at load, again here)
        assert all(wording_problem(w.phrase, w.modifier) is None for w in ws), name
    trained = {w.phrase for ws in freq.wordings.values() for w in ws}
    assert not trained & {p for ps in freq.held_out.values() for p in ps}  # held-out: never a training wording
    prov = freq.provenance
    assert prov["threshold"] == 0.7 and prov["checked_band"] == [0.6, 0.7] and "MiniLM" in prov["model"]
    assert set(prov["sources"]) == {"audiogrounding-v1/train.json", "audiogrounding-v1/val.json"}


def test_the_shipped_frequencies_name_the_real_files(audiogrounding_v1_dir):
    sources = load_frequencies(WORLD).provenance["sources"]
    for name in ("train.json", "val.json"):
        digest = hashlib.sha256((audiogrounding_v1_dir / name).read_bytes()).hexdigest()
        assert sources[f"audiogrounding-v1/{name}"] == digest


def test_a_world_corpus_is_drawn_in_proportion_and_captioned_in_real_words(tmp_path, monkeypatch):
    """With the world bank in the cache: a corpus of the world preset at tiny's size."""
    from wstag.scapes.bank import load_bank
    from wstag.scapes.fetch import default_cache_dir

    try:
        bank = load_bank(default_cache_dir(), WORLD)
    except ConfigError:
        pytest.skip("needs `wstag data fetch --table world` in the cache")
    monkeypatch.setitem(PRESETS, "world", {"train": 120, "val": 8, "test": 8})
    info = build_corpus(bank, "world", tmp_path / "w", seed=0, workers=1)
    corpus = json.loads((tmp_path / "w" / "corpus.json").read_text())
    assert corpus["frequencies"]["floor"] == 5.0 and corpus["mix_config"]["chain_classes"][-1] == "female_speech"
    freq = load_frequencies(WORLD)
    real = {(name, w.phrase) for name, ws in freq.wordings.items() for w in ws}
    labels = json.loads((tmp_path / "w" / "train" / "labels.json").read_text())
    pairs = [(k, p["phrase"]) for c in labels for p, k in zip(c["phrases"], c["phrase_classes"])]
    named = Counter(k for k, _ in pairs)
    # the frequent classes lead; every phrase of a class with real wordings is one of them
    assert named.most_common(1)[0][0] in {"dog_bark", "vehicle_engine", "male_speech"}
    assert all((k, p) in real for k, p in pairs if freq.wordings[k])
    assert len(read_weak_v2(tmp_path / "w" / "train" / "weak.json")) == 120
    held = json.loads((tmp_path / "w" / "wordings.json").read_text())["wordings"]
    assert held["dog_bark"] == list(freq.held_out["dog_bark"]) and set(held) == {c.name for c in WORLD.classes}
    assert held["gong"] == list(table_wordings(WORLD)["gong"])
    assert info.content_hash == build_corpus(bank, "world", tmp_path / "w2", seed=0, workers=2).content_hash


def test_the_new_classes_held_out_wordings_are_unseen_and_name_one_class():
    shipped = table_wordings(WORLD)
    new = {n: w for n, w in shipped.items() if n not in load_wordings()}
    assert set(shipped) == {c.name for c in WORLD.classes} and set(new) == {c.name for c in WORLD.classes[47:]}
    words = caption_words(WORLD, load_frequencies(WORLD))
    assert {"dog", "yips", "distance", "revving"} <= words and "yaps" not in words  # "yaps": val only
    stems = frozenset().union(*(content_stems(w) for w in words if not is_function_word(w)))
    users: dict[str, set] = {}
    for name, wordings in shipped.items():
        for w in wordings:
            for t in tokenize(w):
                if not is_function_word(t):
                    users.setdefault(t, set()).add(name)
    for name, wordings in new.items():
        assert len(wordings) >= 3
        for w in wordings:
            content = [t for t in tokenize(w) if not is_function_word(t)]
            assert seen_words(w, words) == [] and not content_stems(" ".join(content)) & stems, (name, w)
            assert any(users[t] == {name} for t in content), (name, w)
    assert table_wordings(BASE) == load_wordings()
