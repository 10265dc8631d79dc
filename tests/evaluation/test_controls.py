"""Controls: wrong-query assignment and scoring, loudness scores."""

from __future__ import annotations

import random

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID, SAMPLE_RATE
from wstag.evaluation import controls
from wstag.evaluation.metrics import evaluate
from wstag.records import Clip, Phrase, Segment

from .synthetic import make_clips, oracle_scores


def test_wrong_query_never_present_and_deterministic():
    clips = make_clips(30, seed=0)
    by_id = {c.audio_id: c for c in clips}
    a = controls.wrong_query_assignment(clips)
    assert len(a) == sum(len(c.phrases) for c in clips)
    for pid, (other, j) in a.items():
        clip = by_id[pid.split("#")[0]]
        assert other != clip.audio_id
        assert by_id[other].extra["phrase_classes"][j] not in clip.extra["classes_present"]
    shuffled = clips[:]
    random.Random(1).shuffle(shuffled)
    assert controls.wrong_query_assignment(shuffled) == a
    assert len(set(a.values())) > len(a) // 3  # spread over many phrases, not one
    first, (other, j) = next(iter(a.items()))
    assert controls.wrong_query_phrases(clips)[first] == by_id[other].phrases[j]


def test_wrong_query_falls_back_to_content_words_without_classes():
    def clip(aid: str, texts: list[str]) -> Clip:
        toks = tuple(w for t in texts for w in t.split())
        phrases, k = [], 0
        for t in texts:
            n = len(t.split())
            phrases.append(Phrase(t, k, k + n - 1, (Segment(1.0, 2.0),)))
            k += n
        return Clip(aid, " ".join(toks), toks, tuple(phrases), duration=10.0)

    clips = [
        clip("a", ["a dog barks", "rain falls"]),
        clip("b", ["dogs barking loudly", "a car passes"]),
        clip("c", ["rain falling", "a bird sings"]),
    ]
    texts = {c.audio_id: [controls.content_stems(p.text) for p in c.phrases] for c in clips}
    by_id = {c.audio_id: c for c in clips}
    for pid, (other, j) in controls.wrong_query_assignment(clips).items():
        mine = frozenset().union(*texts[pid.split("#")[0]])
        assert not (controls.content_stems(by_id[other].phrases[j].text) & mine), pid
    assert controls.content_stems("Dogs barking loudly") == {"dog", "bark"}


def test_wrong_query_impossible_raises_naming_the_pair():
    clip = make_clips(1, seed=0)[0]
    with pytest.raises(ValueError, match=r"pair 'clip000\.flac#0'"):
        controls.wrong_query_assignment([clip])


def test_wrong_query_psds_and_specificity():
    clips = make_clips(10, seed=4)
    oracle = oracle_scores(clips)
    # sed_scores_eval sweeps every threshold, down to one below the lowest score, where a
    # flat score detects the whole clip: all-zero scores are a constant predictor, whose
    # PSDS is that of long phrases, not 0.
    zeros = {k: np.zeros_like(v) for k, v in oracle.items()}
    halves = {k: np.full_like(v, 0.5) for k, v in oracle.items()}
    assert controls.wrong_query_psds(clips, zeros, grid=DEFAULT_GRID) == evaluate(clips, halves, grid=DEFAULT_GRID)["psds_whole"] > 0
    # A "fires on the wrong sound" model: the other clip's phrase truth as scores.
    wrong = {pid: oracle[f"{a}#{j}"] for pid, (a, j) in controls.wrong_query_assignment(clips).items()}
    wq = controls.wrong_query_psds(clips, wrong, grid=DEFAULT_GRID)
    whole = evaluate(clips, oracle, grid=DEFAULT_GRID)["psds_whole"]
    assert wq < 60 and controls.specificity(whole, wq) == round(100.0 - wq, 1)


def test_loudness_scores_range_and_peak():
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.01, 10 * SAMPLE_RATE)
    audio[2 * SAMPLE_RATE : 3 * SAMPLE_RATE] *= 30  # loud from 2 to 3 s
    s = controls.loudness_scores(audio, grid=DEFAULT_GRID)
    assert s.shape == (250,)
    assert s.min() == 0.0 and s.max() == 1.0
    loud = np.zeros(250, bool)
    loud[50:75] = True
    assert s[loud].min() > s[~loud].max()
    assert np.all(controls.loudness_scores(np.zeros(SAMPLE_RATE), grid=DEFAULT_GRID) == 0.0)


def test_loudness_pair_scores_shared_by_a_clips_pairs():
    clips = make_clips(2, seed=0)
    rng = np.random.default_rng(0)
    audio = {c.audio_id: rng.normal(0, 0.1, 10 * SAMPLE_RATE) for c in clips}
    scores = controls.loudness_pair_scores(clips, audio, grid=DEFAULT_GRID)
    assert set(scores) == set(oracle_scores(clips))
    np.testing.assert_array_equal(scores[f"{clips[0].audio_id}#0"], scores[f"{clips[0].audio_id}#1"])
    out = evaluate(clips, scores, grid=DEFAULT_GRID)
    assert 0.0 <= out["psds_whole"] <= 100.0
    with pytest.raises(ValueError, match="no audio"):
        controls.loudness_pair_scores(clips, {}, grid=DEFAULT_GRID)
