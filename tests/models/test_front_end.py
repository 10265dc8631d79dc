"""The model carries its FrontEnd: checked against the CRNN when built, saved in its folder."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from wstag.audio.frames import FrameGrid
from wstag.audio.frontend import DEFAULT_FRONT_END, FrontEnd
from wstag.errors import ConfigError, ModelFolderError
from wstag.models.checkpoint import load_model, read_front_end, save_model
from wstag.models.factory import ModelConfig, build_model, model_config_of
from wstag.models.grounding import GroundingModel
from wstag.text.vocabulary import Vocabulary

from .conftest import TINY, TINY_AUDIO

CAPTIONS = ["A dog barks while a man speaks", "Rain falls and thunder rumbles"]
FE32 = FrontEnd(n_mels=32, hop=160, f_max=12000.0)
TINY32 = ModelConfig(replace(TINY_AUDIO, n_mels=32), TINY.text_encoder)


def test_model_builds_its_logmel_and_grid_from_the_front_end() -> None:
    model = build_model(TINY32, 10, FE32).eval()
    assert model.front_end == FE32 and model.grid == FrameGrid(hop=160)
    assert (model.frontend.n_mels, model.frontend.hop, model.frontend.f_max) == (32, 160, 12000.0)
    with torch.no_grad():
        feats, feat_lengths = model.features(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 8000]))
        emb, out_lengths = model.from_waveform(torch.randn(1, 16000) * 0.1)
    assert feats.shape == (2, 101, 32) and feat_lengths.tolist() == [101, 51]
    assert emb.shape[1] == out_lengths[0] == 101 // 4 == 25


def test_the_crnn_takes_its_mel_bands_from_the_front_end() -> None:
    assert TINY_AUDIO.n_mels is None  # a config names the bands once, in front_end
    model = GroundingModel(TINY_AUDIO, TINY.text_encoder, 10, FrontEnd(n_mels=128))
    assert model.audio_encoder.config.n_mels == 128 == model.audio_encoder.mel_bn.num_features
    assert model_config_of(model).audio_encoder.n_mels == 128  # what a saved folder records
    assert GroundingModel(TINY_AUDIO, TINY.text_encoder, 10, FrameGrid()).front_end.n_mels == 64  # SPEC 1


def test_n_mels_mismatch_is_a_config_error_when_built() -> None:
    with pytest.raises(ConfigError) as info:  # a saved folder's weights against another front end
        GroundingModel(replace(TINY_AUDIO, n_mels=64), TINY.text_encoder, 10, FrontEnd(n_mels=128))
    assert "model.audio_encoder.n_mels (64)" in str(info.value) and "front_end.n_mels (128)" in str(info.value)
    with pytest.raises(ConfigError, match=r"n_mels \(32\) must equal front_end.n_mels \(64\)"):
        build_model(TINY32, 10, DEFAULT_FRONT_END)
    with pytest.raises(ConfigError, match=r"front_end.time_downsample 2 does not match the CRNN's time pooling \(4\)"):
        build_model(TINY, 10, FrontEnd(time_downsample=2))


@pytest.fixture
def saved32(tmp_path):
    vocab = Vocabulary.build(CAPTIONS)
    model = build_model(TINY32, len(vocab), FE32).eval()
    return save_model(tmp_path / "model", model, vocab), model, vocab


def test_folder_saves_and_restores_the_front_end(saved32) -> None:
    folder, model, _ = saved32
    config = json.loads((folder / "config.json").read_text())
    assert config["front_end"] == FE32.to_dict()
    assert config["frame_grid"] == {"sample_rate": 32000, "hop": 160, "time_downsample": 4}
    loaded, _, _ = load_model(folder, expected_front_end=FE32)
    assert loaded.front_end == FE32 == read_front_end(folder) and loaded.frontend.n_mels == 32
    wave = torch.randn(1, 12000) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(loaded.from_waveform(wave)[0], model.from_waveform(wave)[0], rtol=0, atol=0)


def test_folder_with_another_front_end_is_refused_in_one_line(saved32) -> None:
    folder = saved32[0]
    with pytest.raises(ModelFolderError) as info:
        load_model(folder, expected_front_end=DEFAULT_FRONT_END)
    message = str(info.value)
    assert str(folder) in message and "\n" not in message
    assert "hop 160 vs 320, n_mels 32 vs 64, f_max 12000 vs 14000" in message


def test_front_end_disagreeing_with_frame_grid_is_invalid(saved32) -> None:
    folder = saved32[0]
    config = json.loads((folder / "config.json").read_text())
    config["frame_grid"]["hop"] = 320
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match="config.json is invalid: front_end .* disagrees with frame_grid"):
        load_model(folder)


def test_old_folder_without_front_end_loads_with_the_default(tmp_path) -> None:
    vocab = Vocabulary.build(CAPTIONS)
    model = build_model(TINY, len(vocab)).eval()
    folder = save_model(tmp_path / "model", model, vocab)
    config = json.loads((folder / "config.json").read_text())
    del config["front_end"]  # as wstag wrote it before FrontEnd existed
    (folder / "config.json").write_text(json.dumps(config))
    loaded, _, _ = load_model(folder, expected_front_end=DEFAULT_FRONT_END)
    assert loaded.front_end == DEFAULT_FRONT_END and read_front_end(folder) == DEFAULT_FRONT_END
    assert (loaded.frontend.n_fft, loaded.frontend.n_mels, loaded.frontend.f_min, loaded.frontend.f_max) == (
        1024, 64, 50.0, 14000.0)
    wave = torch.randn(1, 32000) * 0.1
    with torch.no_grad():
        torch.testing.assert_close(loaded.from_waveform(wave)[0], model.from_waveform(wave)[0], rtol=0, atol=0)
