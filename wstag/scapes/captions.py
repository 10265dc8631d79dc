"""AudioCaps-style captions for composed clips, with exact phrase token spans.

Events are described in temporal order, joined by the connectives real captions use
and the phrase parser splits on ("followed by", "while", "as", "and", "with",
", then"). Phrase variants are drawn at random, sometimes with a non-acoustic modifier
("loudly", "several times") that is part of the caption but not of the
phrase, as in AudioGrounding. A bed left out of the caption is simply not mentioned.
The world preset names a class with real annotators' phrases and their modifiers instead
(``wstag.scapes.frequencies``); the draws of the other presets are unchanged.
"""

from __future__ import annotations

import numpy as np

from wstag.records import Clip, Phrase, Segment
from wstag.scapes.frequencies import CaptionWordings
from wstag.scapes.mixing import PlacedEvent
from wstag.text.phrases import extract_phrases
from wstag.text.tokenize import tokenize

SEQUENTIAL = ("followed by", ", then", "and then", "followed by", "after which")
OVERLAPPING = ("while", "as", "and", "with", "as")
BED_JOIN = ("while", "as", "with", "and")
MODIFIERS = ("loudly", "nearby", "softly", "briefly")
REPEAT_MODIFIERS = ("several times", "repeatedly", "twice")
BED_MODIFIERS = ("in the background", "in the background", "nearby")
P_MODIFIER = 0.2
P_BED_FIRST = 0.3


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _phrase_text(rng: np.random.Generator, ev: PlacedEvent, wordings: CaptionWordings | None = None) -> tuple[str, str]:
    """A phrase variant and an optional modifier that follows it in the caption.

    With ``wordings`` (the world preset), a class the real labels name takes a real phrase
    and the modifier its annotator wrote after it; the others keep the table's phrases.
    """
    real = wordings.draw(rng, ev.sound_class, ev.gender) if wordings is not None else None
    if real is not None:
        return real
    phrase = _pick(rng, ev.sound_class.phrases_for(ev.gender))
    modifier = ""
    if rng.random() < P_MODIFIER:
        if ev.is_background:
            modifier = _pick(rng, BED_MODIFIERS)
        elif len(ev.segments) > 1 and rng.random() < 0.5:
            modifier = _pick(rng, REPEAT_MODIFIERS)
        else:
            modifier = _pick(rng, MODIFIERS)
    return phrase, modifier


def write_caption(
    rng: np.random.Generator, events: list[PlacedEvent], audio_id: str, duration: float,
    wordings: CaptionWordings | None = None,
) -> Clip:
    """Caption the captioned events of a clip; every phrase carries its segments."""
    fg = sorted((e for e in events if not e.is_background), key=lambda e: (e.first_onset, e.sound_class.name))
    bed = next((e for e in events if e.is_background and e.captioned), None)
    # (connective before it, event) in caption order
    order: list[tuple[str, PlacedEvent]] = []
    for i, ev in enumerate(fg):
        if i == 0:
            order.append(("", ev))
            continue
        prev = fg[i - 1]
        join = SEQUENTIAL if ev.first_onset >= prev.last_offset else OVERLAPPING
        order.append((_pick(rng, join), ev))
    if bed is not None:
        if not order:
            order.append(("", bed))
        elif rng.random() < P_BED_FIRST:
            order[0] = (_pick(rng, BED_JOIN), order[0][1])
            order.insert(0, ("", bed))
        else:
            order.append((_pick(rng, BED_JOIN), bed))

    tokens: list[str] = []
    pieces: list[str] = []
    phrases: list[Phrase] = []
    classes: list[str] = []
    for connective, ev in order:
        if connective:
            pieces.append(connective)
            tokens += tokenize(connective)
        text, modifier = _phrase_text(rng, ev, wordings)
        start = len(tokens)
        tokens += tokenize(text)
        segments = tuple(Segment(a, b) for a, b in ev.segments)
        # Annotate what the phrase parser (and an AudioGrounding annotator) would mark:
        # "a crowd cheers and applauds" is two phrases, each with the event's segments.
        for sub in extract_phrases(text) or [Phrase(text, 0, len(tokens) - start - 1)]:
            phrases.append(Phrase(sub.text, start + sub.start_index, start + sub.end_index, segments))
            classes.append(ev.sound_class.name)
        pieces.append(text)
        if modifier:
            pieces.append(modifier)
            tokens += tokenize(modifier)
    caption = " ".join(pieces).replace(" ,", ",")
    caption = caption[:1].upper() + caption[1:]
    if tokenize(caption) != tokens:  # the caption must tokenise to the spans we recorded
        raise AssertionError(f"caption {caption!r} tokenises differently from its pieces")
    bed_any = next((e for e in events if e.is_background), None)
    extra = {
        "phrase_classes": classes,
        "classes_present": sorted({e.sound_class.name for e in events}),
        "background": bed_any.sound_class.name if bed_any else None,
        "background_captioned": bool(bed is not None),
    }
    return Clip(audio_id=audio_id, caption=caption, tokens=tuple(tokens), phrases=tuple(phrases),
                duration=duration, extra=extra)
