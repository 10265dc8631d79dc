"""FrontEnd: one description of rate, STFT, mel bands and grid; validated, serialised, compared."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from wstag.audio.features import LogMel
from wstag.audio.frames import DEFAULT_GRID, FrameGrid
from wstag.audio.frontend import DEFAULT_FRONT_END, FEATURE_FIELDS, FrontEnd
from wstag.errors import ConfigError


def test_defaults_are_spec_1_and_the_default_grid() -> None:
    assert DEFAULT_FRONT_END.to_dict() == {"sample_rate": 32000, "n_fft": 1024, "hop": 320, "n_mels": 64,
                                           "f_min": 50.0, "f_max": 14000.0, "time_downsample": 4}
    assert DEFAULT_FRONT_END.grid == DEFAULT_GRID and DEFAULT_FRONT_END.grid.output_hop_s == 0.04
    assert DEFAULT_FRONT_END.n_feature_frames(32000) == 101


def test_round_trip_through_a_dict_and_json() -> None:
    fe = FrontEnd(sample_rate=16000, n_fft=512, hop=160, n_mels=40, f_min=20, f_max=8000, time_downsample=4)
    d = fe.to_dict()
    assert d == {"sample_rate": 16000, "n_fft": 512, "hop": 160, "n_mels": 40, "f_min": 20.0, "f_max": 8000.0,
                 "time_downsample": 4}
    assert FrontEnd.from_dict(d) == fe and FrontEnd.from_dict(json.loads(fe.tag())) == fe
    assert isinstance(fe.f_min, float)  # 20 and 20.0 are one front end
    assert FrontEnd.from_dict({"n_mels": 128}) == FrontEnd(n_mels=128)  # partial: the rest default
    assert fe.grid == FrameGrid(sample_rate=16000, hop=160, time_downsample=4)
    assert fe.grid.output_hop_s == 0.04


def test_logmel_computes_exactly_these_features() -> None:
    fe = FrontEnd(n_mels=32, f_min=100.0, f_max=8000.0)
    module = fe.logmel()
    assert (module.sample_rate, module.n_fft, module.hop, module.n_mels, module.f_min, module.f_max) == (
        32000, 1024, 320, 32, 100.0, 8000.0)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32))
    with torch.no_grad():
        out = module(x)
        ref = LogMel(n_mels=32, f_min=100.0, f_max=8000.0)(x)
    assert out.shape == (1, fe.n_feature_frames(16000), 32) == (1, 51, 32)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_describe_difference_names_each_differing_field() -> None:
    assert DEFAULT_FRONT_END.describe_difference(FrontEnd()) == ""
    assert DEFAULT_FRONT_END.describe_difference(FrontEnd(n_mels=128)) == "n_mels 64 vs 128"
    other = FrontEnd(hop=160, n_mels=128, f_max=16000.0)
    assert DEFAULT_FRONT_END.describe_difference(other) == "hop 320 vs 160, n_mels 64 vs 128, f_max 14000 vs 16000"
    # the features do not depend on the model's time downsampling
    assert DEFAULT_FRONT_END.describe_difference(FrontEnd(time_downsample=2), only=FEATURE_FIELDS) == ""


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n_mels": 0}, r"front_end\.n_mels must be a positive integer, got 0"),
     ({"hop": 32.5}, r"front_end\.hop must be a positive integer"),
     ({"sample_rate": True}, r"front_end\.sample_rate must be a positive integer"),
     ({"f_max": 20000.0}, r"f_max <= sample_rate / 2 \(16000\), got f_min 50, f_max 20000"),
     ({"f_min": 500.0, "f_max": 400.0}, r"0 <= f_min < f_max"),
     ({"f_min": "low"}, r"front_end\.f_min must be a number of Hz"),
     ({"hop": 2048}, r"front_end\.hop \(2048\) must not exceed n_fft \(1024\)")],
)
def test_bad_values_raise_config_errors_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FrontEnd(**kwargs)


def test_from_dict_rejects_unknown_keys_and_non_mappings() -> None:
    with pytest.raises(ConfigError, match=r"unknown key front_end\.n_mel;"):
        FrontEnd.from_dict({"n_mel": 128})
    with pytest.raises(ConfigError, match="must be a mapping"):
        FrontEnd.from_dict([64])


def test_from_grid_is_what_a_frame_grid_alone_meant() -> None:
    fe = FrontEnd.from_grid(FrameGrid(hop=160), n_mels=32)
    assert fe == FrontEnd(hop=160, n_mels=32) and fe.n_fft == 1024 and fe.f_max == 14000.0
