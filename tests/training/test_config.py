"""Experiment configs: every shipped YAML loads; bad ones fail naming file and key."""

from pathlib import Path

import pytest

from wstag.errors import ConfigError
from wstag.models.factory import build_model
from wstag.training.config import load_experiment, parse_experiment

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_build(path):
    cfg = load_experiment(path)
    assert cfg.name == path.stem
    build_model(cfg.model, vocab_size=10)


def test_overrides_use_dotted_paths_and_yaml_values():
    cfg = parse_experiment({"training": {"lr": 0.001}}, "x.yaml",
                           ["training.max_epochs=3", "training.lr=5e-4", "model.preset=paper"])
    assert cfg.training.max_epochs == 3 and cfg.training.lr == 5e-4 and cfg.model == {"preset": "paper"}


@pytest.mark.parametrize("data,message", [
    ({"training": {"batch_sise": 8}}, "unknown keys in 'training'"),
    ({"training": {"regime": "magic"}}, "training.regime must be one of"),
    ({"training": {"audio_pooling": "median"}}, "training.audio_pooling must be one of"),
    ({"training": {"lr": 2.0}}, "training.lr must be in"),
    ({"training": {"batch_size": "big"}}, "training.batch_size must be int"),
    ({"training": {"n_phrases": 0}}, "training.n_phrases must be >= 1"),
    ({"sampling": {"strategy": "psychic"}}, "sampling.strategy must be one of"),
    ({"sampling": {"threshold": 1.5}}, "sampling.threshold is a cosine similarity"),
    ({"sampling": {"n_clusters": 1}}, "sampling.n_clusters must be >= 2"),
    ({"sampling": {"clustering": "dbscan"}}, "sampling.clustering must be one of"),
    ({"sampling": {"cluster_draw": "greedy"}}, "sampling.cluster_draw must be one of"),
    ({"clap": {"batch_size": 1}}, "clap.batch_size must be >= 2"),
    ({"training": {"regime": "sstag"}, "sampling": {"strategy": "clustering"}}, "regime 'sstag' draws no negatives"),
    ({"clap": {"epochs": 3}}, "unknown keys in 'clap'"),
    ({"clap": {"model": {"chanels": [8]}}}, "clap.model: clap: unknown keys"),
    ({"colour": 1}, "unknown top-level keys"),
    ({"training": {"regime": "self_supervised"}}, "training.teacher is required"),
    ({"training": {"monitor": "val/acc"}}, "training.monitor must be one of"),
    ({"training": {"lr_schedule": "linear"}}, "training.lr_schedule must be one of"),
    ({"training": {"ema_decay": 1.5}}, r"training.ema_decay must be in \(0, 1\)"),
    ({"training": {"threads": 0}}, r"training.threads must be an integer >= 1"),
    ({"training": {"threads": True}}, r"training.threads must be an integer >= 1"),
    ({"training": {"precision": 16}}, r"training.precision must be one of \['32', 'bf16', 'auto'\], got '16'"),
    ({"training": {"precision": "fp8"}}, "training.precision must be one of"),
    ({"training": {"regime": "sstag", "monitor": "val/tag_auc"}}, "val/tag_auc needs sampled negatives"),
])
def test_bad_configs(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_experiment(data, "bad.yaml")


def test_precision_reads_a_yaml_number_and_resolves_auto(monkeypatch):
    from wstag.training import precision

    assert parse_experiment({"training": {"precision": 32}}, "x.yaml").training.precision == "32"
    assert precision.lightning_precision("bf16") == "bf16-mixed"
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    assert precision.resolve_precision("auto") == "32"
    monkeypatch.setattr(precision, "native_bf16", lambda: True)
    assert precision.lightning_precision("auto") == "bf16-mixed"
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.resolve_precision("16")


def test_sampling_strategies_and_the_clap_section_parse():
    cfg = parse_experiment({"sampling": {"strategy": "clustering", "n_clusters": 16},
                            "clap": {"max_epochs": 5, "model": {"embed_dim": 128}}}, "x.yaml")
    assert cfg.sampling.needs_embeddings and cfg.sampling.n_clusters == 16
    assert cfg.clap.max_epochs == 5 and cfg.clap.model == {"embed_dim": 128}
    assert not parse_experiment({}, "x.yaml").sampling.needs_embeddings


def test_bad_override_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        parse_experiment({}, "x.yaml", ["training.lr"])
    with pytest.raises(ConfigError, match="config file not found"):
        load_experiment(tmp_path / "none.yaml")


def test_the_cosine_schedule_anneals_the_lr_to_zero_over_the_run_step_by_step():
    from types import SimpleNamespace

    from wstag.training.phrase_level import PhraseLevelModule

    cfg = parse_experiment({"training": {"lr": 0.002, "lr_schedule": "cosine"}}, "x.yaml")
    module = PhraseLevelModule(build_model("cpu_fast", vocab_size=10), cfg.training)
    module._trainer = SimpleNamespace(estimated_stepping_batches=4)
    setup = module.configure_optimizers()
    opt, sched = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    assert setup["lr_scheduler"]["interval"] == "step"
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    lrs.append(opt.param_groups[0]["lr"])
    # 0.002 * (1 + cos(pi * k / 4)) / 2 for k = 0..4
    assert lrs == pytest.approx([0.002, 0.0017071, 0.001, 0.0002929, 0.0], abs=1e-6)


def test_a_key_added_later_leaves_old_hashes_alone_until_it_is_used():
    from wstag.provenance import config_hash

    cfg = parse_experiment({"training": {"lr": 0.002}}, "x.yaml")
    before = cfg.to_dict()
    for key in ("lr_schedule", "optimizer", "weight_decay", "warmup_epochs", "splice"):
        del before["training"][key]  # the config as results recorded before these keys existed
    del before["trainer"]
    assert cfg.hash() == config_hash(before)
    cosine = parse_experiment({"training": {"lr": 0.002, "lr_schedule": "cosine"}}, "x.yaml")
    assert cosine.hash() != cfg.hash()
