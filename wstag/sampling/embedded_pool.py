"""The phrase pool with one audio-centric embedding per phrase (the input of Alg. 1 and 2).

Embeddings come from any function that maps texts to unit-norm rows, in practice the
text tower of the CLAP model trained on the same captions (``wstag.models.clap``).
Phrases outside the pool (positives of validation captions) are embedded on first use.
The pool lists every phrase occurrence; draws are weighted by those counts, so a phrase
is as likely to be a negative as captions make it a positive (see ``random_sampler``).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from wstag.text.embedder import PhraseEmbedder



class EmbeddedPool:
    def __init__(self, phrase_pool: Iterable[str], embed: PhraseEmbedder):
        counts = Counter(phrase_pool)
        self.texts = sorted(counts)
        self.counts = np.array([counts[t] for t in self.texts], dtype=np.float64)
        if not self.texts:
            raise ValueError("the phrase pool is empty: no training phrases to sample negatives from")
        self._embed = embed
        self.vectors = self._checked(embed(self.texts), len(self.texts))  # (P, D)
        self.index = {t: i for i, t in enumerate(self.texts)}
        self._extra: dict[str, np.ndarray] = {}

    @staticmethod
    def _checked(vectors: np.ndarray, n: int) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != n:
            raise ValueError(f"the phrase embedder returned shape {vectors.shape} for {n} phrases")
        if not np.isfinite(vectors).all():
            raise ValueError("the phrase embedder returned NaN or inf")
        return vectors

    def weighted_order(self, rng: np.random.Generator, members: np.ndarray | None = None) -> np.ndarray:
        """Pool indices (all, or ``members``) in a random order drawn in proportion to their counts.

        Efraimidis-Spirakis: sorting by u^(1/w) is weighted sampling without replacement.
        """
        members = np.arange(len(self.texts)) if members is None else np.asarray(members)
        keys = rng.random(len(members)) ** (1.0 / self.counts[members])
        return members[np.argsort(-keys, kind="stable")]

    def vectors_of(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), D) embeddings, pool rows where the text is in the pool."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.index and t not in self._extra]
        if missing:
            self._extra.update(zip(missing, self._checked(self._embed(missing), len(missing))))
        return np.stack([self.vectors[self.index[t]] if t in self.index else self._extra[t] for t in texts])
