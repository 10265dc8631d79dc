"""Held-out wordings: every class has some, and no training caption can hold their words."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from wstag.data.audiogrounding import read_weak_v2
from wstag.data.wordings import WORDINGS_FILE, corpus_wordings, load_wordings, seen_words
from wstag.errors import ConfigError
from wstag.evaluation.controls import content_stems
from wstag.scapes.build import build_corpus
from wstag.scapes.classtable import load_class_table
from wstag.scapes.wordings import caption_words, write_corpus_wordings
from wstag.text.queries import is_function_word
from wstag.text.tokenize import tokenize
from wstag.text.vocabulary import Vocabulary

TABLE = load_class_table()
WORDINGS = load_wordings()


def _content(wording: str) -> list[str]:
    return [t for t in tokenize(wording) if not is_function_word(t)]


def test_every_class_has_wordings_and_no_other_class_is_named():
    assert set(WORDINGS) == {c.name for c in TABLE.classes}
    assert all(len(w) >= 3 for w in WORDINGS.values())
    assert all(_content(w) for ws in WORDINGS.values() for w in ws)  # each names something


def test_no_wording_word_can_appear_in_a_caption():
    words = caption_words(TABLE)
    assert {"dog", "barks", "followed", "loudly", "background"} <= words  # phrases, connectives, modifiers
    stems = frozenset().union(*(content_stems(w) for w in words if not is_function_word(w)))
    for cls, wordings in WORDINGS.items():
        for w in wordings:
            assert seen_words(w, words) == [], (cls, w)
            # nor another form of a caption word ("barked" for "barks")
            assert not content_stems(" ".join(_content(w))) & stems, (cls, w)


def test_each_wording_has_a_word_no_other_class_uses():
    users = defaultdict(set)
    for cls, wordings in WORDINGS.items():
        for w in wordings:
            for t in _content(w):
                users[t].add(cls)
    for cls, wordings in WORDINGS.items():
        for w in wordings:
            assert any(users[t] == {cls} for t in _content(w)), (cls, w)


def test_seen_words_names_known_content_words_only():
    assert seen_words("a dog yelps in the park", ["a", "dog", "in", "the"]) == ["dog"]
    assert seen_words("a canine yelps", ["a", "dog"]) == []


def test_corpus_file_round_trip_and_fallback(tmp_path):
    assert corpus_wordings(tmp_path) == WORDINGS  # a corpus built before wordings.json: the shipped set
    write_corpus_wordings(tmp_path, TABLE, {**WORDINGS, "dog_bark": ("a hound bays", "a puppy yaps")})
    got = corpus_wordings(tmp_path)
    assert got["dog_bark"] == ("a hound bays", "a puppy yaps") and set(got) == set(WORDINGS)


def test_bad_wordings_are_refused_in_one_line(tmp_path):
    missing = {k: v for k, v in WORDINGS.items() if k != "siren"}
    with pytest.raises(ConfigError, match=r"no held-out wordings for classes \['siren'\]"):
        write_corpus_wordings(tmp_path, TABLE, missing)
    bad = tmp_path / "w.yaml"
    bad.write_text("wordings:\n  siren: [an ambulance]\n")
    with pytest.raises(ConfigError, match="class 'siren' needs a list of at least 2 non-empty wordings"):
        load_wordings(bad)
    (tmp_path / WORDINGS_FILE).write_text('{"format": "other"}')
    with pytest.raises(ConfigError, match="not a wstag wordings file"):
        corpus_wordings(tmp_path)


@pytest.mark.slow
def test_a_built_corpus_holds_its_wordings_unseen_and_outside_its_hash(sound_bank, tiny_corpus, tmp_path,
                                                                     monkeypatch):
    stored = json.loads((tiny_corpus / WORDINGS_FILE).read_text())["wordings"]
    assert {k: tuple(v) for k, v in stored.items()} == WORDINGS
    train_vocab = Vocabulary.build(c.caption for c in read_weak_v2(tiny_corpus / "train" / "weak.json"))
    assert len(train_vocab.words) > 50
    for wordings in WORDINGS.values():
        for w in wordings:
            assert seen_words(w, train_vocab.words) == [], w
    # Other wordings, same corpus: the content hash does not read wordings.json.
    from wstag.scapes import build

    monkeypatch.setattr(build, "write_corpus_wordings",
                        lambda folder, table: write_corpus_wordings(folder, table, {c.name: ("x y", "z w")
                                                                                    for c in table.classes}))
    hash_of = json.loads((tiny_corpus / "corpus.json").read_text())["content_hash"]
    assert build_corpus(sound_bank, "tiny", tmp_path / "again", seed=2).content_hash == hash_of
