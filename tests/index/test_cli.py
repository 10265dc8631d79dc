"""`wstag index build|info` and `wstag search`: output, and bad input as one line with exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wstag.cli.main import app

runner = CliRunner()


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def index_dir(audio_master, model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "index"
    res = runner.invoke(app, ["index", "build", str(audio_master), "--model", str(model_dir), "--out", str(out),
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "4 files" in res.output and "2 unreadable" in res.output
    assert "unreadable: " in res.output and "corrupt.flac" in res.output and "empty.wav" in res.output
    return out


def test_search_prints_a_ranked_table_tsv_and_a_plot(index_dir, tmp_path):
    res = runner.invoke(app, ["search", str(index_dir), "a dog barks", "--threshold", "0", "--top", "3"])
    assert res.exit_code == 0, res.output
    table = [line for line in _lines(res.stdout)]
    assert table[0].split() == ["#", "score", "onset", "(s)", "offset", "(s)", "file"] and len(table) == 4
    res = runner.invoke(app, ["search", str(index_dir), "a dog barks", "--threshold", "0", "--format", "tsv",
                              "--plot", str(tmp_path / "top.png")])
    assert res.exit_code == 0, res.output
    rows = _lines(res.stdout)
    assert rows[0] == "file\tonset\toffset\tscore" and len(rows) == 5
    scores = [float(r.split("\t")[3]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)
    assert (tmp_path / "top.png").stat().st_size > 0


def test_a_search_with_nothing_above_the_threshold_says_what_scored_highest(index_dir):
    res = runner.invoke(app, ["search", str(index_dir), "a dog barks", "--threshold", "1"])
    assert res.exit_code == 0 and "no moment above 1.0; the highest frame scored" in res.output


def test_info_lists_the_index(index_dir):
    res = runner.invoke(app, ["index", "info", str(index_dir)])
    assert res.exit_code == 0 and "files         4" in res.output and "unreadable    2" in res.output


@pytest.mark.parametrize("args, message", [
    (["search", "{index}", "a dog barks", "--top", "0"], "error: --top must be a positive whole number, got 0"),
    (["search", "{index}", "a dog barks", "--threshold", "2"], "error: threshold must be a number in [0, 1], got 2.0"),
    (["search", "{index}", "a dog barks", "--format", "xml"], "error: --format must be one of table, tsv, got 'xml'"),
    (["search", "{tmp}/none", "a dog barks"], "error: {tmp}/none: index not found"),
    (["search", "{index}", "a xylophone glissando"], "the model knows none of its words that name a sound"),
    (["search", "{index}", "a dog barks", "--model", "{other}"], "indexed with another model"),
    (["index", "build", "{tmp}/missing", "--model", "{model}", "--out", "{tmp}/i"],
     "error: {tmp}/missing: audio folder not found"),
    (["index", "build", "{tmp}/empty", "--model", "{model}", "--out", "{tmp}/i"], "holds no audio files"),
    (["index", "build", "{audio}", "--model", "{other}", "--out", "{index}"], "indexed with another model"),
])
def test_bad_input_is_one_line_and_exit_code_2(index_dir, audio_master, model_dir, other_model_dir, tmp_path,
                                               args, message):
    (tmp_path / "empty").mkdir()
    fill = dict(index=index_dir, tmp=tmp_path, model=model_dir, other=other_model_dir, audio=audio_master)
    res = runner.invoke(app, [a.format(**fill) for a in args])
    assert res.exit_code == 2, res.output
    lines = _lines(res.output)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message.format(**fill) in lines[0], lines
