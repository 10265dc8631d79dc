"""Log-mel against librosa (SPEC 1), and SpecAugment's training-only masking."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from wstag.audio.features import LogMel, SpecAugment, log_mel_numpy
from wstag.audio.frames import n_feature_frames

SR = 32000


def _noise_and_chirp(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Noise plus a 100 Hz -> 12 kHz chirp, with 0.1 s of digital silence first."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    chirp = np.sin(2 * np.pi * (100 * t + (12000 - 100) / (2 * seconds) * t**2))
    x = 0.05 * rng.standard_normal(len(t)) + 0.5 * chirp
    x[: SR // 10] = 0.0
    return x.astype(np.float32)


def _librosa_log_mel(x: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=x, sr=SR, n_fft=1024, hop_length=320, win_length=1024, window="hann",
        center=True, power=2.0, n_mels=64, fmin=50, fmax=14000, htk=False, norm="slaney",
    )  # librosa 0.11's default pad_mode is "constant"
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T  # (T, 64)


def test_matches_librosa():
    x = _noise_and_chirp()
    ref = _librosa_log_mel(x)
    out = LogMel()(torch.from_numpy(x)[None])[0].numpy()  # (T, 64)
    assert out.shape == ref.shape == (n_feature_frames(len(x)), 64)
    assert ref.min() == pytest.approx(-100.0, abs=1e-3)  # the silent start hits amin
    assert np.abs(out - ref).max() < 1e-3  # measured: ~2e-5 dB


@pytest.mark.parametrize("n", [100, 319, 320, 1024, 32000 + 7])
def test_frame_count_and_batching(n):
    x = torch.from_numpy(np.stack([_noise_and_chirp(1.0, s)[:n] for s in range(3)]))
    out = LogMel()(x)
    assert out.shape == (3, n_feature_frames(n), 64)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out[1].numpy(), log_mel_numpy(x[1].numpy()), atol=1e-4)


def test_float32_under_autocast_and_buffers():
    x = torch.from_numpy(_noise_and_chirp(1.0))[None]
    module = LogMel()
    plain = module(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = module(x)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed, plain)
    assert module.state_dict() == {}  # filters are rebuilt, not checkpointed
    with pytest.raises(ValueError, match="batch, n_samples"):
        module(x[0])


def test_spec_augment_masks_rows_and_columns_in_training_only():
    torch.manual_seed(0)
    aug = SpecAugment(time_width=20, time_stripes=2, freq_width=8, freq_stripes=2)
    x = torch.ones(16, 100, 64, requires_grad=True)
    aug.train()
    y = aug(x)
    assert y.shape == x.shape
    assert torch.all(x == 1)  # not modified in place
    zero = y == 0
    assert zero.any()
    rows = zero.all(dim=2)  # (B, T) fully masked time frames
    cols = zero.all(dim=1)  # (B, F) fully masked mel bins
    assert torch.equal(zero, rows[:, :, None] | cols[:, None, :])  # only whole stripes
    assert rows.sum(1).max() <= 2 * 19 and cols.sum(1).max() <= 2 * 7
    y.sum().backward()  # differentiable
    aug.eval()
    assert aug(x) is x


def test_spec_augment_edge_cases():
    aug = SpecAugment(time_stripes=0, freq_stripes=0).train()
    x = torch.randn(2, 10, 64)
    assert torch.equal(aug(x), x)
    aug = SpecAugment(time_width=64).train()
    assert aug(torch.randn(2, 5, 64)).shape == (2, 5, 64)  # wider than the clip
    with pytest.raises(ValueError):
        SpecAugment(time_width=-1)
