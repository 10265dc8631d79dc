"""The frame-phrase logit: the paper's plain dot product, or scaled and shifted (issue 24)."""

import math

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.factory import ModelConfig, build_model
from wstag.models.grounding import GroundingModel
from wstag.models.similarity import Similarity, SimilarityConfig


def test_the_paper_form_is_the_bare_dot_product_and_stores_nothing() -> None:
    sim = Similarity()
    dot = torch.tensor([[0.5, -2.0]])
    assert torch.equal(sim(dot), dot)
    assert sim.state_dict() == {}  # old model folders load unchanged
    assert list(sim.parameters()) == []


def test_scale_and_bias_by_hand() -> None:
    sim = Similarity(SimilarityConfig(scale=4.0, bias=-2.0))
    torch.testing.assert_close(sim(torch.tensor([0.5, -1.0, 0.0])), torch.tensor([0.0, -6.0, -2.0]))
    assert sim.state_dict() == {}  # fixed: rebuilt from the config


def test_a_learned_scale_and_bias_train_and_are_saved() -> None:
    sim = Similarity(SimilarityConfig(scale=10.0, bias=-3.0, learned=True))
    assert set(sim.state_dict()) == {"log_scale", "bias"}
    assert float(sim.log_scale.detach()) == pytest.approx(math.log(10.0))
    loss = sim(torch.tensor([1.0, 2.0])).sum()
    loss.backward()
    # d/d bias = 2 (two logits); d/d log_scale = scale * sum(dot) = 10 * 3
    assert float(sim.bias.grad) == pytest.approx(2.0)
    assert float(sim.log_scale.grad) == pytest.approx(30.0)


@pytest.mark.parametrize("bad", [{"scale": 0.0}, {"scale": -1.0}, {"bias": float("nan")}, {"scale": "x"},
                                 {"learned": "yes"}])
def test_bad_values_are_refused_by_name(bad) -> None:
    with pytest.raises(ConfigError, match="similarity"):
        SimilarityConfig(**bad)


def test_model_config_round_trips_and_names_bad_keys() -> None:
    cfg = ModelConfig.from_dict({"preset": "cpu_fast", "similarity": {"scale": 4.0, "learned": True}})
    assert cfg.similarity == SimilarityConfig(scale=4.0, learned=True)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert "similarity" not in ModelConfig.from_dict({"preset": "cpu_fast"}).to_dict()  # the paper: as before
    with pytest.raises(ConfigError, match="model.similarity.scael"):
        ModelConfig.from_dict({"similarity": {"scael": 2.0}})
    with pytest.raises(ConfigError, match="similarity.scale"):
        ModelConfig.from_dict({"similarity": {"scale": -2.0}})


def test_query_vectors_give_the_models_logits() -> None:
    torch.manual_seed(0)
    model = build_model({"preset": "cpu_fast", "similarity": {"scale": 3.0, "bias": -1.5, "learned": True}}, 10)
    audio, text = torch.randn(1, 5, 128), torch.randn(2, 128)
    w, b = model.query_vectors(text)
    torch.testing.assert_close(model.frame_phrase_logits(audio, text)[0], audio[0] @ w.T + b)
    assert isinstance(model.similarity, Similarity) and b == pytest.approx(-1.5)
    torch.testing.assert_close(model.frame_phrase_probs(audio, text), torch.sigmoid(3 * GroundingModel.dot_products(audio, text) - 1.5))
