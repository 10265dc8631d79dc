"""Alg. 2: negatives come one per cluster from clusters without a positive."""

from collections import Counter

import numpy as np
import pytest

from wstag.sampling.clustering_sampler import ClusteringNegativeSampler, cluster_labels

GROUPS = {  # three tight, well separated groups of phrases
    "dog": (["dog barks", "a dog barking", "dogs bark", "barking"], (1.0, 0.0, 0.0)),
    "cat": (["cat meows", "a cat meowing", "meowing"], (0.0, 1.0, 0.0)),
    "bell": (["bell rings", "a bell ringing", "bells chime", "ringing", "chiming"], (0.0, 0.0, 1.0)),
}
GROUP_OF = {p: g for g, (phrases, _) in GROUPS.items() for p in phrases}
POOL = sorted(GROUP_OF)


def embed(texts):
    rng = np.random.default_rng(len(texts))
    v = np.array([GROUPS[GROUP_OF.get(t, "dog")][1] for t in texts]) + 0.05 * rng.standard_normal((len(texts), 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("method", ["kmeans", "spectral", "agglomerative"])
def test_clusters_recover_the_groups(method):
    labels = cluster_labels(embed(POOL), 3, method)
    partition = {frozenset(p for p, k in zip(POOL, labels) if k == c) for c in set(labels)}
    assert partition == {frozenset(phrases) for phrases, _ in GROUPS.values()}


def test_negatives_avoid_positive_clusters_and_alternate_between_the_others():
    s = ClusteringNegativeSampler(POOL, embed, n_clusters=3)
    for seed in range(20):
        out = s.sample(["dog barks"], 3, np.random.default_rng(seed))  # 2 negatives, 2 clusters left
        assert sorted(GROUP_OF[p] for p in out) == ["bell", "cat"]
        out = s.sample(["dog barks"], 5, np.random.default_rng(seed))  # 4 negatives: cycle twice
        assert Counter(GROUP_OF[p] for p in out) == {"bell": 2, "cat": 2}
        assert len(set(out)) == 4
    out = s.sample(["dog barks", "barking"], 50, np.random.default_rng(0))  # more than there are
    assert sorted(out) == sorted(p for p in POOL if GROUP_OF[p] != "dog")


def test_positives_outside_the_pool_join_the_nearest_cluster():
    s = ClusteringNegativeSampler(POOL, embed, n_clusters=3)
    assert len(set(s.cluster_of(["a puppy yelps", "dogs bark"]))) == 1  # "a puppy yelps" embeds as dog
    out = s.sample(["a puppy yelps"], 20, np.random.default_rng(0))
    assert all(GROUP_OF[p] != "dog" for p in out)


def test_no_negative_cluster_left_gives_no_negatives():
    s = ClusteringNegativeSampler(POOL, embed, n_clusters=3)
    assert s.sample(["dog barks", "cat meows", "bell rings"], 32, np.random.default_rng(0)) == []


def test_bad_cluster_settings_raise():
    with pytest.raises(ValueError, match="n_clusters"):
        ClusteringNegativeSampler(POOL, embed, n_clusters=100)
    with pytest.raises(ValueError, match="clustering must be one of"):
        cluster_labels(embed(POOL), 3, "dbscan")


def test_proportional_draw_follows_phrase_occurrences_and_still_avoids_positive_clusters():
    # the bell cluster is used 9 times as often as the cat cluster by the captions
    pool = [p for p in POOL if GROUP_OF[p] != "bell"] + [p for p in POOL if GROUP_OF[p] == "bell"] * 9
    s = ClusteringNegativeSampler(pool, embed, n_clusters=3, draw="proportional")
    drawn = Counter()
    for seed in range(400):
        out = s.sample(["dog barks"], 2, np.random.default_rng(seed))  # one negative per clip
        assert len(out) == 1 and GROUP_OF[out[0]] != "dog"
        drawn[GROUP_OF[out[0]]] += 1
    # bell holds 5 phrases x 9 occurrences = 45 of the 48 non-dog occurrences; cat 3
    assert drawn["bell"] / 400 == pytest.approx(45 / 48, abs=0.04)
    uniform = ClusteringNegativeSampler(pool, embed, n_clusters=3)
    first = Counter(GROUP_OF[uniform.sample(["dog barks"], 2, np.random.default_rng(seed))[0]] for seed in range(400))
    assert first["bell"] / 400 == pytest.approx(0.5, abs=0.08)  # Alg. 2: the clusters alike
    with pytest.raises(ValueError, match="draw must be one of"):
        ClusteringNegativeSampler(POOL, embed, n_clusters=3, draw="sometimes")
