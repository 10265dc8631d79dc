"""Spliced clips (training.splice): the joined batch, each half's targets, and the loss path."""

from __future__ import annotations

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.factory import ModelConfig, build_model
from wstag.models.pooling import get_pooling
from wstag.training.config import TrainingConfig, parse_experiment
from wstag.training.losses import clip_bce
from wstag.training.phrase_level import PhraseLevelModule
from wstag.training.splicing import half_masks, splice_batch

from tests.models.conftest import TINY


def _batch() -> dict[str, torch.Tensor]:
    """Clip A (8 frames): "a b" positive, "c", "d" negatives; clip B (4 frames, padded to 8):
    "e" and "a b" positive, "f" negative."""
    feats = torch.zeros(2, 8, 3)
    feats[0] = torch.arange(24, dtype=torch.float32).reshape(8, 3) + 1
    feats[1, :4] = -torch.arange(12, dtype=torch.float32).reshape(4, 3) - 1
    tokens = torch.tensor([[[1, 2], [3, 0], [4, 0]], [[5, 0], [1, 2], [6, 0]]])
    token_lengths = torch.tensor([[2, 1, 1], [1, 2, 1]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    return {"features": feats, "feature_lengths": torch.tensor([8, 4]), "tokens": tokens,
            "token_lengths": token_lengths, "labels": labels, "phrase_mask": token_lengths > 0}


def test_a_pair_is_joined_end_to_end_and_each_half_gets_its_targets() -> None:
    batch = _batch()
    s = splice_batch(batch, 1.0, torch.Generator().manual_seed(0))
    assert s.batch["features"].shape == (1, 12, 3) and s.batch["feature_lengths"].tolist() == [12]
    a_first = bool(s.start[0] == 0 and s.end[0] == 8)  # which clip the random order put first
    order = (0, 1) if a_first else (1, 0)
    expected = torch.cat([batch["features"][0, :8], batch["features"][1, :4]] if a_first else
                         [batch["features"][1, :4], batch["features"][0, :8]])
    assert torch.equal(s.batch["features"][0], expected)
    assert torch.equal(s.batch["tokens"][0], torch.cat([batch["tokens"][order[0]], batch["tokens"][order[1]]]))
    assert s.example.tolist() == [0, 0]
    assert (s.start.tolist(), s.end.tolist()) == (([0, 8], [8, 12]) if a_first else ([0, 4], [4, 12]))
    half = {order[0]: 0, order[1]: 1}  # clip -> its half's row
    # A's half: its own three phrases as drawn, then B's positive "e" as a negative; B's "a b"
    # is spelled as A's own positive, so it is left out; B's negative "f" is no target of A's half.
    a_labels, a_mask = [1.0, 0.0, 0.0], [True, True, True]
    b_as_negatives = ([0.0, 0.0, 0.0], [True, False, False])
    # B's half: its own phrases, then A's positive "a b" as a negative: spelled as B's own positive, left out.
    b_labels, b_mask = [1.0, 1.0, 0.0], [True, True, True]
    a_as_negatives = ([0.0, 0.0, 0.0], [False, False, False])
    if a_first:
        want_a = (a_labels + b_as_negatives[0], a_mask + b_as_negatives[1])
        want_b = (a_as_negatives[0] + b_labels, a_as_negatives[1] + b_mask)
    else:
        want_a = (b_as_negatives[0] + a_labels, b_as_negatives[1] + a_mask)
        want_b = (b_labels + a_as_negatives[0], b_mask + a_as_negatives[1])
    assert (s.labels[half[0]].tolist(), s.mask[half[0]].tolist()) == want_a
    assert (s.labels[half[1]].tolist(), s.mask[half[1]].tolist()) == want_b
    assert s.own.sum().item() == 6 and not (s.own[half[0]] & s.own[half[1]]).any()


def test_a_positive_of_the_other_clip_becomes_a_negative_unless_spelled_as_an_own_positive() -> None:
    batch = _batch()
    batch["tokens"][1, 1] = torch.tensor([7, 0])  # B's second positive is now "g", not A's "a b"
    batch["token_lengths"][1, 1] = 1
    batch["phrase_mask"] = batch["token_lengths"] > 0
    s = splice_batch(batch, 1.0, torch.Generator().manual_seed(0))
    a_half = 0 if s.start[0] == 0 and s.end[0] == 8 else 1
    assert s.mask[a_half].sum().item() == 5  # A's 3 + B's two positives
    assert s.labels[a_half].sum().item() == 1.0  # only A's own positive is a positive


def test_half_frames_follow_the_time_downsampling() -> None:
    s = splice_batch(_batch(), 1.0, torch.Generator().manual_seed(0))
    out_mask = torch.ones(1, 3, dtype=torch.bool)  # 12 feature frames // 4
    halves = half_masks(s, out_mask, 4)
    first = s.end[0].item() // 4
    assert halves.tolist() == [[t < first for t in range(3)], [t >= first for t in range(3)]]


def test_rate_zero_reproduces_the_unspliced_clip_bce() -> None:
    torch.manual_seed(0)
    batch = _batch()
    batch["features"] = torch.randn(2, 8, 64)
    batch["features"][1, 4:] = 0.0  # the collate's padding
    model = build_model(ModelConfig(TINY.audio_encoder, TINY.text_encoder), vocab_size=10).eval()
    pool = get_pooling("linear_softmax")
    with torch.no_grad():
        probs, out_mask = model(batch["features"], batch["feature_lengths"], batch["tokens"], batch["token_lengths"])
        want = clip_bce(pool(probs, out_mask), batch["labels"], batch["phrase_mask"])
        s = splice_batch(batch, 0.0)
        j = s.batch
        probs2, out_mask2 = model(j["features"], j["feature_lengths"], j["tokens"], j["token_lengths"])
        got = clip_bce(pool(probs2[s.example], half_masks(s, out_mask2, 4)), s.labels, s.mask)
    torch.testing.assert_close(got, want)


def test_a_spliced_training_step_trains_and_keeps_the_own_phrases_for_the_tag_auc() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(TINY.audio_encoder, TINY.text_encoder), vocab_size=10)
    module = PhraseLevelModule(model, TrainingConfig(splice=1.0))
    module.log = lambda *a, **k: None
    batch = _batch()
    batch["features"] = torch.randn(2, 8, 64)
    loss = module.training_step(batch, 0)
    loss.backward()
    assert torch.isfinite(loss) and any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert len(module._train_scores[0]) == 6 and module._train_labels[0].sum() == 3  # the two clips' own phrases


@pytest.mark.parametrize("training, message", [
    ({"splice": 1.5}, r"x.yaml: training.splice must be a share in \[0, 1\]"),
    ({"splice": 0.5, "regime": "sstag"}, r"x.yaml: training.splice applies to the phrase_level regime"),
])
def test_bad_splice_settings_fail_at_load(training: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_experiment({"training": training}, "x.yaml")


def test_splice_zero_keeps_the_config_hash() -> None:
    assert parse_experiment({"training": {"splice": 0.0}}, "x.yaml").hash() == parse_experiment({}, "x.yaml").hash()
