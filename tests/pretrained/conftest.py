"""The corpora the shipped models' cards were measured on, rebuilt once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture(scope="session")
def card_corpus_for(fetched_cache, tmp_path_factory) -> Callable[[dict], Path]:
    """The corpus of one evaluation on a shipped model's card (``card["evaluation"]`` or one of
    ``card["also_evaluated"]``), built as `wstag data build --preset P --out DIR --seed S` builds it,
    from the sound bank of the preset's class table (fetched and decoded when missing):
    deterministic, so its hash can be checked against the card's. Each (preset, seed) is built
    once per session, so models measured on the same corpus share one build."""
    from wstag.scapes.build import build_corpus, preset_table
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.pipeline import prepare_bank

    built: dict[tuple[str, int], Path] = {}

    def corpus(ev: dict) -> Path:
        assert ev["corpus_preset"] and ev["corpus_seed"] is not None, \
            f"the card's evaluation on {ev['corpus_hash']} does not say how to build its corpus"
        key = (ev["corpus_preset"], int(ev["corpus_seed"]))
        if key not in built:
            bank, _ = prepare_bank(fetched_cache, table=load_class_table(name=preset_table(key[0])))
            out = tmp_path_factory.mktemp("card-corpus") / key[0]
            built[key] = build_corpus(bank, key[0], out, seed=key[1]).path
        return built[key]

    return corpus
