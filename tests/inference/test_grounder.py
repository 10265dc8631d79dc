"""The Grounder: encode once and query many, detections, caching, long files and bad input."""

import numpy as np
import pytest
import soundfile as sf
import torch

from wstag.errors import AudioError, ConfigError, QueryError
from wstag.inference.grounder import Grounder, resolve_device, to_tsv
from wstag.inference.results import Detection, Detections, Encoded, Scores
from tests.inference.tiny import make_model_dir, tone_clip, write_clip

PHRASES = ["a dog barks", "rain falls"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def grounder(model_dir):
    return Grounder.load(model_dir, device="cpu")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("audio") / "clip.wav")


def test_scores_have_one_probability_per_frame(grounder, clip):
    s = grounder.scores(clip, PHRASES)
    assert isinstance(s, Scores) and s.phrases == tuple(PHRASES)
    assert s.probabilities.shape == (125, 2)  # 5 s / 40 ms
    np.testing.assert_allclose(s.times[:3], [0.0, 0.04, 0.08])
    assert s.duration == 5.0 and s.source == str(clip)
    assert ((0 <= s.probabilities) & (s.probabilities <= 1)).all()
    np.testing.assert_array_equal(s.curve("rain falls"), s.probabilities[:, 1])


def test_ground_returns_detections_with_their_curves(grounder, clip):
    dets = grounder.ground(clip, PHRASES, threshold=0.0)  # every frame is above 0: one detection each
    assert isinstance(dets, Detections) and all(isinstance(d, Detection) for d in dets)
    assert [d.phrase for d in dets] == PHRASES
    assert all((d.onset, d.offset) == (0.0, 5.0) for d in dets)
    for k, d in enumerate(dets):
        assert d.peak == pytest.approx(float(dets.scores.probabilities[:, k].max()))
    assert to_tsv(dets).splitlines() == ["onset\toffset\tphrase", "0.000\t5.000\ta dog barks",
                                         "0.000\t5.000\train falls"]
    assert grounder.ground(clip, PHRASES, threshold=1.0) == []  # the threshold is strict


def test_peak_is_the_maximum_inside_each_detection():
    probs = np.array([0.1, 0.7, 0.9, 0.2, 0.6, 0.1], dtype=np.float32)[:, None]
    from wstag.audio.frames import DEFAULT_GRID

    s = Scores(("a dog barks",), DEFAULT_GRID.frame_time(np.arange(6)), probs, 0.23, "x.wav", DEFAULT_GRID)
    dets = s.detect(threshold=0.5)
    assert [(d.onset, d.offset, round(d.peak, 4)) for d in dets] == [(0.04, 0.12, 0.9), (0.16, 0.2, 0.6)]
    assert dets.threshold == 0.5 and dets.median == 1 and dets.of("a dog barks") == list(dets)


def test_encode_once_query_many_matches_ground_on_the_path(model_dir, clip):
    g = Grounder(model_dir)
    encoded = g.encode(clip)
    assert isinstance(encoded, Encoded) and encoded.embeddings.shape == (125, g.model.embed_dim)
    assert encoded.times.shape == (125,) and encoded.duration == 5.0 and encoded.source == str(clip)
    calls = g.audio_encoder_calls
    first = g.scores(encoded, ["a dog barks"])
    second = g.scores(encoded, ["a man speaks", "a dog barks"])
    dets = g.ground(encoded, PHRASES, threshold=0.49)
    assert g.audio_encoder_calls == calls  # never encoded again
    on_path = Grounder(model_dir).ground(clip, PHRASES, threshold=0.49)  # a fresh Grounder: no cache
    np.testing.assert_array_equal(dets.scores.probabilities, on_path.scores.probabilities)
    assert list(dets) == list(on_path)
    np.testing.assert_allclose(first.probabilities[:, 0], second.probabilities[:, 1], atol=1e-6)
    np.testing.assert_allclose(first.probabilities[:, 0], on_path.scores.probabilities[:, 0], atol=1e-6)


def test_a_second_query_on_a_path_reuses_the_cached_encoding(model_dir, clip):
    g = Grounder(model_dir)
    g.ground(clip, ["a dog barks"])
    calls = g.audio_encoder_calls
    g.ground(clip, ["a dog barks", "a man speaks"])
    assert g.audio_encoder_calls == calls


def test_an_array_gives_what_its_file_gives(grounder, tmp_path):
    audio = tone_clip()
    path = tmp_path / "same.wav"
    sf.write(path, audio, 32000, subtype="FLOAT")
    from_array = grounder.scores(grounder.encode(audio, sample_rate=32000, name="mine"), PHRASES)
    from_file = grounder.scores(path, PHRASES)
    np.testing.assert_allclose(from_array.probabilities, from_file.probabilities, atol=1e-6)
    assert from_array.source == "mine"
    stereo = grounder.encode(torch.from_numpy(np.stack([audio, audio], axis=1)), sample_rate=32000)
    np.testing.assert_allclose(stereo.embeddings, grounder.encode(audio, 32000).embeddings, atol=1e-6)
    # another rate is resampled to the model's: same grid, nearly the same answer
    at_16k = grounder.encode(audio[::2].copy(), sample_rate=16000)
    assert at_16k.embeddings.shape == (125, grounder.model.embed_dim)


def test_encode_and_ground_refuse_ambiguous_input(grounder, clip, tmp_path):
    with pytest.raises(ValueError, match="sample_rate"):
        grounder.encode(tone_clip())
    with pytest.raises(ValueError, match="sample_rate"):
        grounder.encode(clip, sample_rate=16000)
    with pytest.raises(TypeError, match="encode"):
        grounder.ground(tone_clip(), ["a dog barks"])
    with pytest.raises(AudioError, match="too short"):
        grounder.encode(np.zeros(100, np.float32) + 0.1, sample_rate=32000)
    with pytest.raises(AudioError, match="NaN"):
        grounder.encode(np.full(32000, np.nan, np.float32), sample_rate=32000)


def test_an_encoding_from_another_model_is_refused(grounder, clip, tmp_path):
    other = Grounder(make_model_dir(tmp_path / "other", ["a bell rings", "a dog barks"]))
    with pytest.raises(QueryError, match="another model"):
        grounder.ground(other.encode(clip), ["a dog barks"])


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
    from_array = g.encode(audio, 32000).embeddings  # an array is cut into the same blocks
    np.testing.assert_allclose(from_array.numpy(), streamed.numpy(), atol=1e-4)


@pytest.mark.parametrize("phrase", ["a xylophone glissando", "xylophone zither", "the"])
def test_a_phrase_with_no_known_word_is_refused(grounder, clip, phrase):
    with pytest.raises(QueryError, match=f"phrase '{phrase}'") as err:
        grounder.ground(clip, ["a dog barks", phrase])
    assert "\n" not in str(err.value) and "vocab.json" in str(err.value)


def test_a_partly_known_phrase_warns_and_ignores_the_unknown_words(grounder, clip):
    with pytest.warns(UserWarning, match="ignored the words the model does not know: loudly, at, xylophone"):
        s = grounder.scores(clip, ["a dog barks loudly at a xylophone"])
    assert s.ignored_words == (("loudly", "at", "xylophone"),)
    np.testing.assert_allclose(s.probabilities, grounder.scores(clip, ["a dog barks a"]).probabilities, atol=1e-6)


def test_silent_audio_warns(model_dir, tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(32000), 32000)
    with pytest.warns(UserWarning, match="silent"):
        Grounder(model_dir).ground(path, ["a dog barks"])


@pytest.mark.parametrize("phrase", ["", "   "])
def test_empty_phrase_is_refused(grounder, clip, phrase):
    with pytest.raises(QueryError, match="empty phrase"):
        grounder.ground(clip, [phrase])
    with pytest.raises(QueryError, match="no phrase"):
        grounder.ground(clip, [])


@pytest.mark.parametrize("kwargs, match", [({"threshold": 1.5}, "threshold"), ({"threshold": -0.1}, "threshold"),
                                           ({"threshold": float("nan")}, "threshold"), ({"median": 0}, "median"),
                                           ({"median": 4}, "median"), ({"median": 2.0}, "median")])
def test_bad_detection_options_are_refused(grounder, clip, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        grounder.ground(clip, ["a dog barks"], **kwargs)


def test_bad_audio_files(grounder, tmp_path):
    with pytest.raises(AudioError, match="missing.wav"):
        grounder.ground(tmp_path / "missing.wav", ["a dog barks"])
    with pytest.raises(AudioError, match="not an audio file"):
        grounder.ground(tmp_path, ["a dog barks"])
    short = tmp_path / "short.wav"
    sf.write(short, np.ones(1000) * 0.1, 32000)
    with pytest.raises(AudioError, match="too short"):
        grounder.ground(short, ["a dog barks"])
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio at all")
    with pytest.raises(AudioError, match="corrupt.wav"):
        grounder.ground(corrupt, ["a dog barks"])


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="not a torch device"):
        resolve_device("gpu please")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_the_package_face_is_lazy():
    import subprocess
    import sys

    code = "import sys, wstag; assert 'torch' not in sys.modules; from wstag import Grounder; print(Grounder.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Grounder"
