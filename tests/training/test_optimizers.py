"""Optimiser and schedule options of the learning ladder (issue 24)."""

from types import SimpleNamespace

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.factory import build_model
from wstag.training.config import parse_experiment
from wstag.training.optimizers import parameter_groups, warmup_factor
from wstag.training.phrase_level import PhraseLevelModule


def test_warmup_factor_by_hand() -> None:
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_adamw_decays_weights_only() -> None:
    model = build_model({"preset": "cpu_fast", "similarity": {"learned": True}}, vocab_size=10)
    decay, keep = parameter_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and keep["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in keep["params"])
    assert any(p is model.similarity.bias for p in keep["params"])
    n = sum(1 for p in model.parameters() if p.requires_grad)
    assert len(decay["params"]) + len(keep["params"]) == n


def test_cosine_with_warmup_by_hand() -> None:
    cfg = parse_experiment({"training": {"lr": 0.002, "lr_schedule": "cosine", "optimizer": "adamw",
                                         "warmup_epochs": 1.0, "max_epochs": 4}}, "x.yaml")
    module = PhraseLevelModule(build_model("cpu_fast", vocab_size=10), cfg.training)
    module._trainer = SimpleNamespace(estimated_stepping_batches=8)  # 2 steps per epoch
    setup = module.configure_optimizers()
    opt, sched = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    assert isinstance(opt, torch.optim.AdamW)
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # warm-up over 2 steps (0.5, 1.0) times the cosine 0.5 (1 + cos(pi k / 8))
    import math
    want = [0.002 * w * 0.5 * (1 + math.cos(math.pi * k / 8)) for k, w in enumerate([0.5, 1.0, 1.0])]
    assert lrs == pytest.approx(want)


@pytest.mark.parametrize("key,value", [("optimizer", "sgd"), ("weight_decay", -0.1), ("warmup_epochs", 50.0)])
def test_bad_optimiser_settings_are_refused(key, value) -> None:
    with pytest.raises(ConfigError, match=f"training.{key}"):
        parse_experiment({"training": {key: value, "max_epochs": 12}}, "x.yaml")


def test_new_keys_leave_old_hashes_alone() -> None:
    plain = parse_experiment({"training": {"lr": 0.002}}, "x.yaml")
    same = parse_experiment({"training": {"lr": 0.002, "optimizer": "adam", "weight_decay": 0.0,
                                          "warmup_epochs": 0.0}}, "x.yaml")
    other = parse_experiment({"training": {"lr": 0.002, "optimizer": "adamw"}}, "x.yaml")
    assert plain.hash() == same.hash() != other.hash()
