"""A folder of a few generated recordings (one corrupt, one empty) and untrained tiny model folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.inference.tiny import make_model_dir, tone_clip

#: name -> seconds; the 40 s file is encoded in overlapping 30 s blocks.
CLIPS = {"a.wav": 2.0, "b.flac": 3.0, "sub/c.wav": 5.0, "long.flac": 40.0}


def write_folder(folder: Path) -> Path:
    for k, (name, seconds) in enumerate(CLIPS.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = tone_clip(seconds, seed=k)
        audio[: len(audio) // 3] *= 20 * (k + 1)  # louder openings: curves that differ between files
        sf.write(path, np.clip(audio, -1, 1), 32000)
    (folder / "corrupt.flac").write_bytes(b"fLaC" + bytes(range(256)) * 4)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.txt").write_text("not audio, not indexed\n")
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("index-model") / "model")


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    return make_model_dir(tmp_path_factory.mktemp("index-other") / "model", captions=["a siren wails", "a dog barks"])


@pytest.fixture(scope="session")
def audio_master(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("index-audio") / "audio")


@pytest.fixture
def audio_dir(audio_master, tmp_path) -> Path:
    """A private copy (tests touch and delete files); modification times are kept."""
    return Path(shutil.copytree(audio_master, tmp_path / "audio"))
