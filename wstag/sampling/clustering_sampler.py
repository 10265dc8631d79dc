"""Clustering-based negative sampling (paper Alg. 2).

Every pool phrase is clustered on its audio-centric embedding (k-means with 32
clusters in the paper; spectral and agglomerative as Table VI's alternatives). A clip's
negatives come one per cluster from the clusters holding none of its positives, in a
random cluster order, cycling when more negatives than clusters are needed: rare
sounds are sampled as often as common ones, and no negative shares a cluster with a
positive.

That uniform choice of cluster makes a phrase of a small cluster a negative far more
often than captions make it a positive, so the label becomes predictable from the
phrase's wording alone: on the embedded benchmark a text-only probe reaches ROC AUC
0.63-0.64 on Alg. 2's draws (0.50 for random sampling; reports/table2/sampling-diagnosis.md),
a shortcut that lowers the loss without listening. ``draw="proportional"`` draws each
negative's cluster in proportion to its phrase occurrences instead (still never one
holding a positive), that is, random sampling's count-weighted draw over the phrases of
the other clusters: its label balance, with Alg. 2's false-negative filter.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering

from wstag.sampling.embedded_pool import EmbeddedPool
from wstag.text.embedder import PhraseEmbedder

CLUSTERING = ("kmeans", "spectral", "agglomerative")
#: "uniform": Alg. 2's random cluster order; "proportional": clusters weighted by their phrase occurrences
CLUSTER_DRAWS = ("uniform", "proportional")


def cluster_labels(vectors: np.ndarray, n_clusters: int, method: str = "kmeans", seed: int = 0) -> np.ndarray:
    """Cluster index (N,) of each unit-norm row with scikit-learn."""
    if method not in CLUSTERING:
        raise ValueError(f"clustering must be one of {CLUSTERING}, got {method!r}")
    if not 2 <= n_clusters <= len(vectors):
        raise ValueError(f"n_clusters must lie in [2, {len(vectors)}] (the pool size), got {n_clusters}")
    if method == "kmeans":
        algo = KMeans(n_clusters, n_init=10, random_state=seed)
    elif method == "spectral":  # graph of the non-negative cosine similarities
        affinity = np.clip(vectors @ vectors.T, 0.0, None)
        return SpectralClustering(n_clusters, affinity="precomputed", random_state=seed).fit_predict(affinity).astype(int)
    else:
        algo = AgglomerativeClustering(n_clusters, metric="cosine", linkage="average")
    return algo.fit_predict(vectors).astype(int)


class ClusteringNegativeSampler:
    def __init__(self, phrase_pool: Iterable[str], embed: PhraseEmbedder, n_clusters: int = 32,
                 method: str = "kmeans", seed: int = 0, draw: str = "uniform"):
        if draw not in CLUSTER_DRAWS:
            raise ValueError(f"draw must be one of {CLUSTER_DRAWS}, got {draw!r}")
        self.draw = draw
        self.pool = EmbeddedPool(phrase_pool, embed)
        self.labels = cluster_labels(self.pool.vectors, n_clusters, method, seed)
        self.members = [np.flatnonzero(self.labels == k) for k in range(n_clusters)]
        # Phrases outside the pool join the cluster with the nearest mean direction.
        means = np.stack([self.pool.vectors[m].mean(axis=0) for m in self.members])
        self.centroids = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)

    def cluster_of(self, texts: Sequence[str]) -> list[int]:
        """M(q): the cluster of each phrase."""
        known = [self.pool.index.get(t) for t in texts]
        if all(k is not None for k in known):
            return [int(self.labels[k]) for k in known]
        nearest = (self.pool.vectors_of(list(texts)) @ self.centroids.T).argmax(axis=1)
        return [int(self.labels[k]) if k is not None else int(c) for k, c in zip(known, nearest)]

    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]:
        want = max(0, n_total - len(positives))
        if want == 0:
            return []
        positive_clusters = set(self.cluster_of(list(positives))) if positives else set()
        negative_clusters = [k for k in range(len(self.members)) if k not in positive_clusters]
        if not negative_clusters:
            return []
        if self.draw == "proportional":  # each draw's cluster in proportion to its phrase occurrences
            allowed = np.concatenate([self.members[k] for k in negative_clusters])
            return [self.pool.texts[i] for i in self.pool.weighted_order(rng, allowed)[:want]]
        order = [negative_clusters[i] for i in rng.permutation(len(negative_clusters))]
        # Each cluster's phrases in a random count-weighted order (Alg. 2 samples among all
        # phrase occurrences of a cluster), so cycling never repeats a phrase.
        queues = {k: list(self.pool.weighted_order(rng, self.members[k])[::-1]) for k in order}
        out: list[str] = []
        j = 0
        while len(out) < want and any(queues.values()):
            queue = queues[order[j % len(order)]]
            if queue:
                out.append(self.pool.texts[queue.pop()])
            j += 1
        return out
