"""Captions -> weak labels: the phrase-level training data of paper IV (Alg. 1-2, line 1).

Each caption's phrases are extracted by the rule-based parser
(:func:`wstag.text.phrases.extract_phrases`) and written as AudioGrounding v2 entries
without segments (SPEC 4). A caption that yields no phrase cannot train anything: it is
an error unless ``skip_empty=True``, which skips and counts it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Callable, Iterable

from wstag.data.audiocaps import CaptionRow, read_captions_csv
from wstag.data.audiogrounding import write_v2
from wstag.errors import LabelError
from wstag.records import Clip
from wstag.text.phrases import extract_phrases
from wstag.text.tokenize import tokenize

log = logging.getLogger(__name__)

#: AudioCaps clips last 10 s from ``start_time``.
AUDIOCAPS_CLIP_S = 10.0


def audiogrounding_audio_id(row: CaptionRow) -> str:
    """AudioGrounding's file name for a caption's clip: ``{youtube_id}_{start}_{end}.wav``."""
    return f"{row.youtube_id}_{row.start_time:.3f}_{row.start_time + AUDIOCAPS_CLIP_S:.3f}.wav"


@dataclass(frozen=True)
class WeakLabelSummary:
    """What :func:`write_weak_labels` did; ``skipped`` lists captions with no phrase."""

    captions: int
    clips: int
    phrases: int
    skipped: tuple[str, ...]


def caption_to_weak_clip(row: CaptionRow, audio_id: str) -> Clip:
    """One caption as a weak-label clip (its phrases may be empty)."""
    tokens = tokenize(row.caption)
    return Clip(
        audio_id=audio_id,
        caption=row.caption,
        tokens=tuple(tokens),
        phrases=tuple(extract_phrases(tokens)),
        audiocap_id=row.audiocap_id,
    )


def captions_to_weak_clips(
    rows: Iterable[CaptionRow],
    *,
    audio_id_fn: Callable[[CaptionRow], str] = audiogrounding_audio_id,
    skip_empty: bool = False,
    source: str = "<captions>",
    skipped: list[str] | None = None,
) -> list[Clip]:
    """Turn captions into weak-label clips with the phrase parser.

    A caption with no phrase raises LabelError naming it (and ``source``), unless
    ``skip_empty``; skipped captions are appended to ``skipped`` when given.
    """
    clips = []
    n_skipped = 0
    for row in rows:
        clip = caption_to_weak_clip(row, audio_id_fn(row))
        if not clip.phrases:
            if not skip_empty:
                raise LabelError(
                    f"{source}: no phrase can be extracted from caption {row.audiocap_id!r} "
                    f"({row.caption!r}); pass skip_empty=True to skip such captions"
                )
            n_skipped += 1
            if skipped is not None:
                skipped.append(row.caption)
            continue
        clips.append(clip.validate(source))
    if n_skipped:
        log.warning("%s: skipped %d caption(s) with no phrase", source, n_skipped)
    return clips


def write_weak_labels(
    csv_path: str | os.PathLike,
    json_path: str | os.PathLike,
    *,
    audio_id_fn: Callable[[CaptionRow], str] = audiogrounding_audio_id,
    skip_empty: bool = False,
) -> WeakLabelSummary:
    """Read an AudioCaps caption CSV and write its weak labels as v2 JSON (atomically)."""
    rows = read_captions_csv(csv_path)
    skipped: list[str] = []
    clips = captions_to_weak_clips(
        rows, audio_id_fn=audio_id_fn, skip_empty=skip_empty, source=str(csv_path), skipped=skipped
    )
    write_v2(clips, json_path)
    return WeakLabelSummary(
        captions=len(rows),
        clips=len(clips),
        phrases=sum(len(c.phrases) for c in clips),
        skipped=tuple(skipped),
    )
