"""Compose and render one soundscape: a background bed and 1-4 foreground events.

A clip is first *composed* (which recordings, where, how loud: a plain description
drawn from a seeded RNG) and then *rendered* to samples. Ground truth comes from the
composition: every occurrence's active span, in seconds, becomes a segment of the
phrase naming its class. SPEC 5.2-5.3: overlapping foreground events and captioned
background beds are what make a "fire on any sound" model lose, so the mixing knobs
live in `MixConfig` where they can be tuned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from wstag.scapes.bank import SAMPLE_RATE, Recording
from wstag.scapes.classtable import SoundClass
from wstag.scapes.takes import Take, play, source_rate

FADE_S = 0.01
GAP_MERGE_S = 0.5  # gaps shorter than this inside one event are annotated as one segment


@dataclass(frozen=True)
class MixConfig:
    """Knobs of the soundscape generator (SPEC 5.2)."""

    duration: float = 10.0
    p_background: float = 0.85
    p_background_captioned: float = 0.67  # about a third of beds go unmentioned (paper IV-B)
    n_events_weights: tuple[float, ...] = (0.08, 0.34, 0.34, 0.24)  # 1, 2, 3, 4 events
    # 1, 2, 3, 4 occurrences. Many repeated short events keep the "fire on any sound"
    # controls low: a whole-clip detection is a true positive only for long phrases.
    repetitions_weights: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
    repeat_total_seconds: float = 4.5  # repetitions stop before a short event adds up to a long one
    p_long: float = 0.35  # a sustainable class is placed as one long event
    # A short placement crops recordings longer than this to a random 1-4.5 s stretch, so
    # long phrases come only from beds and deliberate long events (SPEC 5.3's control).
    short_max_seconds: float = 4.5
    long_seconds: tuple[float, float] = (5.0, 9.8)
    event_level_db: float = -20.0
    event_jitter_db: tuple[float, float] = (-4.0, 4.0)
    ebr_db: tuple[float, float] = (0.0, 15.0)  # event-to-background ratio
    max_peak: float = 0.9
    chain_classes: tuple[str, ...] = ("speech", "typing", "footsteps")  # made by chaining short recordings
    always_chain: tuple[str, ...] = ("typing", "footsteps")  # one click is not "typing"


@dataclass(frozen=True)
class Piece:
    """A stretch of one recording placed in the clip."""

    recording: Recording
    src_start: float  # seconds into the (bank) recording
    length: float
    clip_onset: float
    gain_db: float  # level change applied to the stored recording
    loop: bool = False  # a bed shorter than the clip is looped


@dataclass
class PlacedEvent:
    """One sound class's appearance in a clip: its pieces and annotation."""

    sound_class: SoundClass
    pieces: list[Piece]
    is_background: bool
    captioned: bool = True
    gender: str | None = None
    segments: list[tuple[float, float]] = field(default_factory=list)
    take: Take | None = None  # another take of its recordings (scapes.takes); None: as recorded

    @property
    def first_onset(self) -> float:
        return min(s[0] for s in self.segments)

    @property
    def last_offset(self) -> float:
        return max(s[1] for s in self.segments)


def merge_segments(segments: list[tuple[float, float]], gap: float = GAP_MERGE_S) -> list[tuple[float, float]]:
    """Sort and merge segments that overlap or are separated by less than ``gap``."""
    out: list[list[float]] = []
    for on, off in sorted(segments):
        if out and on - out[-1][1] < gap:
            out[-1][1] = max(out[-1][1], off)
        else:
            out.append([on, off])
    return [(round(a, 3), round(b, 3)) for a, b in out]


def _choice(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _weighted(rng: np.random.Generator, weights: tuple[float, ...]) -> int:
    w = np.asarray(weights, dtype=float)
    return int(rng.choice(len(w), p=w / w.sum())) + 1


def is_sustainable(cls: SoundClass, config: MixConfig) -> bool:
    """Classes that can make a long event: beds that also act as events, and chained ones."""
    return cls.role == "both" or cls.name in config.chain_classes


class Composer:
    """Draws clip compositions from one split's recordings.

    Classes are drawn uniformly, or in proportion to ``weights`` (class name -> weight, for
    every class with recordings: the world preset's AudioCaps frequencies). Without weights
    the draws are the ones every corpus so far was built with.
    """

    def __init__(self, classes: dict[str, SoundClass], recordings: list[Recording], config: MixConfig,
                 weights: Mapping[str, float] | None = None):
        self.classes = classes
        self.config = config
        self.by_class: dict[str, list[Recording]] = {}
        for rec in recordings:
            self.by_class.setdefault(rec.class_name, []).append(rec)
        self.event_classes = sorted(c for c in self.by_class if classes[c].is_event)
        self.bed_classes = sorted(c for c in self.by_class if classes[c].is_background)
        if not self.event_classes:
            raise ValueError("no foreground event recordings in this split")
        if weights is not None:
            unweighted = sorted(c for c in self.by_class if not weights.get(c, 0) > 0)
            if unweighted:
                raise ValueError(f"classes without a positive weight: {unweighted}")
        self.weights = None if weights is None else {c: float(weights[c]) for c in self.by_class}

    def _p(self, names: list[str]) -> np.ndarray | None:
        """Draw probabilities of ``names`` (None: uniform)."""
        if self.weights is None:
            return None
        w = np.array([self.weights[n] for n in names])
        return w / w.sum()

    def compose(self, rng: np.random.Generator) -> list[PlacedEvent]:
        cfg = self.config
        events: list[PlacedEvent] = []
        bed_class = None
        if self.bed_classes and rng.random() < cfg.p_background:
            if self.weights is None:
                bed_class = _choice(rng, self.bed_classes)
            else:
                bed_class = self.bed_classes[int(rng.choice(len(self.bed_classes), p=self._p(self.bed_classes)))]
            bed = self._bed(rng, bed_class)
            bed.captioned = bool(rng.random() < cfg.p_background_captioned)
            events.append(bed)
        candidates = [c for c in self.event_classes if c != bed_class]
        n_events = min(_weighted(rng, cfg.n_events_weights), len(candidates))
        if self.weights is None:
            picked = rng.choice(len(candidates), size=n_events, replace=False)
        else:  # without replacement, each draw in proportion to the weights of the classes left
            picked = rng.choice(len(candidates), size=n_events, replace=False, p=self._p(candidates))
        for idx in sorted(int(i) for i in picked):
            events.append(self._event(rng, candidates[idx]))
        return events

    def _level(self, rng: np.random.Generator, rec: Recording, target_db: float) -> float:
        return target_db - rec.active_rms_db

    def _bed(self, rng: np.random.Generator, name: str) -> PlacedEvent:
        cfg = self.config
        rec = _choice(rng, self.by_class[name])
        target = cfg.event_level_db - rng.uniform(*cfg.ebr_db)
        span = rec.active_duration
        start = rec.active_onset + (rng.uniform(0, span - cfg.duration) if span > cfg.duration else rng.uniform(0, span))
        piece = Piece(rec, start, cfg.duration, 0.0, self._level(rng, rec, target), loop=span < cfg.duration)
        return PlacedEvent(self.classes[name], [piece], is_background=True, gender=rec.gender,
                           segments=[(0.0, cfg.duration)])

    def _event(self, rng: np.random.Generator, name: str) -> PlacedEvent:
        cfg = self.config
        cls = self.classes[name]
        recs = self.by_class[name]
        if cls.name in cfg.always_chain or (is_sustainable(cls, cfg) and rng.random() < cfg.p_long):
            return self._long_event(rng, cls, recs)
        rec = _choice(rng, recs)
        length = min(rec.active_duration, cfg.duration)
        if length > cfg.short_max_seconds:
            length = rng.uniform(1.0, cfg.short_max_seconds)
        reps = min(_weighted(rng, cfg.repetitions_weights), max(1, int(cfg.repeat_total_seconds // length)))
        pieces, segs = [], []
        for _ in range(reps):
            for _attempt in range(20):
                onset = rng.uniform(0, cfg.duration - length)
                if all(onset + length <= a or onset >= b for a, b in segs):
                    break
            else:
                continue
            src = rec.active_onset + (rng.uniform(0, rec.active_duration - length) if rec.active_duration > length else 0.0)
            level = self._level(rng, rec, cfg.event_level_db + rng.uniform(*cfg.event_jitter_db))
            pieces.append(Piece(rec, src, length, onset, level))
            segs.append((onset, onset + length))
        return PlacedEvent(cls, pieces, is_background=False, gender=rec.gender, segments=merge_segments(segs, gap=0.0))

    def _long_event(self, rng: np.random.Generator, cls: SoundClass, recs: list[Recording]) -> PlacedEvent:
        """Chain recordings of one class (one speaker group for speech) into a 5-10 s event."""
        cfg = self.config
        first = _choice(rng, recs)
        same_group = [r for r in recs if r.group == first.group] or recs
        target = rng.uniform(*cfg.long_seconds) if cls.name not in cfg.always_chain else rng.uniform(1.5, 9.0)
        onset = rng.uniform(0, cfg.duration - target)
        level_db = cfg.event_level_db + rng.uniform(*cfg.event_jitter_db)
        pieces, segs, t, rec = [], [], onset, first
        while t < onset + target - 0.2:
            length = min(rec.active_duration, onset + target - t)
            pieces.append(Piece(rec, rec.active_onset, length, t, self._level(rng, rec, level_db), loop=False))
            segs.append((t, t + length))
            t += length + rng.uniform(0.05, 0.3)
            rec = _choice(rng, same_group)
        return PlacedEvent(cls, pieces, is_background=False, gender=first.gender, segments=merge_segments(segs))


def _stretch(p: Piece, audio: np.ndarray, take: Take | None) -> np.ndarray:
    """The piece's samples from its recording (looped for a short bed), played as ``take``."""
    length = int(round(p.length * SAMPLE_RATE))
    start = int(round(p.src_start * SAMPLE_RATE))
    rate = 1.0 if take is None else take.rate
    if p.loop:
        a, b = int(p.recording.active_onset * SAMPLE_RATE), int(p.recording.active_offset * SAMPLE_RATE)
        loop = audio[a:b]
        reps = int(np.ceil((int(np.ceil(rate * length)) + start - a) / max(len(loop), 1))) + 1
        source = np.tile(loop, reps)[start - a:]
    else:  # a take reads no further than the recording's active end, so the annotated span holds
        source = audio[start:] if take is None else audio[start: int(round(p.recording.active_offset * SAMPLE_RATE))]
    if take is None:
        return source[:length].astype(np.float64)
    return play(source, take, length, source_rate(take, length, len(source)))


def render(events: list[PlacedEvent], load: Callable[[Recording], np.ndarray], config: MixConfig) -> np.ndarray:
    """Sum every piece at its gain into a ``config.duration`` clip; scale down if it would clip."""
    n = int(round(config.duration * SAMPLE_RATE))
    out = np.zeros(n, dtype=np.float64)
    fade = int(FADE_S * SAMPLE_RATE)
    for ev in events:
        for p in ev.pieces:
            seg = _stretch(p, load(p.recording), ev.take) * 10 ** (p.gain_db / 20)
            if len(seg) > 2 * fade:
                ramp = np.linspace(0.0, 1.0, fade)
                seg[:fade] *= ramp
                seg[-fade:] *= ramp[::-1]
            at = int(round(p.clip_onset * SAMPLE_RATE))
            seg = seg[: max(0, n - at)]
            out[at: at + len(seg)] += seg
    peak = np.max(np.abs(out))
    if peak > config.max_peak:
        out *= config.max_peak / peak
    return out.astype(np.float32)
