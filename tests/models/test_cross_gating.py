"""QGCA's interaction: frame-wise attention over words and cross-gating, checked against the formulas."""

from __future__ import annotations

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models import cross_gating
from wstag.models.cross_gating import CrossGatingAttention, InteractionConfig
from wstag.models.word_states import WordStates

D = 6


def _interaction(attention_dim: int | None = None) -> CrossGatingAttention:
    return CrossGatingAttention(D, InteractionConfig(kind="cross_gating", attention_dim=attention_dim))


def _words(n: int = 3, l: int = 4, lengths=(4, 2, 1), batch: int | None = None) -> WordStates:
    shape = (n, l, D) if batch is None else (batch, n, l, D)
    mask = torch.arange(l)[None, :] < torch.tensor(lengths)[:, None]  # (N, L)
    if batch is not None:
        mask = mask.expand(batch, n, l)
    return WordStates(torch.randn(shape) * torch.where(mask, 1.0, 0.0)[..., None], mask.contiguous())


def _by_hand(net: CrossGatingAttention, a: torch.Tensor, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """One frame a (D,) and one phrase's words h (L, D) with mask m (L,): the formulas of the module docstring."""
    e = torch.stack([net.score.weight[0] @ torch.tanh(net.attend_frames.weight @ a + net.attend_words.weight @ hj
                                                      + net.attend_words.bias) for hj in h[m]])
    alpha = torch.softmax(e, dim=0)
    q = (alpha[:, None] * h[m]).sum(dim=0)
    a_gated = a * torch.sigmoid(net.gate_audio.weight @ q + net.gate_audio.bias)
    q_gated = q * torch.sigmoid(net.gate_query.weight @ a + net.gate_query.bias)
    return a_gated @ q_gated


@pytest.mark.parametrize("attention_dim", [None, 3])
def test_shared_and_per_clip_phrases_match_the_formulas(attention_dim):
    net = _interaction(attention_dim)
    audio = torch.randn(2, 5, D)
    shared = _words()
    out = net(audio, shared)
    assert out.shape == (2, 5, 3) and out.dtype == torch.float32
    for b, t, n in [(0, 0, 0), (1, 4, 1), (1, 2, 2)]:
        assert torch.allclose(out[b, t, n], _by_hand(net, audio[b, t], shared.states[n], shared.mask[n]), atol=1e-5)
    per_clip = _words(batch=2)
    out = net(audio, per_clip)
    assert out.shape == (2, 5, 3)
    assert torch.allclose(out[1, 3, 0], _by_hand(net, audio[1, 3], per_clip.states[1, 0], per_clip.mask[1, 0]),
                          atol=1e-5)


def test_each_frame_reads_the_phrase_its_own_way():
    net = _interaction()
    audio, words = torch.randn(1, 6, D), _words()
    alpha = net.attention(audio, words.states[None], words.mask[None])  # (1, N, T, L)
    assert alpha.shape == (1, 3, 6, 4)
    assert torch.allclose(alpha.sum(dim=-1), torch.ones(1, 3, 6))
    assert not torch.allclose(alpha[0, 0, 0], alpha[0, 0, 1])  # two frames weigh the words differently
    assert (alpha[0, 1, :, 2:] == 0).all() and (alpha[0, 2, :, 0] == 1).all()  # padding gets nothing; one word all


def test_a_frame_depends_on_its_own_audio_only():
    net = _interaction()
    audio, words = torch.randn(1, 6, D), _words()
    full = net(audio, words)
    changed = audio.clone()
    changed[0, 3:] = torch.randn(3, D)  # padded frames, or any later ones
    assert torch.allclose(net(changed, words)[0, :3], full[0, :3])
    assert torch.allclose(net(audio[:, 2:3], words)[0, 0], full[0, 2], atol=1e-6)


def test_padded_words_and_empty_phrases_do_not_count():
    net = _interaction()
    audio, words = torch.randn(2, 5, D), _words(lengths=(4, 2, 0))
    out = net(audio, words)
    noisy = words.states.clone()
    noisy[1, 2:] = torch.randn(2, D) * 100  # whatever sits at padded positions
    assert torch.allclose(net(audio, WordStates(noisy, words.mask)), out)
    assert (out[..., 2] == 0).all()  # a phrase with no word scores 0 (the logit is then the bias)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


def test_inference_in_frame_chunks_equals_one_pass(monkeypatch):
    net = _interaction()
    audio, words = torch.randn(2, 37, D), _words()
    with torch.no_grad():
        whole = net(audio, words)
        monkeypatch.setattr(cross_gating, "INFERENCE_ELEMENTS", 2 * 3 * 4 * D * 5)  # 5 frames a chunk
        assert torch.allclose(net(audio, words), whole, atol=1e-6)


def test_bf16_autocast_still_returns_float32():
    net = _interaction()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.randn(1, 4, D), _words())
    assert out.dtype == torch.float32


def test_mismatched_shapes_are_refused():
    net = _interaction()
    with pytest.raises(ValueError, match="same B and D"):
        net(torch.randn(2, 5, D), _words(batch=3))
    with pytest.raises(ValueError, match="same B and D"):
        net(torch.randn(2, 5, D + 1), _words())
    with pytest.raises(ValueError, match="word states must be"):
        WordStates(torch.randn(3, D), torch.ones(3, dtype=torch.bool))


@pytest.mark.parametrize("kwargs,message", [
    ({"kind": "bilinear"}, "interaction.kind must be one of"),
    ({"kind": "dot", "attention_dim": 8}, "attention_dim applies to kind 'cross_gating'"),
    ({"kind": "cross_gating", "attention_dim": 0}, "attention_dim must be a positive integer or null"),
    ({"kind": "cross_gating", "attention_dim": True}, "attention_dim must be a positive integer or null"),
])
def test_bad_configs_name_the_key(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        InteractionConfig(**kwargs)
    assert InteractionConfig().is_paper and not InteractionConfig(kind="cross_gating").is_paper
