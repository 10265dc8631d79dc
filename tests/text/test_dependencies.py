"""Dependency heads for QGCA's query graph: the spaCy parse, the per-phrase cache, the missing-parser refusal."""

from __future__ import annotations

import copy
import importlib.metadata

import pytest

from wstag.text import dependencies
from wstag.text.dependencies import HeadCache, ParserMissing, check_heads, require_parser, spacy_heads


def test_spacy_parses_a_phrase_on_wstag_tokens():
    # "a dog barks": a -> dog, dog -> barks, barks is the root (its own head)
    assert spacy_heads(("a", "dog", "barks")) == (1, 2, 2)
    heads = spacy_heads(("birds", "chirping", "in", "the", "distance"))
    assert heads[1] == 1 and heads[0] == 1 and heads[4] == 2  # chirping is the root; distance hangs on "in"
    # one head per token, even for a tokeniser's split the parser would not make itself
    assert len(spacy_heads(("a", "man", "'s", "voice"))) == 4


def test_the_cache_parses_each_distinct_phrase_once_and_is_shared_by_deepcopy():
    calls = []

    def parse(words):
        calls.append(words)
        return tuple(range(len(words)))

    cache = HeadCache(parse)
    assert cache(("a", "dog")) == (0, 1)
    assert cache(("a", "dog")) == (0, 1)
    assert cache(()) == ()
    assert calls == [("a", "dog")] and cache.parser_calls == 1 and len(cache) == 1
    assert copy.deepcopy(cache) is cache


@pytest.mark.parametrize("heads", [(0,), (0, 5, 1), (-1, 0, 0)])
def test_a_parse_must_give_one_head_in_range_per_word(heads):
    with pytest.raises(ValueError, match="one head index in"):
        check_heads(heads, 3)
    with pytest.raises(ValueError, match="one head index in"):
        HeadCache(lambda words: heads)(("a", "dog", "barks"))


def test_a_missing_parser_is_refused_in_one_line(monkeypatch):
    require_parser()  # installed here (setup.sh)
    monkeypatch.setattr(dependencies.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ParserMissing, match="needs spaCy.*requirements-parser.txt"):
        require_parser()


def test_another_pipeline_version_is_refused(monkeypatch):
    real = importlib.metadata.version
    monkeypatch.setattr(dependencies.importlib.metadata, "version",
                        lambda name: "3.7.1" if name == dependencies.PARSER_PACKAGE else real(name))
    with pytest.raises(ParserMissing, match="3.7.1 is installed"):
        require_parser()


def test_a_missing_pipeline_is_refused(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(dependencies.importlib.metadata, "version", missing)
    with pytest.raises(ParserMissing, match="not installed"):
        require_parser()
