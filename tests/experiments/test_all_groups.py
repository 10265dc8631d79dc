"""`wstag experiments all` on the tiny corpus, one epoch per row and one seed: every group
of the paper's reproduction runs, writes its rows and figures, and has its REPORT.md section."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.experiments.test_table2 import TINY
from wstag.cli.main import app
from wstag.experiments.groups import GROUPS

pytestmark = pytest.mark.slow


def test_all_groups_run_on_tiny_and_report(tiny_corpus, tmp_path):
    out = tmp_path / "all"
    res = CliRunner().invoke(app, ["experiments", "all", "--data", str(tiny_corpus), "--out", str(out), "--seeds", "1",
                                   "--epochs", "1", "--device", "cpu", *TINY])
    assert res.exit_code == 0, res.output
    rows = {row.key: row for group in GROUPS.values() for row in group.rows}
    assert len(rows) >= 40  # rows shared between groups (phrase_clustering is in seven) train once
    for key, row in rows.items():
        result = json.loads((out / "rows" / f"{key}-seed0.json").read_text())
        assert result["epochs"] == row.epochs(1) and result["metrics"]["psds_whole"] is not None
    assert rows["sstag_all_data10"].epochs(1) == 10  # a 10 % share: the full set's steps
    assert res.output.count("[phrase_clustering seed 0] PSDS") == 1
    report = (out / "REPORT.md").read_text()
    for group in GROUPS.values():
        assert f"## {group.title}" in report, group.name
        if group.xlabel:  # a swept factor: its plot in the paper's form
            assert (out / "figures" / f"{group.name}.png").is_file(), group.name
    for name in ("fig4", "fig11", "fig12", "fig14"):  # corpus and model figures drawn as plots
        assert any((out / "figures").glob(f"{name}*.png")), name
    assert any((out / "figures").glob("fig13*.md"))  # Fig. 13 is a table of the negatives drawn
    # the CLAP-sampling rows (Fig. 10) share seed 0's CLAP, kept beside the row models in the ignored work folder
    clap_rows = [json.loads((out / "rows" / f"phrase_{k}_clap-seed0.json").read_text()) for k in ("similarity", "clustering")]
    assert {r["config"]["clap"]["pretrained"] for r in clap_rows} == {str(out / "runs" / "models" / "clap-seed0")}
    assert (out / "runs" / "models" / "clap-seed0" / "clap.json").is_file() and not (out / "models").exists()
    assert "*clap embeddings*" not in (out / "figures" / "fig13_corpus.md").read_text()  # drawn before the CLAP
    again = CliRunner().invoke(app, ["experiments", "all", "--data", str(tiny_corpus), "--out", str(out), "--seeds", "1",
                                     "--epochs", "1", "--device", "cpu", *TINY])
    assert again.exit_code == 0 and "0 to run" in again.output
    assert "*clap embeddings*" in (out / "figures" / "fig13_corpus.md").read_text()  # now with the kept CLAP
