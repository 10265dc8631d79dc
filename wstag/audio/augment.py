"""Recording-level augmentation on log-mel features (training only).

The embedded benchmark's test clips use recordings never heard in training, and most
classes have only 3-10 training recordings, so a model easily learns *those*
recordings instead of the class. These augmentations make each training occurrence
sound like another take of the same sound:

- ``freq_shift``: roll the mel axis by a random whole number of bins in
  ``[-freq_shift, freq_shift]`` per clip, about a pitch shift (edges repeat the last bin).
- ``filter_gain_db``: FilterAugment (Nam et al., ICASSP 2022, "linear" type): a random
  gain in ``[-g, g]`` dB at 2 to ``filter_bands + 1`` random points of the mel axis,
  linearly interpolated between them, as a different microphone or room colours a
  recording.
- ``level_db``: one random gain in ``[-level_db, level_db]`` dB per clip.

Features are log-mel in dB (``wstag.audio.features``), so every gain is an addition.
In eval mode the module is the identity.
"""

from __future__ import annotations

import torch
from torch import nn


class RecordingAugment(nn.Module):
    """Pitch-like shift, FilterAugment and level change of (B, T, F) log-mel in dB."""

    def __init__(self, freq_shift: int = 0, filter_gain_db: float = 0.0, filter_bands: int = 4,
                 level_db: float = 0.0) -> None:
        super().__init__()
        if freq_shift < 0 or filter_gain_db < 0 or level_db < 0 or filter_bands < 1:
            raise ValueError("RecordingAugment: freq_shift, filter_gain_db and level_db must be >= 0 "
                             f"and filter_bands >= 1, got {freq_shift}, {filter_gain_db}, {level_db}, {filter_bands}")
        self.freq_shift, self.filter_gain_db = freq_shift, filter_gain_db
        self.filter_bands, self.level_db = filter_bands, level_db

    @property
    def active(self) -> bool:
        return bool(self.freq_shift or self.filter_gain_db or self.level_db)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.active:
            return x
        if x.ndim != 3:
            raise ValueError(f"RecordingAugment expects (B, T, F) features, got {tuple(x.shape)}")
        b, _, f = x.shape
        if self.freq_shift:
            x = shift_bins(x, torch.randint(-self.freq_shift, self.freq_shift + 1, (b,), device=x.device))
        gain = torch.zeros(b, 1, f, device=x.device, dtype=x.dtype)
        if self.filter_gain_db:
            gain = gain + filter_gains(b, f, self.filter_bands, self.filter_gain_db, x.device).to(x.dtype)[:, None, :]
        if self.level_db:
            gain = gain + (torch.rand(b, 1, 1, device=x.device, dtype=x.dtype) * 2 - 1) * self.level_db
        return x + gain

    def extra_repr(self) -> str:
        return (f"freq_shift={self.freq_shift}, filter_gain_db={self.filter_gain_db}, "
                f"filter_bands={self.filter_bands}, level_db={self.level_db}")


def shift_bins(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move (B, T, F) features up by ``shifts[b]`` bins (down if negative), repeating the edge bin."""
    f = x.shape[2]
    src = (torch.arange(f, device=x.device)[None, :] - shifts[:, None]).clamp(0, f - 1)  # (B, F)
    return torch.gather(x, 2, src[:, None, :].expand(-1, x.shape[1], -1))


def filter_gains(batch: int, n_bins: int, max_bands: int, max_db: float, device=None) -> torch.Tensor:
    """(batch, n_bins) dB gains, piecewise linear through random (bin, gain) points.

    Each row has ``k + 1`` points, k uniform in [1, max_bands]: the two ends of the axis
    and k - 1 random interior bins, each with a gain uniform in [-max_db, max_db].
    """
    out = torch.empty(batch, n_bins, device=device)
    bins = torch.arange(n_bins, device=device, dtype=torch.float32)
    for i in range(batch):
        k = int(torch.randint(1, max_bands + 1, (1,)))
        inner = torch.randperm(max(n_bins - 2, 0), device=device)[: k - 1].float() + 1
        xs = torch.cat([torch.tensor([0.0], device=device), inner.sort().values,
                        torch.tensor([n_bins - 1.0], device=device)])
        ys = (torch.rand(len(xs), device=device) * 2 - 1) * max_db
        seg = torch.searchsorted(xs, bins, right=True).clamp(1, len(xs) - 1)  # right end of each bin's segment
        x0, x1, y0, y1 = xs[seg - 1], xs[seg], ys[seg - 1], ys[seg]
        out[i] = y0 + (y1 - y0) * (bins - x0) / (x1 - x0)
    return out
