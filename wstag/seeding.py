"""Random draws that depend only on their names, the same in every process and Python version.

``hash()`` is salted per process, so a draw keyed by it changes from run to run; these
key numpy's generator by the SHA-256 of the parts instead (the wrong query of a pair,
its held-out wording, a diagnosis's sample).
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` joined by ``|``: ``stable_seed("a", 3)`` is the same everywhere."""
    key = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


def stable_rng(*parts: object) -> np.random.Generator:
    """A numpy generator seeded by ``stable_seed(*parts)``."""
    return np.random.default_rng(stable_seed(*parts))
