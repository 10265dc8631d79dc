"""The one typed record for "a clip, its caption, its phrases and their segments".

Every reader, writer, dataset and evaluator in wstag passes these around (in the spirit
of lhotse's supervision segments), so a format's quirks stay inside its reader.
Records are frozen: methods return modified copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from wstag.errors import LabelError

#: Annotations may run a little past the clip's end (AudioGrounding v1 has offsets of
#: 10.02 s in 10 s clips); anything further is an error.
SEGMENT_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Segment:
    """A time span in seconds, onset <= offset."""

    onset: float
    offset: float

    @property
    def duration(self) -> float:
        return self.offset - self.onset

    def to_list(self) -> list[float]:
        return [self.onset, self.offset]


@dataclass(frozen=True)
class Phrase:
    """A phrase of a caption: its text, its token span, and (in strong labels) segments.

    ``start_index`` and ``end_index`` are inclusive token indices into the caption's
    tokens, as in AudioGrounding v2. ``segments`` is ``None`` in weak (training) labels
    and a tuple (possibly empty) in strong (evaluation) labels.
    """

    text: str
    start_index: int
    end_index: int
    segments: tuple[Segment, ...] | None = None

    @property
    def has_segments(self) -> bool:
        return self.segments is not None

    def total_duration(self) -> float:
        """Seconds covered by the segments, overlaps counted once."""
        if not self.segments:
            return 0.0
        total, cur_on, cur_off = 0.0, None, None
        for seg in sorted(self.segments, key=lambda s: s.onset):
            if cur_off is None or seg.onset > cur_off:
                if cur_off is not None:
                    total += cur_off - cur_on
                cur_on, cur_off = seg.onset, seg.offset
            else:
                cur_off = max(cur_off, seg.offset)
        return total + (cur_off - cur_on)

    def is_short(self, clip_duration: float) -> bool:
        """Paper V-D: segments that together last less than half of the clip."""
        return self.total_duration() < 0.5 * clip_duration

    def without_segments(self) -> "Phrase":
        return replace(self, segments=None)


@dataclass(frozen=True)
class Clip:
    """An audio clip with its caption and phrases.

    ``audio_id`` is the audio file name relative to the split's audio folder.
    ``duration`` (seconds) is known for the embedded benchmark and optional otherwise.
    """

    audio_id: str
    caption: str
    tokens: tuple[str, ...]
    phrases: tuple[Phrase, ...]
    audiocap_id: str | None = None
    duration: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_strong(self) -> bool:
        return bool(self.phrases) and all(p.has_segments for p in self.phrases)

    def weak(self) -> "Clip":
        """The same clip with every segment removed: what weak training may read."""
        return replace(self, phrases=tuple(p.without_segments() for p in self.phrases))

    def validate(self, source: str = "<memory>") -> "Clip":
        """Check the invariants; raise LabelError naming ``source`` and the clip."""
        where = f"{source}: clip {self.audio_id!r}"
        if not self.audio_id:
            raise LabelError(f"{source}: a clip has an empty audio_id")
        if not self.caption.strip():
            raise LabelError(f"{where}: empty caption")
        if self.duration is not None and not self.duration > 0:
            raise LabelError(f"{where}: duration must be positive, got {self.duration}")
        n_tok = len(self.tokens)
        for p in self.phrases:
            pwhere = f"{where}, phrase {p.text!r}"
            if not p.text.strip():
                raise LabelError(f"{where}: a phrase is empty")
            if not (0 <= p.start_index <= p.end_index < max(n_tok, 1)):
                raise LabelError(
                    f"{pwhere}: token span [{p.start_index}, {p.end_index}] is outside "
                    f"the caption's {n_tok} tokens"
                )
            for s in p.segments or ():
                if not (s.onset == s.onset and s.offset == s.offset):  # NaN
                    raise LabelError(f"{pwhere}: segment {s.to_list()} holds NaN")
                if s.onset < 0:
                    raise LabelError(f"{pwhere}: segment onset {s.onset} is negative")
                if s.onset > s.offset:
                    raise LabelError(
                        f"{pwhere}: segment onset {s.onset} is after its offset {s.offset}"
                    )
                if self.duration is not None and s.offset > self.duration + SEGMENT_TOLERANCE_S:
                    raise LabelError(
                        f"{pwhere}: segment [{s.onset}, {s.offset}] runs past the clip's "
                        f"end ({self.duration} s)"
                    )
        return self


def short_phrase_keys(clips: Iterable[Clip], default_duration: float = 10.0) -> set[tuple[str, int]]:
    """Keys ``(audio_id, phrase index)`` of the short-duration subset (paper V-D)."""
    keys = set()
    for clip in clips:
        dur = clip.duration or default_duration
        for i, p in enumerate(clip.phrases):
            if p.has_segments and p.is_short(dur):
                keys.add((clip.audio_id, i))
    return keys
