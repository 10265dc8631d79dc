"""The real `wstag` entry point: subcommands listed, bad input -> one line and exit code 2."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from wstag.cli.main import app

runner = CliRunner()


def test_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "wstag.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "data" in out.stdout
    data = runner.invoke(app, ["data", "--help"])
    for cmd in ("fetch", "build", "convert-v1", "weak-labels", "parse"):
        assert cmd in data.output


def test_unknown_preset_exits_2_with_one_line(tmp_path):
    res = runner.invoke(app, ["data", "build", "--preset", "huge", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert lines == ["error: unknown preset 'huge'; choose one of tiny, small, full, world"]
    assert not (tmp_path / "x").exists()


def test_convert_v1_on_the_real_file(audiogrounding_v1_dir, tmp_path):
    out = tmp_path / "val_v2.json"
    res = runner.invoke(app, ["data", "convert-v1", str(audiogrounding_v1_dir / "val.json"), str(out)])
    assert res.exit_code == 0, res.output
    assert "155 clips" in res.output and out.is_file()


def test_malformed_label_file_exits_2_naming_it(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"audiocap_id": {"0": 1}')  # truncated JSON
    res = runner.invoke(app, ["data", "convert-v1", str(bad), str(tmp_path / "o.json")])
    assert res.exit_code == 2
    assert "bad.json" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o.json").exists()


def test_weak_labels_and_parse(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("audiocap_id,youtube_id,start_time,caption\n1,abc,30,A dog barks while a man speaks\n")
    res = runner.invoke(app, ["data", "weak-labels", str(csv), str(tmp_path / "w.json")])
    assert res.exit_code == 0, res.output
    assert "1 clips, 2 phrases" in res.output
    res = runner.invoke(app, ["data", "parse", "A dog barks while a man speaks"])
    assert '"phrase": "a dog barks"' in res.output and '"phrase": "a man speaks"' in res.output


def test_parser_agreement_prints_the_figures_of_real_labels(audiogrounding_v1_dir):
    from typer.testing import CliRunner

    from wstag.cli.main import app

    result = CliRunner().invoke(app, ["data", "parser-agreement", str(audiogrounding_v1_dir / "val.json"),
                                      "--show", "1"])
    assert result.exit_code == 0, result.output
    assert "155 captions, 451 human phrases; parser exact" in result.output and "precision" in result.output


def test_the_groups_file_is_written_atomically(tmp_path, monkeypatch):
    """A kill while groups.json is written leaves the old file, never a half-written one (issue 25, item 11)."""
    import json

    from wstag.cli import experiments as E

    out = tmp_path / "out"
    E._groups_in(out, adding=["table2"])
    assert json.loads((out / "groups.json").read_text()) == ["table2"]
    import os

    real = os.replace

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    try:
        E._groups_in(out, adding=["table3"])
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(os, "replace", real)
    assert json.loads((out / "groups.json").read_text()) == ["table2"]
    assert [p.name for p in out.iterdir()] == ["groups.json"]  # no temporary file left behind
