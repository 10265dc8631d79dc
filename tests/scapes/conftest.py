"""Fixtures for the sound-bank tests: where the downloaded Debian packages are.

The real packages are the test data (the readers exist to read exactly them), so the
tests look for them in the usual places and skip, saying where they looked, if none
is there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

_DEFAULT_CACHE = Path("~/.cache/wstag/debs").expanduser()
_FALLBACK = Path("/tmp/debs")


def _candidates() -> list[Path]:
    env = os.environ.get("WSTAG_DEBS")
    if env:
        return [Path(env).expanduser()]
    return [_DEFAULT_CACHE, _FALLBACK]


@pytest.fixture(scope="session")
def deb_dir() -> Path:
    """Folder holding the ``*.deb`` files: $WSTAG_DEBS, else ~/.cache/wstag/debs, else /tmp/debs."""
    for folder in _candidates():
        if folder.is_dir() and any(folder.glob("*.deb")):
            return folder
    looked = ", ".join(str(p) for p in _candidates())
    pytest.skip(f"no downloaded .deb packages found (looked in {looked}; set WSTAG_DEBS)")


@pytest.fixture(scope="session")
def find_deb(deb_dir: Path) -> Callable[[str], Path]:
    """``find_deb("openttd-opensfx")`` -> that package's .deb, or skip if it is missing."""

    def find(package: str) -> Path:
        matches = sorted(deb_dir.glob(f"{package}_*.deb"))
        if not matches:
            pytest.skip(f"{package}_*.deb not in {deb_dir}")
        return matches[-1]

    return find
