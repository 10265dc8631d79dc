"""The corpus the shipped models' cards were measured on, rebuilt once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture(scope="session")
def card_corpus_for(sound_bank, tmp_path_factory) -> Callable[[dict], Path]:
    """The corpus of a shipped model's card (the `small` preset, seed 0, for every model so
    far), built as `wstag data build --preset P --out DIR --seed S` builds it: deterministic,
    so its hash can be checked against the card's. Each (preset, seed) is built once per
    session, so models measured on the same corpus share one build."""
    from wstag.scapes.build import build_corpus

    built: dict[tuple[str, int], Path] = {}

    def corpus(card: dict) -> Path:
        ev = card["evaluation"]
        assert ev["corpus_preset"] and ev["corpus_seed"] is not None, \
            f"the card of {card['name']} does not say how to build its corpus"
        key = (ev["corpus_preset"], int(ev["corpus_seed"]))
        if key not in built:
            out = tmp_path_factory.mktemp("card-corpus") / key[0]
            built[key] = build_corpus(sound_bank, key[0], out, seed=key[1]).path
        return built[key]

    return corpus

