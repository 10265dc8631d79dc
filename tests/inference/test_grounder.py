"""The Grounder and `wstag ground`: answers, caching, long files and bad input."""

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from wstag.cli.main import app
from wstag.errors import AudioError, QueryError
from wstag.inference.grounder import Grounder, to_tsv
from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.text.vocabulary import Vocabulary

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    vocab = Vocabulary.build(["a dog barks", "a man speaks while rain falls"])
    folder = tmp_path_factory.mktemp("model") / "model"
    save_model(folder, build_model("cpu", len(vocab)).eval(), vocab)
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    rng = np.random.default_rng(0)
    audio = 0.01 * rng.standard_normal(32000 * 5)
    audio[32000:48000] += 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 32000)
    sf.write(path, np.stack([audio, audio], axis=1), 32000)  # stereo: downmixed on load
    return path


def test_answers_have_one_probability_per_frame(model_dir, clip):
    g = Grounder(model_dir)
    res = g.ground(clip, ["a dog barks", "rain falls"], threshold=0.5)
    assert [r.phrase for r in res] == ["a dog barks", "rain falls"]
    assert all(r.probabilities.shape == (125,) for r in res)  # 5 s / 40 ms
    assert all(0 <= a < b <= 5.0 for r in res for a, b in r.segments)
    assert to_tsv(res).splitlines()[0] == "onset\toffset\tphrase"


def test_second_query_reuses_the_audio_embedding(model_dir, clip):
    g = Grounder(model_dir)
    first = g.ground(clip, ["a dog barks"])
    calls = g.audio_encoder_calls
    second = g.ground(clip, ["a dog barks", "a man speaks"])
    assert g.audio_encoder_calls == calls
    np.testing.assert_allclose(first[0].probabilities, second[0].probabilities, atol=1e-6)


@pytest.mark.slow
def test_long_file_is_streamed_and_matches_one_pass(model_dir, tmp_path):
    rng = np.random.default_rng(1)
    audio = (0.1 * rng.standard_normal(32000 * 70)).astype(np.float32)  # 70 s: three blocks
    path = tmp_path / "long.flac"
    sf.write(path, audio, 32000)
    g = Grounder(model_dir)
    streamed = g.embed_file(path).frames
    whole = g.embed_waveforms([audio])[0]
    assert streamed.shape == whole.shape == (70 * 25, g.model.embed_dim)
    # away from block edges the streamed frames equal a single pass (the GRU sees enough context)
    np.testing.assert_allclose(streamed[:600].numpy(), whole[:600].numpy(), atol=1e-4)


def test_unknown_words_are_answered_with_a_warning(model_dir, clip):
    g = Grounder(model_dir)
    with pytest.warns(UserWarning, match="knows none of these words"):
        res = g.ground(clip, ["xylophone zither"])
    assert res[0].unknown_words == ["xylophone", "zither"]


def test_silent_audio_warns(model_dir, tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(32000), 32000)
    with pytest.warns(UserWarning, match="silent"):
        Grounder(model_dir).ground(path, ["a dog barks"])


@pytest.mark.parametrize("phrase", ["", "   "])
def test_empty_phrase_is_refused(model_dir, clip, phrase):
    with pytest.raises(QueryError, match="empty phrase"):
        Grounder(model_dir).ground(clip, [phrase])


def test_bad_audio_files(model_dir, tmp_path):
    g = Grounder(model_dir)
    with pytest.raises(AudioError, match="missing.wav"):
        g.ground(tmp_path / "missing.wav", ["a dog barks"])
    short = tmp_path / "short.wav"
    sf.write(short, np.ones(1000) * 0.1, 32000)
    with pytest.raises(AudioError, match="too short"):
        g.ground(short, ["a dog barks"])
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio at all")
    with pytest.raises(AudioError, match="corrupt.wav"):
        g.ground(corrupt, ["a dog barks"])


def test_cli_ground_prints_tsv_and_plots(model_dir, clip, tmp_path):
    res = runner.invoke(app, ["ground", str(model_dir), str(clip), "a dog barks", "--threshold", "0.0",
                              "--plot", str(tmp_path / "g.png")])
    assert res.exit_code == 0, res.output
    assert "onset\toffset\tphrase" in res.output
    assert (tmp_path / "g.png").stat().st_size > 10_000


def test_cli_ground_bad_input_exits_2(model_dir, clip, tmp_path):
    res = runner.invoke(app, ["ground", str(model_dir), str(tmp_path / "nope.wav"), "a dog barks"])
    assert res.exit_code == 2 and "nope.wav" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["ground", str(tmp_path / "no-model"), str(clip), "a dog barks"])
    assert res.exit_code == 2 and "no-model" in res.output
    res = runner.invoke(app, ["ground", str(model_dir), str(clip), ""])
    assert res.exit_code == 2 and "empty phrase" in res.output
