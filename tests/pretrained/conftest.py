"""The corpus a shipped model's card was measured on, rebuilt once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from wstag.experiments.ship import read_card
from wstag.shipped import DEFAULT_MODEL, PRETRAINED_DIR


@pytest.fixture(scope="session")
def default_card() -> dict:
    return read_card(PRETRAINED_DIR / DEFAULT_MODEL)


@pytest.fixture(scope="session")
def card_corpus(sound_bank, default_card, tmp_path_factory) -> Path:
    """The corpus of the default model's card (the `small` preset, seed 0), built as
    `wstag data build --preset P --out DIR --seed S` builds it: deterministic, so its
    hash can be checked against the card's."""
    from wstag.scapes.build import build_corpus

    ev = default_card["evaluation"]
    assert ev["corpus_preset"] and ev["corpus_seed"] is not None, "the card does not say how to build its corpus"
    out = tmp_path_factory.mktemp("card-corpus") / ev["corpus_preset"]
    return build_corpus(sound_bank, ev["corpus_preset"], out, seed=int(ev["corpus_seed"])).path
