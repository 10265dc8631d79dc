"""Frame diagnosis: the AUC decomposition on hand-computed arrays, the close/far queries, the CLI on a tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation.pairs import build_pair_inputs
from wstag.records import Clip, Phrase, Segment
from wstag.experiments.frame_diagnosis import (
    auc_decomposition, class_similarity, clip_probabilities, close_far_queries, frame_labels, offset_statistics,
    pooled_auc, present_vs_absent, within_pair_aucs,
)

L = np.array([True, False, False])


def _arrays(a: list[float], b: list[float]) -> dict[str, np.ndarray]:
    return {"A": np.array(a), "B": np.array(b)}


def test_offset_only_gap_is_all_cross_query_and_the_oracle_offset_recovers_it():
    # Each pair ranks its event frame first, but B sits 0.6 below A.
    scores, labels = _arrays([0.9, 0.8, 0.7], [0.3, 0.2, 0.1]), {"A": L, "B": L}
    d = auc_decomposition(scores, labels)
    assert d["within_mean"] == d["within_weighted"] == 1.0
    assert d["pooled"] == pytest.approx(6 / 8)  # 0.9 beats all four non-event frames, 0.3 beats 0.2 and 0.1
    assert d["same_pair_couple_share"] == pytest.approx(4 / 8)
    assert d["cross"] == pytest.approx(2 / 4)  # 0.9 > 0.2, 0.1; 0.3 < 0.8, 0.7
    assert d["gap"] == pytest.approx(0.25)
    assert d["pooled_minus_nonevent_median"] == 1.0 and d["recovered_share"] == pytest.approx(1.0)
    assert d["pooled_minus_median"] == 1.0 and d["pooled_rank_normalised"] == 1.0


def test_within_pair_error_is_not_recovered_by_removing_offsets():
    scores, labels = _arrays([0.2, 0.6, 0.4], [0.8, 0.5, 0.1]), {"A": L, "B": L}
    assert within_pair_aucs(scores, labels) == {"A": 0.0, "B": 1.0}
    d = auc_decomposition(scores, labels)
    assert d["within_mean"] == 0.5 and d["within_weighted"] == 0.5
    assert d["pooled"] == pytest.approx(5 / 8)  # 0.2 beats 0.1; 0.8 beats all four
    assert d["cross"] == pytest.approx(3 / 4)  # exact: 0.625 = 0.5 * 0.5 + 0.5 * 0.75
    # offsets 0.5 and 0.3 -> A [-0.3, 0.1, -0.1], B [0.5, 0.2, -0.2]: -0.3 beats none, 0.5 all four
    assert d["pooled_minus_nonevent_median"] == pytest.approx(4 / 8)
    assert math.isnan(d["recovered_share"])  # pooled is above within here: no gap to recover


def test_a_whole_clip_event_counts_only_in_cross_couples():
    scores = {"A": np.array([0.9, 0.8, 0.7]), "C": np.array([0.75, 0.75])}
    labels = {"A": L, "C": np.array([True, True])}
    d = auc_decomposition(scores, labels)
    assert d["n_pairs_all_event"] == 1 and d["n_pairs_both"] == 1
    # positives 0.9, 0.75, 0.75 vs non-events 0.8, 0.7: 2 + 1 + 1 of 6
    assert d["pooled"] == pytest.approx(4 / 6) == pooled_auc(scores, labels)
    assert d["same_pair_couple_share"] == pytest.approx(2 / 6)
    assert d["cross"] == pytest.approx(2 / 4)
    assert d["event_frame_share"] == pytest.approx(3 / 5)
    assert d["whole_clip_vs_nonevent"] == pytest.approx(2 / 4)  # 0.75, 0.75 vs 0.8, 0.7


def test_offset_statistics_class_share():
    scores, labels = _arrays([0.9, 0.8, 0.7], [0.3, 0.2, 0.1]), {"A": L, "B": L}
    o = offset_statistics(scores, labels, {"A": "x", "B": "y"})  # offsets 0.75 and 0.15
    assert o["offset_mean"] == pytest.approx(0.45) and o["offset_std"] == pytest.approx(0.3)
    assert o["class_share"] == pytest.approx(1.0)
    assert offset_statistics(scores, labels, {"A": "x", "B": "x"})["class_share"] == pytest.approx(0.0)


def test_clip_probabilities_use_the_named_pooling_and_present_vs_absent_auc():
    s = {"p": np.array([0.5, 1.0])}
    assert clip_probabilities(s, "linear_softmax")["p"] == pytest.approx(1.25 / 1.5)
    assert clip_probabilities(s, "max")["p"] == pytest.approx(1.0)
    d = present_vs_absent({"a": 0.9, "b": 0.4}, {"c": 0.5, "d": 0.1})
    assert d["auc"] == pytest.approx(3 / 4) and d["present"]["mean"] == pytest.approx(0.65)


def _clip(audio_id: str, phrases: list[tuple[str, str]], present: list[str]) -> Clip:
    ph = tuple(Phrase(t, k, k, (Segment(1.0, 2.0),)) for k, (t, _) in enumerate(phrases))
    return Clip(audio_id, " ".join(t for t, _ in phrases), tuple(t for t, _ in phrases), ph, duration=10.0,
                extra={"phrase_classes": [c for _, c in phrases], "classes_present": present})


def test_frame_labels_follow_the_segments_on_the_grid():
    clips = [_clip("a.flac", [("door", "door_close")], ["door_close"])]
    n = DEFAULT_GRID.n_output_frames_for_duration(10.0)
    inputs = build_pair_inputs(clips, {"a.flac#0": np.zeros(n)}, grid=DEFAULT_GRID)
    y = frame_labels(inputs, DEFAULT_GRID)["a.flac#0"]
    assert y.dtype == bool and y.sum() == round(1.0 / DEFAULT_GRID.output_hop_s) and y[30] and not y[20]


def test_close_and_far_queries_pick_absent_classes_by_centroid_similarity():
    names = ["door_close", "door_open", "dog", "rain", "siren"]
    sim = np.array([[1.0, 0.9, 0.1, 0.2, 0.3],
                    [0.9, 1.0, 0.1, 0.2, 0.3],
                    [0.1, 0.1, 1.0, 0.5, 0.4],
                    [0.2, 0.2, 0.5, 1.0, 0.6],
                    [0.3, 0.3, 0.4, 0.6, 1.0]])
    texts = {c: [f"{c} one", f"{c} two"] for c in names}
    clips = [_clip("a.flac", [("a door shuts", "door_close")], ["door_close"]),
             _clip("b.flac", [("a door shuts", "door_close")], ["door_close", "door_open"])]
    q = close_far_queries(clips, names, sim, texts)
    assert q["close"]["a.flac#0"]["class"] == "door_open" and q["close"]["a.flac#0"]["sim"] == 0.9
    assert q["close"]["b.flac#0"]["class"] == "siren"  # door_open plays in b: not a wrong query there
    assert q["far"]["a.flac#0"]["class"] in {"dog", "rain"}  # below the median of 0.9, 0.1, 0.2, 0.3
    assert q["close"]["a.flac#0"]["text"] in texts["door_open"]
    assert close_far_queries(clips, names, sim, texts) == q  # deterministic


def test_class_similarity_of_centroids():
    vec = {"x": [1.0, 0.0], "y": [0.0, 1.0], "z": [1.0, 0.0]}
    names, sim = class_similarity({"b": ["y"], "a": ["x", "z"]}, lambda ts: np.array([vec[t] for t in ts]))
    assert names == ["a", "b"] and sim[0, 1] == pytest.approx(0.0) and sim[0, 0] == pytest.approx(1.0)


def test_one_stacked_pass_scores_each_query_set_as_score_pairs_does(tmp_path):
    from tests.evaluation.synthetic import make_clips
    from tests.inference.tiny import make_model_dir
    from wstag.experiments.frame_diagnosis import score_query_sets
    from wstag.inference.scoring import score_pairs
    from wstag.models.checkpoint import load_model

    model, vocab, _ = load_model(make_model_dir(tmp_path / "m", ["a dog barks", "rain falls"]))
    clips = make_clips(3, seed=1)
    rng = np.random.default_rng(0)
    feats = {c.audio_id: rng.standard_normal((200, model.front_end.n_mels)).astype(np.float32) for c in clips}
    wrong = {pid: "rain falls" for pid in score_pairs(model, vocab, clips, feats)}
    got = score_query_sets(model, vocab, clips, feats, {"right": None, "wrong": wrong})
    for name, q in (("right", None), ("wrong", wrong)):
        want = score_pairs(model, vocab, clips, feats, queries=q)
        assert set(got[name]) == set(want)
        for pid in want:
            np.testing.assert_allclose(got[name][pid], want[pid], rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_cli_writes_json_and_markdown_for_a_tiny_model(tiny_corpus, tmp_path):
    from tests.inference.tiny import make_model_dir
    from wstag.cli.main import app

    model = make_model_dir(tmp_path / "tiny_model")
    out = tmp_path / "diag" / "frame-diagnosis"
    res = CliRunner().invoke(app, ["experiments", "frame-diagnosis", str(model), str(model), "--data",
                                   str(tiny_corpus), "--out", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(out.with_suffix(".json").read_text())
    assert len(d["models"]) == 2 and d["models"][0]["auc"] == d["models"][1]["auc"]
    m = d["models"][0]
    assert 0.0 <= m["auc"]["pooled"] <= 1.0 and m["auc"]["n_pairs"] == d["n_pairs"]
    assert set(m["close_far"]) >= {"all", "doors", "other"}
    assert "| tiny_model |" in out.with_suffix(".md").read_text()
