"""Seen/unseen-wording queries: per-pair choice, refusals, and what a refused pair scores."""

from __future__ import annotations

import random

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.errors import ConfigError
from wstag.evaluation.metrics import psds
from wstag.evaluation.pairs import build_pair_inputs, evaluation_pairs
from wstag.evaluation.wordings import answered_pairs, refused_wordings, unseen_wording_queries
from wstag.text.vocabulary import Vocabulary

from .synthetic import CLASSES, make_clips, oracle_scores

WORDINGS = {c: (f"{c} wording one", f"{c} wording two", f"{c} wording three") for c in CLASSES}


def test_each_pair_gets_a_wording_of_its_own_class_whatever_the_clip_order():
    clips = make_clips(30, seed=0)
    queries = unseen_wording_queries(clips, WORDINGS, seed=0)
    assert set(queries) == {pid for pid, _, _ in evaluation_pairs(clips)}
    for pid, clip, idx in evaluation_pairs(clips):
        assert queries[pid] in WORDINGS[clip.extra["phrase_classes"][idx]]
    shuffled = clips[:]
    random.Random(1).shuffle(shuffled)
    assert unseen_wording_queries(shuffled, WORDINGS, seed=0) == queries
    assert len({q.split()[-1] for q in queries.values()}) == 3  # all three wordings drawn
    other = unseen_wording_queries(clips, WORDINGS, seed=1)
    assert other != queries and other.keys() == queries.keys()


def test_a_corpus_without_classes_or_a_class_without_wordings_is_refused():
    with pytest.raises(ConfigError, match="has no phrase classes: seen/unseen wordings need a corpus built by"):
        unseen_wording_queries(make_clips(3, with_classes=False), WORDINGS)
    clips = make_clips(3)
    cls = clips[0].extra["phrase_classes"][0]
    with pytest.raises(ConfigError, match=f"no held-out wording for class '{cls}'"):
        unseen_wording_queries(clips, {k: v for k, v in WORDINGS.items() if k != cls})


def test_refused_wordings_follow_the_grounders_rule():
    vocab = Vocabulary.build(["a dog barks in the rain"])
    texts = ["a canine yelps", "the hound", "a dog yelps", "a hound in the rain"]
    # no known word naming a sound -> refused; a known one ("dog", "rain") -> answered
    assert refused_wordings(vocab, texts) == {"a canine yelps", "the hound"}



def test_unknown_words_or_refused_counts_without_warning(recwarn):
    from wstag.text.queries import unknown_words_or_refused

    vocab = Vocabulary.build(["a dog barks in the rain"])
    assert unknown_words_or_refused(vocab, "a dog barks") == []
    assert unknown_words_or_refused(vocab, "a dog yelps") == ["yelps"]
    assert unknown_words_or_refused(vocab, "a canine yelps") is None
    assert not recwarn.list  # the caller counts; phrase_token_ids would have warned about "yelps"


def test_refused_pairs_are_left_out_and_zero_scores_would_not_be_no_detection():
    queries = {"a#0": "the hound", "a#1": "a dog yelps", "b#0": "the hound"}
    assert answered_pairs(queries, {"the hound"}) == ["a#1"]
    assert answered_pairs(queries, set()) == list(queries)
    # Why refused pairs are not scored as zeros: a constant curve is detected whole at the
    # lowest threshold PSDS sweeps, and earns the long events.
    clips = make_clips(20, seed=1)
    zeros = {pid: np.zeros_like(s) for pid, s in oracle_scores(clips).items()}
    assert psds(build_pair_inputs(clips, zeros, grid=DEFAULT_GRID)) > 0.0
