"""`wstag experiments table2` end to end on the tiny corpus: one epoch per row, one seed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wstag.cli.main import app
from wstag.experiments.groups import TABLE2

pytestmark = pytest.mark.slow
runner = CliRunner()
TINY = ["--override", "training.batch_size=8", "--override", "clap.max_epochs=1", "--override", "clap.batch_size=8",
        "--override", "sampling.n_clusters=8"]


def test_table2_runs_every_row_resumes_and_reports(tiny_corpus, tmp_path):
    out = tmp_path / "table2"
    base = ["experiments", "table2", "--data", str(tiny_corpus), "--out", str(out), "--seeds", "1", "--epochs", "1",
            "--device", "cpu", *TINY]
    # stopped after two rows ...
    first = runner.invoke(app, base + ["--rows", "sentence_amean_tmean,phrase_random"])
    assert first.exit_code == 0, first.output
    assert "0 of 2 row-seeds done" in first.output
    refused = runner.invoke(app, base + ["--rows", "phrase_similarity_self"])
    assert refused.exit_code == 2 and "needs its teacher row phrase_similarity" in refused.output
    # ... then run whole: the two finished rows are not trained again
    res = runner.invoke(app, base)
    assert res.exit_code == 0, res.output
    assert "2 of 9 row-seeds done; 7 to run" in res.output
    assert "[phrase_random seed 0] PSDS" not in res.output
    for row in TABLE2:
        result = json.loads((out / "rows" / f"{row.key}-seed0.json").read_text())
        assert result["seed"] == 0 and result["epochs"] == 1 and len(result["config_hash"]) == 16
        assert result["config"]["model"]["preset"] == "cpu_fast" and result["code_commit"]
        assert set(result["metrics"]) >= {"psds_whole", "th_auc_whole", "psds_short", "th_auc_short",
                                          "psds_whole_wrong_query", "specificity", "psds_whole_loudness"}
        # run models stay under the (git-ignored) work folder, recorded with the SHA-256 of their weights
        model = out / "runs" / "models" / f"{row.key}-seed0"
        assert result["model_dir"] == str(model) and (model / "model.safetensors").is_file()
        assert len(result["model_sha256"]) == 64 and not (out / "models" / f"{row.key}-seed0").exists()
        if row.teacher:
            assert result["teacher"] == str(out / "runs" / "models" / f"{row.teacher}-seed0")
    clustering = json.loads((out / "rows" / "phrase_clustering-seed0.json").read_text())
    assert clustering["config"]["sampling"]["embeddings"] == "sbert" and clustering["config"]["clap"]["pretrained"] is None
    report = (out / "REPORT.md").read_text()
    assert "| Phrase-level WSTAG | Random Sampling | 1 |" in report and "/ 43.7" in report
    assert "Self-supervision helps phrase_clustering" in report
    again = runner.invoke(app, base)
    assert again.exit_code == 0 and "9 of 9 row-seeds done; 0 to run" in again.output
