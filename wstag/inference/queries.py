"""Checking a query's options before the model answers: threshold, median window, phrase list.

What a phrase's words must be is text's business (``wstag.text.queries``).
"""

from __future__ import annotations

import numbers
from typing import Sequence

from wstag.errors import ConfigError, QueryError

def check_threshold(threshold: float) -> float:
    """A detection threshold must be a probability: one line, not a silent empty answer."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return float(threshold)


#: The largest median window, in frames (20 s at 40 ms): wider smooths away any event, and a
#: window is work per frame, so an unbounded one lets a single request occupy the server.
MAX_MEDIAN = 501


def check_median(median: int) -> int:
    """The median filter needs a positive odd window (an even one would not commute with thresholding)."""
    if isinstance(median, bool) or not isinstance(median, numbers.Integral) or median < 1 or median % 2 == 0:
        raise ConfigError(f"median filter window must be a positive odd number of frames (1 = none), got {median!r}")
    if median > MAX_MEDIAN:
        raise ConfigError(f"median filter window must be at most {MAX_MEDIAN} frames, got {median}")
    return int(median)


def check_phrases(phrases: Sequence[str]) -> list[str]:
    """A non-empty list of phrases (a lone string is one phrase, not a list of letters)."""
    if isinstance(phrases, str):
        phrases = [phrases]
    phrases = list(phrases)
    if not phrases:
        raise QueryError("no phrase given")
    return phrases
