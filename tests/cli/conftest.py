"""The tiny corpus the CLI tests train on: built once per session from the real sound bank."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_corpus(sound_bank, tmp_path_factory) -> Path:
    from wstag.scapes.build import build_corpus

    return build_corpus(sound_bank, "tiny", tmp_path_factory.mktemp("c") / "tiny", seed=2).path
