"""Similarity-based negative sampling (paper Alg. 1).

A candidate is accepted as negative only if its cosine similarity to every positive
phrase of the clip stays below tau (0.5 in the paper), so phrases describing a sound
that is in the clip are not labelled absent. Candidates are drawn in batches of b from
the pool without the positives and the negatives chosen so far.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from wstag.sampling.embedded_pool import EmbeddedPool
from wstag.text.embedder import PhraseEmbedder


class SimilarityNegativeSampler:
    def __init__(self, phrase_pool: Iterable[str], embed: PhraseEmbedder, threshold: float = 0.5, batch: int = 64):
        if batch < 1:
            raise ValueError(f"the candidate batch must be >= 1, got {batch}")
        self.pool = EmbeddedPool(phrase_pool, embed)
        self.threshold = threshold
        self.batch = batch

    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]:
        want = max(0, n_total - len(positives))
        if want == 0 or not positives:
            return []
        pos = self.pool.vectors_of(list(positives))  # (P, D)
        banned = {self.pool.index[p] for p in positives if p in self.pool.index}
        # A random (count-weighted) order of the pool walked b at a time = batches drawn from
        # what is left (a rejected candidate stays rejected: its similarity does not change).
        order = [i for i in self.pool.weighted_order(rng) if i not in banned]
        out: list[str] = []
        for start in range(0, len(order), self.batch):
            batch = order[start:start + self.batch]
            best = (self.pool.vectors[batch] @ pos.T).max(axis=1)  # s_j = max_q sim(B_j, q)
            for idx, s in zip(batch, best):
                if s < self.threshold:
                    out.append(self.pool.texts[idx])
                    if len(out) == want:
                        return out
        return out  # the pool held fewer than ``want`` phrases dissimilar enough
