"""Random negative sampling: phrases drawn from other captions (paper IV, the baseline).

Phrase-level WSTAG needs negative phrases, or the model learns to answer 1 for every
query. The simplest source is the phrases of other captions; some of them describe
sounds that are in fact present (false negatives), which the similarity- and
clustering-based samplers of Alg. 1 and 2 reduce.

Phrases are drawn in proportion to how often captions use them, as positives are. A
draw uniform over *distinct* phrases would make rare wordings mostly negative and
common ones mostly positive, a text-only shortcut that lowers the loss without
listening (measured: clip-level tagging AUC 0.55 after 8 CPU minutes with it).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


class RandomNegativeSampler:
    """Draw ``n - len(positives)`` distinct phrases from the pool, none equal to a positive.

    ``phrase_pool`` lists every phrase occurrence of the training captions (repeats kept).
    """

    def __init__(self, phrase_pool: Iterable[str]):
        self.pool = sorted(phrase_pool)
        if not self.pool:
            raise ValueError("the phrase pool is empty: no training phrases to sample negatives from")

    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]:
        return self._draw(set(positives), max(0, n_total - len(positives)), rng)

    def _draw(self, banned: set[str], want: int, rng: np.random.Generator) -> list[str]:
        """``want`` distinct pool phrases outside ``banned``, drawn in proportion to their counts."""
        out: list[str] = []
        seen: set[str] = set()
        # Rejection sampling: positives are a handful in a pool of hundreds or more.
        for _ in range(20 * want + 20):
            if len(out) == want:
                break
            p = self.pool[int(rng.integers(len(self.pool)))]
            if p not in banned and p not in seen:
                out.append(p)
                seen.add(p)
        return out
