"""Alg. 1: candidates too similar to a positive are never negatives."""

import numpy as np
import pytest

from wstag.sampling.similarity_sampler import SimilarityNegativeSampler

VECTORS = {  # unit vectors: cosine similarities to "dog barks" are the x components
    "dog barks": (1.0, 0.0),
    "a dog barking": (0.8, 0.6),
    "cat meows": (0.0, 1.0),
    "bell rings": (-1.0, 0.0),
    "car passes": (0.6, -0.8),
    "puppy yelps": (0.96, 0.28),  # not in the pool: a validation caption's phrase
}
POOL = ["dog barks", "a dog barking", "cat meows", "bell rings", "car passes"]


class CountingEmbedder:
    def __init__(self):
        self.calls = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return np.array([VECTORS[t] for t in texts])


@pytest.mark.parametrize("batch", [1, 2, 64])
def test_only_candidates_below_tau_are_sampled(batch):
    s = SimilarityNegativeSampler(POOL, CountingEmbedder(), threshold=0.5, batch=batch)
    for seed in range(10):
        out = s.sample(["dog barks"], 10, np.random.default_rng(seed))
        # sims 0.8 and 0.6 are rejected; 0.0 and -1.0 accepted; the pool then runs out
        assert sorted(out) == ["bell rings", "cat meows"]


def test_threshold_is_strict_and_n_total_is_respected():
    s = SimilarityNegativeSampler(POOL, CountingEmbedder(), threshold=0.6)
    for seed in range(10):
        out = s.sample(["dog barks"], 10, np.random.default_rng(seed))
        assert sorted(out) == ["bell rings", "cat meows"]  # 0.6 is not < 0.6
    s = SimilarityNegativeSampler(POOL, CountingEmbedder(), threshold=0.7)
    picks = set()
    for seed in range(30):
        out = s.sample(["dog barks"], 3, np.random.default_rng(seed))  # 2 negatives
        assert len(out) == 2 and len(set(out)) == 2
        assert set(out) <= {"bell rings", "cat meows", "car passes"}
        picks.update(out)
    assert picks == {"bell rings", "cat meows", "car passes"}


def test_every_positive_counts_and_unseen_positives_are_embedded_once():
    emb = CountingEmbedder()
    s = SimilarityNegativeSampler(POOL, emb, threshold=0.5)
    out = s.sample(["puppy yelps", "cat meows"], 10, np.random.default_rng(0))
    # puppy (0.96, 0.28): dog 0.96, dog barking 0.94, car 0.35, bell -0.96; cat rules out itself
    assert sorted(out) == ["bell rings", "car passes"]
    s.sample(["puppy yelps"], 10, np.random.default_rng(1))
    assert emb.calls == [sorted(POOL), ["puppy yelps"]]


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="pool is empty"):
        SimilarityNegativeSampler([], CountingEmbedder())
    with pytest.raises(ValueError, match="batch"):
        SimilarityNegativeSampler(POOL, CountingEmbedder(), batch=0)
    with pytest.raises(ValueError, match="shape"):
        SimilarityNegativeSampler(POOL, lambda texts: np.zeros((1, 2)))
    with pytest.raises(ValueError, match="NaN"):
        SimilarityNegativeSampler(POOL, lambda texts: np.full((len(texts), 2), np.nan))
