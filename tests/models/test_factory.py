from dataclasses import replace

import pytest
import torch

from wstag.errors import ConfigError
from wstag.models.crnn import CRNNConfig
from wstag.models.text_encoder import TextEncoderConfig
from wstag.models.factory import (
    MODEL_PRESETS,
    ModelConfig,
    build_model,
    count_parameters,
    list_presets,
    to_model_config,
)


def test_paper_preset_is_table_one() -> None:
    cfg = MODEL_PRESETS["paper"]
    a = cfg.audio_encoder
    assert a.channels == (64, 128, 256, 512) and a.n_mels is None  # the front end's 64 (SPEC 1)
    assert (a.embed_dim, a.gru_hidden, a.out_dim, cfg.text_encoder.embed_dim) == (512, 256, 512, 512)
    assert (a.block_dropout, a.frame_dropout) == (0.2, 0.5)
    with torch.device("meta"):  # count without allocating
        model = build_model("paper", vocab_size=5000)
    counts = count_parameters(model)
    assert counts["audio_encoder"] == 6_131_648
    assert counts["text_encoder"] == 5000 * 512


def test_cpu_preset_same_topology_narrower() -> None:
    paper, cpu = MODEL_PRESETS["paper"].audio_encoder, MODEL_PRESETS["cpu"].audio_encoder
    assert len(cpu.channels) == len(paper.channels)
    assert all(c < p for c, p in zip(cpu.channels, paper.channels))
    assert MODEL_PRESETS["cpu"].text_encoder.embed_dim == cpu.out_dim
    assert list_presets() == ["cpu", "cpu_fast", "paper"]


def test_cpu_fast_keeps_the_40_ms_grid_and_the_paper_stays_table_1() -> None:
    import torch

    fast = MODEL_PRESETS["cpu_fast"].audio_encoder
    assert fast.stem_stride == (2, 4) and not fast.mel_bn_affine
    assert MODEL_PRESETS["paper"].audio_encoder.stem_stride == (1, 1)  # no stem in Table I
    model = build_model("cpu_fast", vocab_size=10).eval()
    with torch.no_grad():
        emb, lengths = model.encode_audio(torch.randn(1, 1001, 64))
    assert emb.shape == (1, 250, 128) and lengths.tolist() == [250]  # 10 s -> 250 frames of 40 ms


def test_dict_round_trip_and_overrides() -> None:
    for name, cfg in MODEL_PRESETS.items():
        assert ModelConfig.from_dict(cfg.to_dict()) == cfg, name
    cfg = to_model_config({"preset": "cpu", "audio_encoder": {"block_dropout": 0.1, "specaugment": False}})
    assert cfg.audio_encoder.block_dropout == 0.1 and not cfg.audio_encoder.specaugment
    assert cfg.audio_encoder.channels == MODEL_PRESETS["cpu"].audio_encoder.channels
    assert to_model_config({}) == MODEL_PRESETS["paper"]  # Table I is the default
    assert to_model_config("cpu") is MODEL_PRESETS["cpu"]


@pytest.mark.parametrize(
    "config, message",
    [
        ({"audio": {}}, r"unknown key model\.audio\b"),
        ({"audio_encoder": {"chanels": [1, 2, 3, 4]}}, r"unknown key model\.audio_encoder\.chanels"),
        ({"text_encoder": {"dim": 3}}, r"unknown key model\.text_encoder\.dim"),
        ({"audio_encoder": {"channels": [8, 16, 32]}}, r"model\.audio_encoder\.channels"),
        ({"audio_encoder": {"channels": 8}}, r"model\.audio_encoder\.channels"),
        ({"audio_encoder": {"frame_dropout": "high"}}, r"model\.audio_encoder\.frame_dropout"),
        ({"audio_encoder": {"gru_hidden": 128}}, r"model\.text_encoder\.embed_dim \(512\) must equal"),
        ({"text_encoder": {"embed_dim": -1}}, r"model\.text_encoder\.embed_dim"),
        ({"audio_encoder": []}, r"model\.audio_encoder must be a mapping"),
        ({"preset": "gpu"}, r"unknown model preset 'gpu'.*cpu.*paper"),
        ("large", r"unknown model preset 'large'"),
    ],
)
def test_config_errors_name_the_key(config, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(config, vocab_size=10)


def test_vocab_size_must_be_valid() -> None:
    with pytest.raises(ConfigError, match="vocab_size"):
        build_model("cpu", vocab_size=2)


def test_build_from_config_object() -> None:
    cfg = ModelConfig(CRNNConfig(channels=(4, 4, 8, 8), embed_dim=8, gru_hidden=4), TextEncoderConfig(embed_dim=8))
    model = build_model(cfg, vocab_size=12)
    assert model.vocab_size == 12 and model.embed_dim == 8
    assert model.audio_encoder.config == replace(cfg.audio_encoder, n_mels=64)  # the front end's bands
