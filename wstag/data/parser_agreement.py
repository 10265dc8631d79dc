"""How closely the rule-based phrase parser reproduces the human phrases of AudioGrounding.

The evaluation queries are human-marked phrases, while training sees parser phrases;
the closer the two, the smaller that mismatch. ``wstag data parser-agreement
shared/data/audiogrounding-v1/val.json`` prints the figures and a few disagreements.
"""

from __future__ import annotations

import os
from typing import Iterable

from wstag.data.audiogrounding import read_v1
from wstag.records import Clip
from wstag.text.phrases import extract_phrases


def _spans(clip: Clip) -> list[tuple[int, int]]:
    return [(p.start_index, p.end_index) for p in extract_phrases(clip.tokens)]


def clip_agreement(clips: Iterable[Clip]) -> dict[str, float | int]:
    """Agreement of parser phrases with each clip's (human) phrases, by token span.

    ``exact``: human phrases the parser returns with the same span; ``containing``: human
    phrases inside some parser phrase's span (exact ones included); ``precision``:
    parser phrases that are exactly a human phrase.
    """
    n_clips = n_human = n_exact = n_contain = n_parser = n_parser_exact = 0
    for clip in clips:
        n_clips += 1
        parsed = _spans(clip)
        human = {(p.start_index, p.end_index) for p in clip.phrases}
        n_parser += len(parsed)
        n_parser_exact += sum(span in human for span in parsed)
        for s, e in human:
            n_human += 1
            n_exact += (s, e) in parsed
            n_contain += any(ps <= s and e <= pe for ps, pe in parsed)
    return {
        "clips": n_clips,
        "human_phrases": n_human,
        "exact": n_exact,
        "containing": n_contain,
        "exact_share": n_exact / max(n_human, 1),
        "containing_share": n_contain / max(n_human, 1),
        "parser_phrases": n_parser,
        "precision": n_parser_exact / max(n_parser, 1),
    }


def parser_agreement(v1_path: str | os.PathLike) -> dict[str, float | int]:
    """Parser agreement on an AudioGrounding v1 file (see :func:`clip_agreement`)."""
    return clip_agreement(read_v1(v1_path))


def disagreements(clips: Iterable[Clip]) -> list[tuple[str, str, list[str]]]:
    """(caption, human phrase, parser phrases) for every human phrase not matched exactly."""
    out = []
    for clip in clips:
        parsed = extract_phrases(clip.tokens)
        spans = {(p.start_index, p.end_index) for p in parsed}
        for p in clip.phrases:
            if (p.start_index, p.end_index) not in spans:
                out.append((" ".join(clip.tokens), p.text, [q.text for q in parsed]))
    return out
