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
