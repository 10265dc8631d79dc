"""What the Grounder hands back: an encoded recording, frame probabilities, detections.

``Encoded`` is the expensive half (the audio encoder's output), kept so one recording
is encoded once and queried many times. ``Scores`` is the cheap half (one dot product
per phrase), and ``Detections`` are what most callers want: segments in seconds with
the curve they were cut from attached, so plotting and JSON output need no second pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from wstag.audio.frames import FrameGrid
from wstag.evaluation.segments import scores_to_segments
from wstag.inference.queries import check_median, check_threshold


@dataclass(frozen=True, eq=False)
class Encoded:
    """A recording's frame embeddings on the model's output grid, reusable across queries."""

    embeddings: torch.Tensor  # (T, D) float32 on the CPU
    times: np.ndarray  # (T,) start of each frame, seconds; frame k spans [times[k], times[k] + hop)
    duration: float  # seconds of audio (the last frame may run a little past it)
    source: str  # file path, or the name given with an array
    silent: bool = False
    model_id: str = ""  # fingerprint of the model that encoded it: another model's answers are refused

    @property
    def frames(self) -> torch.Tensor:
        """The embeddings, under the name older callers used."""
        return self.embeddings


@dataclass(frozen=True)
class Detection:
    """One detected occurrence of a phrase: seconds, and the highest frame probability in it."""

    phrase: str
    onset: float
    offset: float
    peak: float


@dataclass(frozen=True, eq=False)
class Scores:
    """Frame probabilities of each phrase: ``probabilities[:, k]`` belongs to ``phrases[k]``."""

    phrases: tuple[str, ...]
    times: np.ndarray  # (T,) frame starts, seconds
    probabilities: np.ndarray  # (T, N) float32 in [0, 1]
    duration: float
    source: str
    grid: FrameGrid
    ignored_words: tuple[tuple[str, ...], ...] = ()  # per phrase: the words the model did not know

    def curve(self, phrase: str) -> np.ndarray:
        """The (T,) probabilities of ``phrase`` (its first occurrence)."""
        try:
            return self.probabilities[:, self.phrases.index(phrase)]
        except ValueError:
            raise KeyError(f"phrase {phrase!r} was not scored; scored: {list(self.phrases)}") from None

    def detect(self, threshold: float = 0.5, median: int = 1) -> "Detections":
        """Frames above ``threshold`` after a ``median``-frame median filter, as segments.

        The same thresholding as the evaluation (``scores_to_segments``): strict, the last
        offset clipped to the recording's end. ``peak`` is the raw curve's maximum inside.
        """
        check_threshold(threshold)
        check_median(median)
        hop = self.grid.output_hop_s
        out = []
        for k, phrase in enumerate(self.phrases):
            p = self.probabilities[:, k]
            for onset, offset in scores_to_segments(p, threshold=threshold, median_window=median,
                                                    grid=self.grid, duration=self.duration):
                first, stop = int(round(onset / hop)), int(np.ceil(offset / hop - 1e-6))
                out.append(Detection(phrase, float(onset), float(offset), float(p[first:max(stop, first + 1)].max())))
        return Detections(out, scores=self, threshold=threshold, median=median)


class Detections(list):
    """A list of ``Detection`` (phrase order, then time) that keeps the ``Scores`` behind it."""

    def __init__(self, items: Iterable[Detection] = (), *, scores: Scores, threshold: float, median: int) -> None:
        super().__init__(items)
        self.scores = scores
        self.threshold = threshold
        self.median = median

    def of(self, phrase: str) -> list[Detection]:
        """The detections of one phrase."""
        return [d for d in self if d.phrase == phrase]
