import math

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.pooling import (
    AUDIO_POOLING,
    exp_softmax_pool,
    get_pooling,
    linear_softmax_pool,
    max_pool,
    mean_pool,
)

# One clip, 4 frames (the last one padded), 2 phrases.
VALID = [[0.1, 0.2], [0.5, 0.2], [0.9, 0.2]]
MASK = torch.tensor([[True, True, True, False]])

_E = [math.exp(0.1), math.exp(0.5), math.exp(0.9)]
EXPECTED = {
    "mean": [(0.1 + 0.5 + 0.9) / 3, 0.2],
    "max": [0.9, 0.2],
    "linear_softmax": [(0.01 + 0.25 + 0.81) / (0.1 + 0.5 + 0.9), 0.2],
    "exp_softmax": [(0.1 * _E[0] + 0.5 * _E[1] + 0.9 * _E[2]) / sum(_E), 0.2],
}


def _probs(pad_value: float) -> torch.Tensor:
    return torch.tensor([VALID + [[pad_value, pad_value]]])  # (1, 4, 2)


@pytest.mark.parametrize("name", sorted(AUDIO_POOLING))
@pytest.mark.parametrize("pad_value", [0.0, 1.0, 0.37, 1e6, -5.0, float("inf"), float("nan")])
def test_hand_values_and_padding_ignored(name: str, pad_value: float) -> None:
    out = get_pooling(name)(_probs(pad_value), MASK)
    assert out.shape == (1, 2)
    torch.testing.assert_close(out, torch.tensor([EXPECTED[name]]), atol=1e-6, rtol=1e-6)


def test_hand_value_literals() -> None:
    # The formulas above, as numbers worked out by hand.
    assert EXPECTED["linear_softmax"][0] == pytest.approx(0.713333, abs=1e-6)
    assert EXPECTED["exp_softmax"][0] == pytest.approx(0.603917, abs=1e-6)


@pytest.mark.parametrize("fn", [mean_pool, max_pool, linear_softmax_pool, exp_softmax_pool])
def test_gradient_finite_with_garbage_padding(fn) -> None:
    probs = _probs(float("nan")).requires_grad_()
    fn(probs, MASK).sum().backward()
    assert torch.isfinite(probs.grad).all()
    assert (probs.grad[0, 3] == 0).all()


@pytest.mark.parametrize("fn", [mean_pool, max_pool, linear_softmax_pool, exp_softmax_pool])
def test_batch_rows_independent_and_empty_clip(fn) -> None:
    probs = torch.rand(3, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    out = fn(probs, mask)
    torch.testing.assert_close(out[1], fn(probs[1:2, :2], mask[1:2, :2])[0])
    assert (out[2] == 0).all()  # no valid frame pools to 0


def test_linear_softmax_all_zero_is_finite() -> None:
    out = linear_softmax_pool(torch.zeros(1, 3, 1), torch.ones(1, 3, dtype=torch.bool))
    assert out.item() == 0.0


def test_exp_softmax_stable_for_large_values() -> None:
    probs = torch.tensor([[[1000.0], [1000.0]]])
    assert exp_softmax_pool(probs, torch.ones(1, 2, dtype=torch.bool)).item() == pytest.approx(1000.0)


def test_unknown_pooling_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="linear_softmax") as info:
        get_pooling("softmax")
    assert "'softmax'" in str(info.value) and "exp_softmax" in str(info.value)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="mask"):
        mean_pool(torch.rand(2, 3, 4), torch.ones(2, 4, dtype=torch.bool))
