"""End to end on the tiny corpus: `wstag train` (1 epoch) then `wstag evaluate`."""

import json

import pytest
from typer.testing import CliRunner

from wstag.cli.main import app
from wstag.scapes.build import build_corpus
from wstag.training.run import finished_run

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_train_then_evaluate_writes_a_loadable_model_and_metrics(sound_bank, tmp_path):
    corpus = build_corpus(sound_bank, "tiny", tmp_path / "tiny", seed=1).path
    res = runner.invoke(app, ["train", "configs/phrase_random_cpu.yaml", "--data", str(corpus),
                              "--out", str(tmp_path / "run"), "--max-epochs", "1"])
    assert res.exit_code == 0, res.output
    model_dir = tmp_path / "run" / "model"
    assert {p.name for p in model_dir.iterdir()} >= {"model.safetensors", "config.json", "vocab.json"}
    res = runner.invoke(app, ["evaluate", str(model_dir), "--data", str(corpus)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((model_dir / "metrics.json").read_text())
    for key in ("psds_whole", "th_auc_whole", "psds_short", "th_auc_short",
                "psds_whole_wrong_query", "specificity", "psds_whole_loudness"):
        assert 0.0 <= metrics[key] <= 100.0 or key == "specificity"
    assert metrics["specificity"] == pytest.approx(metrics["psds_whole"] - metrics["psds_whole_wrong_query"], abs=0.11)


def test_train_rejects_a_bad_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  regime: phrase_level\n  batch_sise: 8\n")
    res = runner.invoke(app, ["train", str(bad), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "unknown keys in 'training'" in res.output and "batch_sise" in res.output


@pytest.mark.parametrize("config", ["sentence_amax_tmean.yaml", "sstag_tenth.yaml"])
def test_other_regimes_train_and_evaluate(tiny_corpus, tmp_path, config):
    res = runner.invoke(app, ["train", f"configs/{config}", "--data", str(tiny_corpus), "--out", str(tmp_path / "run"),
                              "--max-epochs", "1", "model.preset=cpu", "training.batch_size=8"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path / "run" / "model"), "--data", str(tiny_corpus)])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "run" / "model" / "metrics.json").read_text())["n_pairs_whole"] > 0


@pytest.mark.parametrize("config", ["phrase_similarity.yaml", "phrase_clustering.yaml"])
def test_sampling_strategies_train_clap_first_then_reuse_it(tiny_corpus, tmp_path, config):
    args = ["train", f"configs/{config}", "--data", str(tiny_corpus), "--out", str(tmp_path / "run"),
            "model.preset=cpu", "training.batch_size=8", "clap.max_epochs=1", "clap.batch_size=8",
            "sampling.n_clusters=8", "sampling.embeddings=clap"]
    res = runner.invoke(app, args + ["--max-epochs", "1"])
    assert res.exit_code == 0, res.output
    assert "training CLAP" in res.output
    assert {p.name for p in (tmp_path / "run" / "clap" / "model").iterdir()} >= {"clap.safetensors", "clap.json"}
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    res = runner.invoke(app, args + ["--max-epochs", "2"])
    assert res.exit_code == 0, res.output
    assert "phrase embeddings from this run's CLAP" in res.output


def test_training_resumes_after_an_interruption(tiny_corpus, tmp_path):
    args = ["train", "configs/phrase_random_cpu.yaml", "--data", str(tiny_corpus), "--out", str(tmp_path / "run")]
    assert runner.invoke(app, args + ["--max-epochs", "1"]).exit_code == 0
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    done = finished_run(tmp_path / "run")  # what `wstag demo` reuses instead of training again
    assert done is not None and done.epochs == 1 and done.monitor == "val/tag_auc"
    assert 0 <= done.data_loading_share < 1 and done.model_dir == tmp_path / "run" / "model"
    assert done.earlier_seconds == done.seconds > 0  # none of it spent by the caller that found it
    assert finished_run(tmp_path / "elsewhere") is None
    res = runner.invoke(app, args + ["--max-epochs", "2"])
    assert res.exit_code == 0, res.output
    assert "resuming from" in res.output and "epochs 2" in res.output


def test_self_supervised_training_reads_its_teacher_and_resumes(tiny_corpus, tmp_path):
    import torch

    teacher_args = ["train", "configs/phrase_random_cpu.yaml", "--data", str(tiny_corpus),
                    "--out", str(tmp_path / "teacher"), "--max-epochs", "1"]
    assert runner.invoke(app, teacher_args).exit_code == 0
    args = ["train", "configs/phrase_random_self.yaml", "--data", str(tiny_corpus), "--out", str(tmp_path / "student"),
            "model.preset=cpu_fast", "training.batch_size=8", "training.n_phrases=8",
            f"training.teacher={tmp_path / 'teacher' / 'model'}"]
    res = runner.invoke(app, args + ["--max-epochs", "1"])
    assert res.exit_code == 0, res.output
    assert "self-supervision from the teacher" in res.output
    ckpt = torch.load(tmp_path / "student" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert not any("teacher" in k for k in ckpt["state_dict"])  # never pickled: reloaded from its folder
    log = (tmp_path / "student" / "logs" / "version_0" / "metrics.csv").read_text()
    assert "train/frame_loss" in log and "train/clip_loss" in log
    res = runner.invoke(app, args + ["--max-epochs", "2"])
    assert res.exit_code == 0, res.output
    assert "resuming from" in res.output and "self-supervision from the teacher" in res.output
    assert "epochs 2" in res.output
    wrong = runner.invoke(app, ["train", "configs/phrase_random_self.yaml", "--data", str(tiny_corpus),
                                "--out", str(tmp_path / "bad"), "--max-epochs", "1", "model.preset=cpu",
                                f"training.teacher={tmp_path / 'teacher' / 'model'}"])
    assert wrong.exit_code == 2 and "another architecture" in wrong.output
