"""Random sampling without false negatives of the positives' classes: an oracle, for diagnosis only.

Alg. 1 and 2 exist to keep phrases that describe a sound of the clip out of its
negatives; on the embedded benchmark random sampling labels about 6 % of its negatives
absent although a positive of the same class names them ("dogs barking" against "a dog
barks"; `sampling-diagnosis.md`). This sampler removes exactly those, using the true
class of every training phrase that only the benchmark knows (`labels.json`), and
otherwise draws as random sampling does. Training with it asks what a perfect Alg. 1
would gain: if it scores below random sampling, removing false negatives itself costs
PSDS here, whatever the embeddings. Real data (AudioCaps) has no such labels.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

from wstag.sampling.random_sampler import RandomNegativeSampler


class ClassOracleNegativeSampler(RandomNegativeSampler):
    """Random draws, minus every pool phrase whose true class is a positive's class.

    ``text_class`` maps a phrase text to its true class (None: names no sound class);
    a positive outside the map (a validation phrase) bans nothing beyond itself.
    """

    def __init__(self, phrase_pool: Iterable[str], text_class: Mapping[str, str | None]):
        super().__init__(phrase_pool)
        self.text_class = dict(text_class)
        self.by_class: dict[str, set[str]] = defaultdict(set)
        for text in set(self.pool):
            if self.text_class.get(text) is not None:
                self.by_class[self.text_class[text]].add(text)

    def banned(self, positives: Sequence[str]) -> set[str]:
        """The positives and every pool phrase of their classes."""
        out = set(positives)
        for p in positives:
            cls = self.text_class.get(p)
            if cls is not None:
                out |= self.by_class[cls]
        return out

    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]:
        return self._draw(self.banned(positives), max(0, n_total - len(positives)), rng)


class AllClassesSampler:
    """Every class absent from the positives, one random phrase of each: a diagnostic (issue 24).

    With the class text encoder (``model.text_encoder.kind: class``) and ``n_phrases`` at
    least the number of classes, each clip is scored against every class, present ones
    labelled 1 by its caption: the weakly labelled clip tagger of DCASE sound event
    detection, the ceiling of what the audio side reaches from these captions.
    """

    def __init__(self, phrase_pool: Iterable[str], text_class: Mapping[str, str | None]):
        self.text_class = dict(text_class)
        self.by_class: dict[str, list[str]] = defaultdict(list)
        for text in sorted(set(phrase_pool)):
            if self.text_class.get(text) is not None:
                self.by_class[self.text_class[text]].append(text)
        if not self.by_class:
            raise ValueError("no training phrase has a class: the all-classes sampler needs the benchmark's labels")

    def sample(self, positives: Sequence[str], n_total: int, rng: np.random.Generator) -> list[str]:
        present = {self.text_class.get(p) for p in positives}
        absent = [c for c in sorted(self.by_class) if c not in present]
        picks = [self.by_class[c][int(rng.integers(len(self.by_class[c])))] for c in absent]
        return picks[: max(0, n_total - len(positives))]
