"""The model floor: CRNN audio encoder, text encoder, frame-phrase similarity, Eq. 6
pooling, the config factory and model folders. Imports only ``wstag.audio`` and
``wstag.text`` (never data, training or cli): a model is usable on its own.
"""

from wstag.models.checkpoint import load_model, save_model
from wstag.models.crnn import CRNN, CRNNConfig
from wstag.models.factory import MODEL_PRESETS, ModelConfig, build_model, count_parameters, list_presets
from wstag.models.grounding import GroundingModel
from wstag.models.pooling import AUDIO_POOLING, get_pooling
from wstag.models.text_encoder import TextEncoder, TextEncoderConfig

__all__ = [
    "AUDIO_POOLING",
    "CRNN",
    "CRNNConfig",
    "GroundingModel",
    "MODEL_PRESETS",
    "ModelConfig",
    "TextEncoder",
    "TextEncoderConfig",
    "build_model",
    "count_parameters",
    "get_pooling",
    "list_presets",
    "load_model",
    "save_model",
]
