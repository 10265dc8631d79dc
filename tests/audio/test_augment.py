"""Recording augmentation: hand-checked shifts and gains, identity in eval mode."""

import pytest
import torch

from wstag.audio.augment import RecordingAugment, filter_gains, shift_bins


def test_shift_bins_moves_up_and_down_repeating_the_edge():
    x = torch.arange(5.0).repeat(2, 3, 1)  # (B=2, T=3, F=5): bin i holds i
    out = shift_bins(x, torch.tensor([2, -1]))
    assert out[0, 0].tolist() == [0, 0, 0, 1, 2]  # bin 0's content now sits in bin 2
    assert out[1, 2].tolist() == [1, 2, 3, 4, 4]


def test_filter_gains_are_bounded_and_piecewise_linear():
    torch.manual_seed(0)
    g = filter_gains(200, 64, max_bands=4, max_db=6.0)
    assert g.shape == (200, 64) and g.abs().max() <= 6.0 + 1e-5
    # at most 3 interior kinks: the second difference is non-zero at <= 3 bins
    kinks = (g.diff(dim=1).diff(dim=1).abs() > 1e-4).sum(dim=1)
    assert kinks.max() <= 3 and kinks.min() == 0  # one band (k = 1) is a straight line
    assert g.std() > 1.0  # not all flat


def test_one_band_filter_is_the_line_between_its_end_gains():
    torch.manual_seed(3)
    g = filter_gains(1, 11, max_bands=1, max_db=10.0)[0]
    line = g[0] + (g[-1] - g[0]) * torch.arange(11) / 10
    assert torch.allclose(g, line, atol=1e-5)


def test_level_gain_is_one_offset_per_clip_and_eval_is_identity():
    aug = RecordingAugment(level_db=6.0)
    x = torch.randn(4, 50, 64)
    out = aug.train()(x)
    offset = out - x
    assert torch.allclose(offset, offset[:, :1, :1].expand_as(offset), atol=1e-6)
    assert offset.abs().max() <= 6.0 and offset[:, 0, 0].unique().numel() == 4
    assert torch.equal(aug.eval()(x), x)
    assert torch.equal(RecordingAugment().train()(x), x)  # all off


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="must be >= 0"):
        RecordingAugment(freq_shift=-1)
    with pytest.raises(ValueError, match=r"\(B, T, F\)"):
        RecordingAugment(level_db=1.0).train()(torch.zeros(3, 4))
