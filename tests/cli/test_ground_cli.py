"""`wstag ground` outputs and option checks, and `wstag data build --out FILE`: one line, exit code 2."""

import json

import pytest
from typer.testing import CliRunner

from tests.inference.tiny import make_model_dir, write_clip
from wstag.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("audio") / "clip.wav")


def ground(model_dir, clip, *args):
    return runner.invoke(app, ["ground", str(model_dir), str(clip), *args])


def one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def test_tsv_is_the_default_and_plots(model_dir, clip, tmp_path):
    res = ground(model_dir, clip, "a dog barks", "--threshold", "0.0", "--plot", str(tmp_path / "g.png"))
    assert res.exit_code == 0, res.output
    assert "onset\toffset\tphrase\n0.000\t5.000\ta dog barks\n" in res.output
    assert (tmp_path / "g.png").stat().st_size > 10_000


def test_audacity_format(model_dir, clip):
    res = ground(model_dir, clip, "a dog barks", "rain falls", "--threshold", "0", "--format", "audacity")
    assert res.exit_code == 0, res.output
    assert res.stdout == "0.000000\t5.000000\ta dog barks\n0.000000\t5.000000\train falls\n"


def test_json_format_parses_with_the_curves(model_dir, clip):
    res = ground(model_dir, clip, "a dog barks", "a man speaks loudly", "--threshold", "0", "--median", "3",
                 "--format", "json")
    assert res.exit_code == 0, res.output
    assert "warning: phrase 'a man speaks loudly': ignored the words the model does not know: loudly" in res.output
    doc = json.loads(res.stdout)
    assert (doc["threshold"], doc["median"], doc["duration"]) == (0.0, 3, 5.0)
    assert [(d["phrase"], d["onset"], d["offset"]) for d in doc["detections"]] == [
        ("a dog barks", 0.0, 5.0), ("a man speaks loudly", 0.0, 5.0)]
    curves = doc["curves"]
    assert [c["phrase"] for c in curves] == ["a dog barks", "a man speaks loudly"]
    assert curves[1]["ignored_words"] == ["loudly"]
    assert len(curves[0]["times"]) == len(curves[0]["probabilities"]) == 125
    assert curves[0]["times"][:3] == [0.0, 0.04, 0.08]
    assert all(0 <= p <= 1 and round(p, 4) == p for p in curves[0]["probabilities"])
    assert doc["detections"][0]["peak"] == max(curves[0]["probabilities"])


@pytest.mark.parametrize("args, message", [
    (["--threshold", "1.5"], "threshold must be a number in [0, 1], got 1.5"),
    (["--threshold", "-0.2"], "threshold must be a number in [0, 1], got -0.2"),
    (["--threshold", "nan"], "threshold must be a number in [0, 1], got nan"),
    (["--median", "0"], "median filter window must be a positive odd number of frames (1 = none), got 0"),
    (["--median", "4"], "median filter window must be a positive odd number of frames (1 = none), got 4"),
    (["--median", "-3"], "median filter window must be a positive odd number of frames (1 = none), got -3"),
    (["--format", "csv"], "unknown output format 'csv'; choose one of tsv, audacity, json"),
])
def test_bad_options_are_one_line(model_dir, clip, args, message):
    assert one_error_line(ground(model_dir, clip, "a dog barks", *args)) == f"error: {message}"


def test_options_are_checked_before_the_model_and_the_audio(tmp_path):
    res = ground(tmp_path / "no-model", tmp_path / "nope.wav", "a dog barks", "--median", "0")
    assert "median" in one_error_line(res)


def test_bad_audio_and_model_are_one_line(model_dir, clip, tmp_path):
    assert one_error_line(ground(model_dir, tmp_path / "nope.wav", "a dog barks")) == \
        f"error: {tmp_path / 'nope.wav'}: audio file not found"
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio at all")
    assert "corrupt.wav" in one_error_line(ground(model_dir, corrupt, "a dog barks"))
    assert "no-model" in one_error_line(ground(tmp_path / "no-model", clip, "a dog barks"))
    assert "empty phrase" in one_error_line(ground(model_dir, clip, ""))
    line = one_error_line(ground(model_dir, clip, "a dog barks", "a xylophone glissando"))
    assert line.startswith("error: phrase 'a xylophone glissando': the model knows none of its words")


@pytest.mark.parametrize("force", [False, True])
def test_data_build_refuses_a_file_as_out(tmp_path, force):
    target = tmp_path / "corpus.txt"
    target.write_text("keep me\n")
    res = runner.invoke(app, ["data", "build", "--preset", "tiny", "--out", str(target), "--cache",
                              str(tmp_path / "no-cache"), *(["--force"] if force else [])])
    assert one_error_line(res) == f"error: {target}: --out is a file, not a folder; choose another --out"
    assert target.read_text() == "keep me\n"
    assert not (tmp_path / "no-cache").exists()  # refused before fetching anything


def test_data_build_refuses_an_out_under_a_file(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("")
    res = runner.invoke(app, ["data", "build", "--out", str(target / "sub" / "corpus")])
    assert one_error_line(res) == (f"error: {target / 'sub' / 'corpus'}: cannot make the corpus folder there, "
                                   f"{target} is a file; choose another --out")
