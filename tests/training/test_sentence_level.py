"""Sentence-level WSTAG: text pooling, the ranking loss (Eq. 5) and s_cs, against hand values."""

import pytest
import torch

from wstag.models.factory import build_model
from wstag.models.pooling import get_pooling
from wstag.training.losses import frame_bce, ranking_loss, text_pool
from wstag.training.sentence_level import clip_sentence_scores


def test_text_pool_mean_and_sum_ignore_padded_phrases():
    scores = torch.tensor([[0.8, 0.4, 123.0]])  # the third phrase is padding
    mask = torch.tensor([[True, True, False]])
    assert text_pool(scores, mask, "mean").item() == pytest.approx(0.6)
    assert text_pool(scores, mask, "sum").item() == pytest.approx(1.2)
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        text_pool(scores, mask, "max")


def test_ranking_loss_hand_value():
    s = torch.tensor([[0.9, 0.5], [0.2, 0.6]])  # rows: audio i, columns: caption j
    m = 0.5
    # i=0, j=1: L_t = max(0, .5 + .5 - .9) = .1 ; L_a = max(0, .5 + s(1,0)=.2 - .9) = 0
    # i=1, j=0: L_t = max(0, .5 + .2 - .6) = .1 ; L_a = max(0, .5 + s(0,1)=.5 - .6) = .4
    assert ranking_loss(s, m).item() == pytest.approx((0.1 + 0.0 + 0.1 + 0.4) / 2)


def test_ranking_loss_batch_of_one_is_zero_and_shape_checked():
    assert ranking_loss(torch.tensor([[0.7]], requires_grad=True), 1.0).item() == 0.0
    with pytest.raises(ValueError, match="square"):
        ranking_loss(torch.zeros(2, 3), 1.0)


def test_frame_bce_ignores_padded_frames_and_phrases():
    logits = torch.zeros(1, 3, 2)
    targets = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]])
    frame_mask = torch.tensor([[True, True, False]])
    phrase_mask = torch.tensor([[True, False]])
    # 2 valid cells, each BCE(0.5) = ln 2, whatever the padded targets are
    assert frame_bce(logits, targets, frame_mask, phrase_mask).item() == pytest.approx(0.6931, abs=1e-4)


def _batch(model, n_frames=(401, 251), phrases=((5, 6), (7,))):
    torch.manual_seed(0)
    feats = torch.randn(len(n_frames), max(n_frames), 64)
    tokens = torch.zeros(len(phrases), 2, 1, dtype=torch.long)
    lengths = torch.zeros(len(phrases), 2, dtype=torch.long)
    for i, ps in enumerate(phrases):
        for k, tok in enumerate(ps):
            tokens[i, k, 0], lengths[i, k] = tok, 1
    return {"features": feats, "feature_lengths": torch.tensor(n_frames), "tokens": tokens,
            "token_lengths": lengths, "phrase_mask": lengths > 0}


@pytest.mark.parametrize("pool", ["mean", "max", "linear_softmax", "exp_softmax"])
def test_clip_sentence_scores_match_a_loop_and_ignore_padding(pool):
    model = build_model("cpu", 10).eval()
    batch = _batch(model)
    with torch.no_grad():
        s = clip_sentence_scores(model, batch, get_pooling(pool), "mean")
        assert s.shape == (2, 2)
        # reference: each audio alone (no padding) against each caption's real phrases
        for i, n in enumerate((401, 251)):
            emb, _ = model.encode_audio(batch["features"][i: i + 1, :n], torch.tensor([n]))
            for j, count in enumerate((2, 1)):
                toks = batch["tokens"][j, :count]
                t = model.encode_text(toks, torch.ones(count, dtype=torch.long))
                probs = torch.sigmoid(emb[0] @ t.T)[None]  # (1, T, count)
                ref = get_pooling(pool)(probs, torch.ones(1, probs.shape[1], dtype=torch.bool)).mean()
                assert s[i, j].item() == pytest.approx(ref.item(), abs=1e-5)
