"""Fixtures for the sound-bank tests: the real packages, fetched once per session.

The real packages are the test data (the readers exist to read exactly them), so the
session fetches them into the ordinary cache (`$WSTAG_CACHE` or ~/.cache/wstag; a
re-run reuses it) with the same code users run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from wstag.scapes.fetch import default_cache_dir, fetch_all


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
def deb_dir(fetched_cache: Path) -> Path:
    """Folder holding the ``*.deb`` files: $WSTAG_DEBS, else the cache's debs/."""
    env = os.environ.get("WSTAG_DEBS")
    return Path(env) if env else fetched_cache / "debs"


@pytest.fixture(scope="session")
def find_deb(deb_dir: Path) -> Callable[[str], Path]:
    """``find_deb("openttd-opensfx")`` -> that package's .deb."""

    def find(package: str) -> Path:
        matches = sorted(deb_dir.glob(f"{package}_*.deb"))
        if not matches:
            raise FileNotFoundError(f"{package}_*.deb not in {deb_dir}")
        return matches[-1]

    return find
