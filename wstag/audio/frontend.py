"""The audio front end as one value: waveform -> log-mel -> the model's 40 ms output grid.

Sample rate, STFT size and hop, mel bands and their band edges decide what a log-mel
frame is; the model's time downsampling decides what an output frame is. The feature
cache, the model, its saved folder, training, evaluation and grounding must all agree
on every one of them, so they all carry this one frozen ``FrontEnd`` (saved in the
cache's HDF5 attributes and in a model folder's config.json) and compare it with
``describe_difference``, instead of each rebuilding it from module constants.

Why its own module rather than inside ``frames.py``: it spans two lower modules,
the time grid (``frames.FrameGrid``) and the log-mel transform (``features.LogMel``),
and ``features`` already imports ``frames``; the one object that builds both must sit
above them. ``frames.py`` stays "seconds <-> frames", and ``FrameGrid`` stays the part
of the front end that evaluation needs (``FrontEnd.grid``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from wstag.audio.frames import F_MAX, F_MIN, HOP, N_FFT, N_MELS, SAMPLE_RATE, TIME_DOWNSAMPLE, FrameGrid
from wstag.errors import ConfigError

if TYPE_CHECKING:  # features imports librosa and torch: only needed by ``logmel()``
    from wstag.audio.features import LogMel

_INT_FIELDS = ("sample_rate", "n_fft", "hop", "n_mels", "time_downsample")
#: The fields that decide the log-mel values themselves (what a feature cache depends on);
#: ``time_downsample`` only decides how the model groups frames.
FEATURE_FIELDS = ("sample_rate", "n_fft", "hop", "n_mels", "f_min", "f_max")


@dataclass(frozen=True)
class FrontEnd:
    """Everything between a waveform and the model's output frames; defaults = SPEC 1 / Table I."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = N_FFT
    hop: int = HOP
    n_mels: int = N_MELS
    f_min: float = F_MIN
    f_max: float = F_MAX
    time_downsample: int = TIME_DOWNSAMPLE

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ConfigError(f"front_end.{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("f_min", "f_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise ConfigError(f"front_end.{name} must be a number of Hz, got {value!r}")
            object.__setattr__(self, name, float(value))  # 50 and 50.0 compare and serialise alike
        nyquist = self.sample_rate / 2
        if not 0 <= self.f_min < self.f_max <= nyquist:
            raise ConfigError(f"front_end band edges must satisfy 0 <= f_min < f_max <= sample_rate / 2 "
                              f"({nyquist:g}), got f_min {self.f_min:g}, f_max {self.f_max:g}")
        if self.hop > self.n_fft:
            raise ConfigError(f"front_end.hop ({self.hop}) must not exceed n_fft ({self.n_fft}): "
                              f"samples between windows would never be seen")

    # -- serialisation (feature cache attributes, model folders, experiment YAML)
    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "front_end") -> "FrontEnd":
        """Build from a (possibly partial) mapping; missing keys take the defaults."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown key {where}.{unknown[0]}; valid keys: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_grid(cls, grid: FrameGrid, n_mels: int | None = None) -> "FrontEnd":
        """The front end wstag built before it had this class: ``grid`` + default STFT and bands
        (``n_mels``: SPEC 1's 64 when None)."""
        return cls(sample_rate=grid.sample_rate, hop=grid.hop, time_downsample=grid.time_downsample,
                   n_mels=N_MELS if n_mels is None else n_mels)

    def tag(self) -> str:
        """A stable JSON string of the fields (HDF5 attribute)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    # -- what it builds
    @property
    def grid(self) -> FrameGrid:
        """The time grid (seconds <-> frames) of this front end."""
        return FrameGrid(self.sample_rate, self.hop, self.time_downsample)

    def logmel(self) -> "LogMel":
        """A fresh ``LogMel`` module computing exactly these features."""
        from wstag.audio.features import LogMel

        return LogMel(sample_rate=self.sample_rate, n_fft=self.n_fft, hop=self.hop, n_mels=self.n_mels,
                      f_min=self.f_min, f_max=self.f_max)

    def n_feature_frames(self, n_samples: int) -> int:
        return self.grid.n_feature_frames(n_samples)

    # -- comparison
    def describe_difference(self, other: "FrontEnd", only: tuple[str, ...] | None = None) -> str:
        """The differing fields in one line, ``"n_mels 64 vs 128, hop 320 vs 160"`` (self vs
        other); ``""`` when they agree. ``only`` restricts the comparison (``FEATURE_FIELDS``)."""
        names = only or tuple(f.name for f in fields(self))
        return ", ".join(f"{n} {_fmt(getattr(self, n))} vs {_fmt(getattr(other, n))}"
                         for n in names if getattr(self, n) != getattr(other, n))


def _fmt(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


DEFAULT_FRONT_END = FrontEnd()
