"""Pairs -> sed_scores_eval inputs: ids, frame boundaries, ground truth, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation.metrics import evaluate
from wstag.evaluation.pairs import EVENT_CLASS, build_pair_inputs, evaluation_pairs, pair_id
from wstag.records import Clip, Phrase, Segment

from .synthetic import make_clips, oracle_scores


def _clip(segments_per_phrase, duration=10.0, audio_id="a.wav") -> Clip:
    phrases = tuple(
        Phrase(f"p{i}", i, i, None if segs is None else tuple(Segment(*s) for s in segs))
        for i, segs in enumerate(segments_per_phrase)
    )
    tokens = tuple(f"p{i}" for i in range(len(phrases)))
    return Clip(audio_id, " ".join(tokens), tokens, phrases, duration=duration)


def test_one_file_per_pair_with_boundaries_and_durations():
    clips = make_clips(3, seed=5)
    inputs = build_pair_inputs(clips, oracle_scores(clips), grid=DEFAULT_GRID)
    assert inputs.ids == [pair_id(c.audio_id, i) for c in clips for i in range(len(c.phrases))]
    df = inputs.scores[inputs.ids[0]]
    assert list(df.columns) == ["onset", "offset", EVENT_CLASS]
    assert len(df) == 250 and df["onset"].iloc[1] == pytest.approx(0.04)
    assert df["offset"].iloc[-1] == 10.0
    assert set(inputs.audio_durations.values()) == {10.0}


def test_last_boundary_clipped_to_clip_end():
    # 9.99 s -> 319680 samples -> (999 + 1) // 4 = 250 frames, the last ending at 10.0 s.
    clip = _clip([[(1.0, 2.0)]], duration=9.99)
    inputs = build_pair_inputs([clip], {"a.wav#0": np.zeros(250)}, grid=DEFAULT_GRID)
    assert inputs.timestamps["a.wav#0"][-1] == 9.99
    assert inputs.timestamps["a.wav#0"][-2] == pytest.approx(9.96)


def test_ground_truth_merged_clipped_and_empty_phrases_skipped():
    clip = _clip([[(1.0, 2.0), (1.5, 3.0), (3.0, 4.0), (9.5, 10.02)], [], None, [(5.0, 5.0)]])
    pairs = evaluation_pairs([clip])
    assert [p[0] for p in pairs] == ["a.wav#0"]  # no segments / only an empty one: skipped
    inputs = build_pair_inputs([clip], {"a.wav#0": np.zeros(250)}, grid=DEFAULT_GRID)
    assert inputs.ground_truth["a.wav#0"] == [(1.0, 4.0, EVENT_CLASS), (9.5, 10.0, EVENT_CLASS)]
    out = evaluate([clip], {"a.wav#0": np.zeros(250), "extra#9": np.ones(3)}, grid=DEFAULT_GRID)
    assert out["n_pairs_whole"] == 1 and out["n_pairs_skipped"] == 3


def test_unknown_duration_allows_a_shorter_clip():
    clip = _clip([[(1.0, 2.0)]], duration=None)
    inputs = build_pair_inputs([clip], {"a.wav#0": np.zeros(240)}, grid=DEFAULT_GRID)
    assert inputs.audio_durations["a.wav#0"] == 10.0
    assert inputs.timestamps["a.wav#0"][-1] == pytest.approx(9.6)
    with pytest.raises(ValueError, match=r"a\.wav#0.*1 to 250 frames"):
        build_pair_inputs([clip], {"a.wav#0": np.zeros(251)}, grid=DEFAULT_GRID)


@pytest.mark.parametrize(
    "scores, message",
    [
        ({}, r"pair 'a\.wav#1': no scores"),
        ({"a.wav#1": np.zeros(249)}, r"pair 'a\.wav#1': expected 250 frames"),
        ({"a.wav#1": np.zeros((250, 1))}, r"pair 'a\.wav#1': scores must be 1-D"),
        ({"a.wav#1": np.r_[np.zeros(249), np.nan]}, r"pair 'a\.wav#1': score of frame 249 is nan"),
    ],
)
def test_bad_inputs_name_the_pair(scores, message):
    clip = _clip([[(1.0, 2.0)], [(3.0, 4.0)]])
    scores = {"a.wav#0": np.zeros(250), **scores}
    with pytest.raises(ValueError, match=message):
        build_pair_inputs([clip], scores, grid=DEFAULT_GRID)


def test_duplicate_audio_ids_rejected():
    clip = _clip([[(1.0, 2.0)]])
    with pytest.raises(ValueError, match="twice"):
        evaluation_pairs([clip, clip])


def test_subset_and_short():
    clips = make_clips(4, seed=1)
    inputs = build_pair_inputs(clips, oracle_scores(clips), grid=DEFAULT_GRID)
    short = inputs.short()
    assert 0 < len(short) < len(inputs)
    assert set(short.ids) == set(short.short_ids)
    with pytest.raises(ValueError, match="unknown pair"):
        inputs.subset(["nope#0"])


def test_default_grid_is_40_ms():
    assert DEFAULT_GRID.output_hop_s == 0.04
