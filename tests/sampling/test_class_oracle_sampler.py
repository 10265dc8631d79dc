"""The class oracle: random draws minus the phrases of the positives' true classes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.sampling.fake_embeddings import CLASS_OF, write_corpus
from wstag.errors import ConfigError, LabelError
from wstag.data.phrase_classes import phrase_classes
from wstag.sampling.class_oracle_sampler import ClassOracleNegativeSampler
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.training.config import parse_experiment

POOL = ["a dog barks"] * 3 + ["dogs bark"] * 2 + ["a car passes"] * 4 + ["rain falls", "briefly"]
CLASSES = {"a dog barks": "dog", "dogs bark": "dog", "a car passes": "car", "rain falls": "rain", "briefly": None}


def test_never_draws_a_positive_class_and_keeps_the_rest():
    sampler = ClassOracleNegativeSampler(POOL, CLASSES)
    assert sampler.banned(["a dog barks"]) == {"a dog barks", "dogs bark"}
    rng = np.random.default_rng(0)
    drawn = Counter(n for _ in range(300) for n in sampler.sample(["a dog barks"], 3, rng))
    assert set(drawn) == {"a car passes", "rain falls", "briefly"}  # never "dogs bark"
    # more negatives asked for than there are non-dog phrases: all three, each once
    assert sorted(sampler.sample(["a dog barks"], 10, rng)) == ["a car passes", "briefly", "rain falls"]
    # the plain random sampler does draw the false negative
    assert "dogs bark" in {n for _ in range(300) for n in RandomNegativeSampler(POOL).sample(["a dog barks"], 3, rng)}


def test_a_phrase_without_class_or_outside_the_map_bans_only_itself():
    sampler = ClassOracleNegativeSampler(POOL, CLASSES)
    assert sampler.banned(["briefly"]) == {"briefly"}
    assert sampler.banned(["a validation phrase"]) == {"a validation phrase"}
    assert sampler.banned(["rain falls", "a car passes"]) == {"rain falls", "a car passes"}


def test_draws_like_random_sampling_where_nothing_more_is_banned():
    """Same seed, same positives, nothing else of their class: the same negatives as random sampling."""
    oracle, plain = ClassOracleNegativeSampler(POOL, CLASSES), RandomNegativeSampler(POOL)
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(20):
        assert oracle.sample(["rain falls"], 4, a) == plain.sample(["rain falls"], 4, b)


def test_phrase_classes_read_from_the_corpus_labels(tmp_path: Path):
    write_corpus(tmp_path, [(["a dog barks", "rain falls"], ["dog", "rain"]), (["dogs bark"], ["dog", "car"])])
    assert phrase_classes(tmp_path) == {"a dog barks": "dog", "rain falls": "rain", "dogs bark": CLASS_OF["dogs bark"]}
    (tmp_path / "train" / "labels.json").unlink()
    with pytest.raises(LabelError, match="labels.json"):
        phrase_classes(tmp_path)


def test_config_accepts_the_oracle_for_phrase_level_only():
    cfg = parse_experiment({"sampling": {"strategy": "class_oracle"}}, "x.yaml")
    assert not cfg.sampling.needs_embeddings and not cfg.sampling.needs_clap
    with pytest.raises(ConfigError, match="regime 'sstag' draws no negatives"):
        parse_experiment({"training": {"regime": "sstag"}, "sampling": {"strategy": "class_oracle"}}, "x.yaml")
