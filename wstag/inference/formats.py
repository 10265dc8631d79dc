"""Detections as text other tools open: DCASE-style TSV, an Audacity label track, JSON.

TSV keeps the header and 3 decimals wstag has always printed (times are on a 40 ms grid);
Audacity reads label tracks as ``onset<TAB>offset<TAB>label`` lines with no header (its
own export writes 6 decimals); JSON adds each phrase's frame curve, rounded to 4
decimals, so a notebook can plot it without the model.
"""

from __future__ import annotations

import json
from typing import Callable, Iterable, Sequence

import numpy as np

from wstag.errors import ConfigError
from wstag.inference.results import Detection, Detections, Scores

DECIMALS = 4


def _label(phrase: str) -> str:
    """One line, no tabs: a phrase must not break the row it is written in."""
    return " ".join(phrase.split())


def to_tsv(detections: Iterable[Detection]) -> str:
    """DCASE-style rows: a header, then onset, offset, phrase (tab-separated, seconds)."""
    lines = ["onset\toffset\tphrase"]
    lines += [f"{d.onset:.3f}\t{d.offset:.3f}\t{_label(d.phrase)}" for d in detections]
    return "\n".join(lines) + "\n"


def to_audacity(detections: Iterable[Detection]) -> str:
    """An Audacity label track (File > Import > Labels): onset, offset, label; no header."""
    return "".join(f"{d.onset:.6f}\t{d.offset:.6f}\t{_label(d.phrase)}\n" for d in detections)


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), DECIMALS) for v in np.asarray(values, dtype=np.float64)]


def to_json(detections: Sequence[Detection], scores: Scores | None = None) -> str:
    """Detections and, per phrase, its frame curve (times of frame starts, probabilities)."""
    scores = scores if scores is not None else getattr(detections, "scores", None)
    if scores is None:
        raise ValueError("to_json needs the Scores behind the detections (Grounder.ground returns them attached)")
    doc = {
        "source": scores.source,
        "duration": round(scores.duration, DECIMALS),
        "frame_hop": scores.grid.output_hop_s,
        "threshold": getattr(detections, "threshold", None),
        "median": getattr(detections, "median", None),
        "detections": [{"phrase": d.phrase, "onset": round(d.onset, DECIMALS), "offset": round(d.offset, DECIMALS),
                        "peak": round(d.peak, DECIMALS)} for d in detections],
        "curves": [{"phrase": phrase,
                    "ignored_words": list(scores.ignored_words[k]) if scores.ignored_words else [],
                    "times": _rounded(scores.times),
                    "probabilities": _rounded(scores.probabilities[:, k])}
                   for k, phrase in enumerate(scores.phrases)],
    }
    return json.dumps(doc, ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[Detections], str]] = {"tsv": to_tsv, "audacity": to_audacity, "json": to_json}


def check_format(name: str) -> str:
    """One line naming the choices, instead of an exception deep in the CLI."""
    if name not in FORMATS:
        raise ConfigError(f"unknown output format {name!r}; choose one of {', '.join(FORMATS)}")
    return name


def render(detections: Detections, fmt: str = "tsv") -> str:
    """``detections`` in the output format ``fmt`` (tsv, audacity or json)."""
    return FORMATS[check_format(fmt)](detections)
