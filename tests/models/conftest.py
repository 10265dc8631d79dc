"""Tiny model configs: same topology as the presets, small enough for millisecond tests."""

from __future__ import annotations

import pytest
import torch

from wstag.models.crnn import CRNNConfig
from wstag.models.factory import ModelConfig
from wstag.models.text_encoder import TextEncoderConfig

TINY_AUDIO = CRNNConfig(channels=(4, 4, 8, 8), embed_dim=8, gru_hidden=4)
#: The ``cpu_fast`` topology: strided stem (time 2, frequency 4), mel BatchNorm without affine.
TINY_STEM_AUDIO = CRNNConfig(channels=(4, 4, 8, 8), embed_dim=8, gru_hidden=4, stem_stride=(2, 4),
                             block_pools=((1, 2), (2, 2), (1, 1), (1, 1)), mel_bn_affine=False)
TINY = ModelConfig(audio_encoder=TINY_AUDIO, text_encoder=TextEncoderConfig(embed_dim=8))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> ModelConfig:
    return TINY
