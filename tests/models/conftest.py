"""Tiny model configs: same topology as the presets, small enough for millisecond tests."""

from __future__ import annotations

import pytest
import torch

from wstag.models.crnn import CRNNConfig
from wstag.models.factory import ModelConfig
from wstag.models.text_encoder import TextEncoderConfig

TINY_AUDIO = CRNNConfig(channels=(4, 4, 8, 8), embed_dim=8, gru_hidden=4)
TINY = ModelConfig(audio_encoder=TINY_AUDIO, text_encoder=TextEncoderConfig(embed_dim=8))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> ModelConfig:
    return TINY
