import math

import pytest
import torch

from wstag.audio.features import LogMel
from wstag.audio.frames import DEFAULT_GRID, FrameGrid
from wstag.errors import ConfigError
from wstag.models.crnn import CRNNConfig
from wstag.models.factory import build_model
from wstag.models.grounding import GroundingModel
from wstag.models.text_encoder import TextEncoderConfig

from .conftest import TINY


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_similarity_is_sigmoid_of_dot_product_by_hand() -> None:
    audio = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]]])  # (B=1, T=3, D=2)
    text = torch.tensor([[1.0, 1.0], [0.5, -1.0]])  # (N=2, D)
    logits = GroundingModel.dot_products(audio, text)
    expected = [[1.0, 0.5], [2.0, -2.0], [0.0, -1.5]]
    torch.testing.assert_close(logits, torch.tensor([expected]))
    probs = torch.sigmoid(GroundingModel.dot_products(audio, text))
    torch.testing.assert_close(probs, torch.tensor([[[_sigmoid(v) for v in row] for row in expected]]))


def test_scores_stay_float32_under_bf16_autocast() -> None:
    # 3.0 + 2**-7 is not a bf16 number (8 mantissa bits): a bf16 head would round it.
    audio = torch.tensor([[[1.0, 2.0 ** -7]]]).bfloat16().float()  # exact in bf16
    text = torch.tensor([[3.0, 1.0]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = GroundingModel.dot_products(audio.bfloat16(), text)
    assert logits.dtype == torch.float32
    assert logits.item() == 3.0 + 2.0 ** -7


def test_shared_and_per_clip_phrases_agree() -> None:
    audio = torch.randn(3, 5, 4)
    text = torch.randn(6, 4)
    shared = GroundingModel.dot_products(audio, text)  # (B, T, N)
    per_clip = GroundingModel.dot_products(audio, text.expand(3, 6, 4))
    assert shared.shape == (3, 5, 6)
    torch.testing.assert_close(shared, per_clip)
    with pytest.raises(ValueError, match="phrase embeddings"):
        GroundingModel.dot_products(audio, torch.randn(2, 6, 4))


def _batch(b: int = 2, n: int = 3, l: int = 4):
    feats = torch.randn(b, 45, 64) * 10 - 40
    feat_lengths = torch.tensor([45, 30])[:b]
    tokens = torch.randint(2, 10, (b, n, l))
    token_lengths = torch.randint(1, l + 1, (b, n))
    return feats, feat_lengths, tokens, token_lengths


def test_forward_shapes_mask_and_logits() -> None:
    model = build_model(TINY, vocab_size=10).eval()
    feats, feat_lengths, tokens, token_lengths = _batch()
    with torch.no_grad():
        probs, mask = model(feats, feat_lengths, tokens, token_lengths)
        logits, mask2 = model.forward_logits(feats, feat_lengths, tokens, token_lengths)
    assert probs.shape == (2, 11, 3) and mask.shape == (2, 11)
    assert mask.sum(dim=1).tolist() == [11, 7]
    assert torch.equal(mask, mask2)
    torch.testing.assert_close(probs, torch.sigmoid(logits))
    # forward == the towers composed by hand
    emb, _ = model.encode_audio(feats, feat_lengths)
    text = model.encode_text(tokens[1], token_lengths[1])  # clip 1's phrases
    torch.testing.assert_close(probs[1], model.frame_phrase_probs(emb[1:2], text)[0])


def test_forward_backward() -> None:
    model = build_model(TINY, vocab_size=10).train()
    logits, mask = model.forward_logits(*_batch())
    logits[mask].sum().backward()
    assert model.text_encoder.embedding.weight.grad is not None
    assert model.audio_encoder.gru.weight_hh_l0.grad is not None


def test_from_waveform_matches_logmel_then_encoder() -> None:
    model = build_model(TINY, vocab_size=10).eval()
    lengths = torch.tensor([16000, 9000])
    wave = torch.randn(2, 16000) * 0.1
    wave[1, 9000:] = 0.0  # zero-padded, as a collate function pads
    with torch.no_grad():
        emb, out_lengths = model.from_waveform(wave, lengths)
        feats = LogMel()(wave)
        ref, _ = model.encode_audio(feats, torch.tensor([51, 29]))
        alone, _ = model.from_waveform(wave[1:, :9000])
    assert out_lengths.tolist() == [DEFAULT_GRID.n_output_frames(16000), DEFAULT_GRID.n_output_frames(9000)]
    torch.testing.assert_close(emb, ref)
    torch.testing.assert_close(emb[1, :7], alone[0], atol=1e-5, rtol=1e-5)


def test_model_holds_its_grid() -> None:
    grid = FrameGrid(hop=160)
    model = GroundingModel(TINY.audio_encoder, TINY.text_encoder, 10, grid)
    assert model.grid == grid and model.frontend.hop == 160
    with pytest.raises(ConfigError, match="time_downsample"):
        GroundingModel(TINY.audio_encoder, TINY.text_encoder, 10, FrameGrid(time_downsample=2))


def test_embedding_sizes_must_agree() -> None:
    with pytest.raises(ConfigError, match="embed_dim"):
        GroundingModel(CRNNConfig(channels=(4, 4, 8, 8), embed_dim=8, gru_hidden=4),
                       TextEncoderConfig(embed_dim=16), 10)
