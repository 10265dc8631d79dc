"""Another take of a recording: each training event played at its own pitch and colour.

Why (issue 24, `reports/learning/seen-recordings.md`): a model trained on this corpus grounds
new scenes of recordings it heard nearly as well as its training clips, and recordings it never
heard far worse. With 2-6 training recordings per class it learns those takes of a sound, not
the sound. A *take* changes what a new microphone, room or source would change, for one event
at a time (every piece of the event shares it, as one source in one clip does):

- ``rate``: playback speed, up to ``semitones`` up or down (pitch and tempo together, as a
  smaller dog or a faster engine); the source stretch read is ``rate`` times the placed length,
  so the annotated span is unchanged.
- ``bands``: peaking filters (RBJ cookbook biquads) at random centres, gains and widths, as a
  microphone or room colours a recording; the result is scaled back to the stretch's RMS, so the
  event-to-background ratio drawn by the composer is kept.

The clip-wide feature augmentation (`wstag.audio.augment`, rung `learn_recaug`) colours every
event of a clip alike; a take colours each event on its own, on the waveform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from scipy.signal import sosfilt

from wstag.scapes.bank import SAMPLE_RATE


@dataclass(frozen=True)
class TakeConfig:
    """How far a take may stray from its recording."""

    semitones: float = 2.0  # speed change up to this many semitones either way
    bands: int = 2  # peaking filters per take
    gain_db: float = 6.0  # each filter's gain in [-gain_db, gain_db]
    lowest_hz: float = 100.0
    highest_hz: float = 8000.0  # centres log-uniform between these

    def __post_init__(self) -> None:
        if self.semitones < 0 or self.bands < 0 or self.gain_db < 0:
            raise ValueError(f"TakeConfig: semitones, bands and gain_db must be >= 0, got "
                             f"{self.semitones}, {self.bands}, {self.gain_db}")
        if not 0 < self.lowest_hz < self.highest_hz < SAMPLE_RATE / 2:
            raise ValueError(f"TakeConfig: need 0 < lowest_hz < highest_hz < {SAMPLE_RATE / 2}, got "
                             f"{self.lowest_hz}, {self.highest_hz}")


@dataclass(frozen=True)
class Take:
    """One event's take: its speed and its peaking filters (centre Hz, gain dB, Q)."""

    rate: float = 1.0
    bands: tuple[tuple[float, float, float], ...] = ()


def draw_take(rng: np.random.Generator, config: TakeConfig) -> Take:
    rate = float(2 ** (rng.uniform(-config.semitones, config.semitones) / 12))
    bands = tuple(
        (float(np.exp(rng.uniform(np.log(config.lowest_hz), np.log(config.highest_hz)))),
         float(rng.uniform(-config.gain_db, config.gain_db)), float(rng.uniform(0.7, 2.0)))
        for _ in range(config.bands))
    return Take(rate, bands)


def peaking_sos(centre_hz: float, gain_db: float, q: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One peaking-EQ biquad (Bristow-Johnson's Audio EQ Cookbook) as a (1, 6) second-order section."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * centre_hz / sample_rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def source_rate(take: Take, length: int, available: int) -> float:
    """The speed actually played: a faster take needs ``rate * length`` source samples; where the
    recording has fewer, the take plays as slow as it would have played fast (1 / rate), so the
    draw stays symmetric in pitch."""
    if take.rate * length <= available:
        return take.rate
    return min(1.0 / take.rate, available / max(length, 1))


def play(source: np.ndarray, take: Take, length: int, rate: float) -> np.ndarray:
    """``length`` samples of ``source`` (at least ``rate * length`` long) played at ``rate``,
    through the take's filters, at the stretch's RMS."""
    seg = source[: int(round(rate * length))].astype(np.float64)
    if rate != 1.0 and len(seg) > 1:
        seg = soxr.resample(seg, SAMPLE_RATE * rate, SAMPLE_RATE)
    seg = np.pad(seg[:length], (0, max(0, length - len(seg))))
    if take.bands and len(seg):
        before = np.sqrt(np.mean(seg ** 2))
        seg = sosfilt(np.concatenate([peaking_sos(*band) for band in take.bands]), seg)
        after = np.sqrt(np.mean(seg ** 2))
        if after > 0:
            seg *= before / after
    return seg
