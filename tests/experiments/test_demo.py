"""The demo's recipe, its refusal to reuse another config's run, and its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wstag.errors import ConfigError
from wstag.experiments import demo
from wstag.inference.evaluate import METRIC_KEYS
from wstag.training.config import load_experiment


def test_the_demo_trains_the_open_vocabulary_recipe():
    config = load_experiment(demo.DEMO_CONFIG)
    assert config.model["text_encoder"]["kind"] == "minilm" and config.model["preset"] == "cpu_fast"
    assert config.training.max_epochs == 12 and config.training.max_minutes is None  # figures independent of the machine


def _finished(run_dir: Path, info: dict) -> Path:
    (run_dir / "model").mkdir(parents=True)
    (run_dir / "model" / "config.json").write_text(json.dumps(info))
    return run_dir


def test_a_finished_run_of_another_config_is_refused(tmp_path: Path):
    run = _finished(tmp_path / "run-seed0", {"config_hash": "aaaa"})
    demo._check_same_config(run, "aaaa")  # the same config: reused
    with pytest.raises(ConfigError, match=r"run-seed0 holds a finished run of another config \(hash aaaa, the demo's is bbbb\)"):
        demo._check_same_config(run, "bbbb")


def test_a_run_without_a_recorded_hash_is_judged_by_its_saved_experiment(tmp_path: Path):
    """An older demo folder (word embeddings, no config_hash) is not reused by the MiniLM demo."""
    minilm = load_experiment(demo.DEMO_CONFIG, ["training.seed=0"])
    word = load_experiment(demo.DEMO_CONFIG.with_name("phrase_random_cpu.yaml"), ["training.seed=0"])
    demo._check_same_config(_finished(tmp_path / "a", {"experiment": minilm.to_dict()}), minilm.hash())
    with pytest.raises(ConfigError, match=f"hash {word.hash()}, the demo's is {minilm.hash()}"):
        demo._check_same_config(_finished(tmp_path / "b", {"experiment": word.to_dict()}), minilm.hash())
    with pytest.raises(ConfigError, match="hash unknown"):
        demo._check_same_config(_finished(tmp_path / "c", {"experiment": "not a config"}), minilm.hash())


def test_report_names_the_encoder_and_the_unseen_wording_figure(tmp_path: Path):
    metrics = {k: 10.0 + i for i, k in enumerate(METRIC_KEYS)} | {"n_pairs_whole": 1450, "n_pairs_short": 1070}
    info = {"epochs": 12, "monitor": "val/tag_auc", "best_score": 0.67, "data_loading_share": 0.07,
            "text_encoder": "MiniLM"}
    plot = tmp_path / "grounding-seed0.png"
    seconds = {"features + training": 684.0}
    peak = {"features + training": 1290.0}
    text = demo.write_report(tmp_path, metrics, seconds, info, plot, peak).read_text()
    assert "MiniLM text encoder" in text and "held-out wording" not in text
    metrics |= {"psds_whole_unseen_wording": 27.4, "unseen_to_seen_percent": 82.5}
    text = demo.write_report(tmp_path, metrics, seconds, info, plot, peak).read_text()
    assert "PSDS whole 27.4, 82.5 % of the captions' own wordings" in text


def test_the_student_is_the_demo_recipe_with_the_teacher_and_eq_10(tmp_path: Path):
    """Self-supervision changes the regime and names the teacher; nothing else of the recipe."""
    base = load_experiment(demo.DEMO_CONFIG, ["training.seed=3"])
    student = load_experiment(demo.DEMO_CONFIG, demo.student_overrides(["training.seed=3"], tmp_path / "model"))
    assert student.training.regime == "self_supervised" and student.training.teacher == str(tmp_path / "model")
    assert student.training.seed == 3 and student.training.max_epochs == base.training.max_epochs
    assert student.model == base.model and student.hash() != base.hash()


def test_report_puts_the_teacher_beside_the_self_supervised_model(tmp_path: Path):
    metrics = {k: 30.0 for k in METRIC_KEYS} | {"n_pairs_whole": 1450, "n_pairs_short": 1070}
    teacher = {k: 20.0 for k in METRIC_KEYS}
    info = {"epochs": 12, "monitor": "val/tag_auc", "best_score": 0.67, "data_loading_share": 0.07,
            "text_encoder": "MiniLM"}
    text = demo.write_report(tmp_path, metrics, {"x": 1.0}, info, tmp_path / "p.png", {"x": 1.0}, teacher).read_text()
    assert "| with self-supervision (the model) | its teacher |" in text
    assert f"| {METRIC_KEYS[0]} | 30.0 | 20.0 |" in text and "self-supervision teacher" in text
