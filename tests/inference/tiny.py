"""Untrained tiny model folders and generated recordings for the inference and CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wstag.models.checkpoint import save_model
from wstag.models.factory import build_model
from wstag.text.vocabulary import Vocabulary

CAPTIONS = ["a dog barks", "a man speaks while rain falls"]


def make_model_dir(folder: Path, captions: list[str] = CAPTIONS, preset: str = "cpu_fast") -> Path:
    """An untrained model folder whose vocabulary holds the words of ``captions``."""
    torch.manual_seed(0)
    vocab = Vocabulary.build(captions)
    return save_model(folder, build_model(preset, len(vocab)).eval(), vocab)


def tone_clip(seconds: float = 5.0, sample_rate: int = 32000, seed: int = 0) -> np.ndarray:
    """Quiet noise with a 440 Hz tone from 1 s to 1.5 s: (n,) float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    audio = 0.01 * rng.standard_normal(n)
    t = np.arange(sample_rate // 2) / sample_rate
    audio[sample_rate: sample_rate + len(t)] += 0.5 * np.sin(2 * np.pi * 440 * t)
    return audio.astype(np.float32)


def write_clip(path: Path, seconds: float = 5.0, sample_rate: int = 32000, stereo: bool = True) -> Path:
    """A generated recording (stereo by default: it is downmixed on load)."""
    audio = tone_clip(seconds, sample_rate)
    sf.write(path, np.stack([audio, audio], axis=1) if stereo else audio, sample_rate)
    return path
