"""Negatives are drawn in proportion to how often captions use a phrase, as positives are."""

import numpy as np
import pytest

from wstag.sampling.clustering_sampler import ClusteringNegativeSampler
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.sampling.similarity_sampler import SimilarityNegativeSampler

# "a dog barks" is the positive; the other two are equally far from it.
VECTORS = {"a dog barks": (1.0, 0.0), "a cat meows": (0.0, 1.0), "a cat meowing softly": (0.0, 1.0)}
POOL = ["a dog barks"] * 5 + ["a cat meows"] * 9 + ["a cat meowing softly"]


def embed(texts):
    return np.array([VECTORS[t] for t in texts])


@pytest.mark.parametrize("make", [
    lambda: RandomNegativeSampler(POOL),
    lambda: SimilarityNegativeSampler(POOL, embed, threshold=0.5),
    lambda: ClusteringNegativeSampler(POOL, embed, n_clusters=2),
])
def test_common_wordings_are_drawn_nine_times_as_often_as_rare_ones(make):
    sampler = make()
    rng = np.random.default_rng(0)
    draws = [sampler.sample(["a dog barks"], 2, rng)[0] for _ in range(4000)]
    share = draws.count("a cat meows") / len(draws)
    assert share == pytest.approx(0.9, abs=0.02)  # uniform over distinct phrases would give 0.5
