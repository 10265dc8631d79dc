"""The one place for wstag's time grid: samples -> feature frames -> 40 ms output frames.

Training targets, inference and evaluation all convert between seconds and frames
here, so they cannot drift apart; a model saves its ``FrameGrid`` (``to_dict``) with
its checkpoint. The constants below are the defaults of ``wstag.audio.frontend.FrontEnd``,
the one value that code passes around (its ``.grid`` is a ``FrameGrid``).

- Feature frames: STFT with ``center=True`` and hop 320 at 32 kHz, so a clip of n
  samples has ``n // 320 + 1`` frames, frame j centred at ``j * 10 ms``.
- Output frames: the CRNN pools time by 4, so it emits one frame every 40 ms and the
  valid ones number ``(n // 320 + 1) // 4`` (SPEC 1). Output frame k covers
  ``[k * 0.04, (k + 1) * 0.04)`` seconds.
- Rasterising segments (``segments_to_frame_mask``): a frame is positive when its
  centre ``(k + 0.5) * 0.04`` lies in ``[onset, offset)``; equivalently onsets and
  offsets round to the nearest frame boundary (halves round down). A non-empty segment
  that contains no frame centre (shorter than a frame) still marks the frame holding
  its midpoint, so no event vanishes from the targets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np

SAMPLE_RATE = 32000
N_FFT = 1024  # 32 ms window
HOP = 320  # 10 ms
N_MELS = 64
F_MIN = 50.0
F_MAX = 14000.0
TIME_DOWNSAMPLE = 4  # the CNN's time pooling: (2, 2) twice
OUTPUT_HOP_S = HOP * TIME_DOWNSAMPLE / SAMPLE_RATE  # 0.04 s

# Tolerance on "onset/offset lies exactly on a frame centre" against float rounding
# (0.1 / 0.04 == 2.5000000000000004).
_EPS = 1e-9


@dataclass(frozen=True)
class FrameGrid:
    """Sample rate, STFT hop and the model's time downsampling: the whole time grid."""

    sample_rate: int = SAMPLE_RATE
    hop: int = HOP
    time_downsample: int = TIME_DOWNSAMPLE

    def __post_init__(self) -> None:
        for name in ("sample_rate", "hop", "time_downsample"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"FrameGrid.{name} must be a positive integer, got {value!r}")

    # -- serialisation (saved with a model's checkpoint)
    def to_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FrameGrid":
        unknown = set(d) - {"sample_rate", "hop", "time_downsample"}
        if unknown:
            raise ValueError(f"FrameGrid: unknown keys {sorted(unknown)}")
        return cls(**d)

    # -- sizes
    @property
    def output_hop_samples(self) -> int:
        return self.hop * self.time_downsample

    @property
    def output_hop_s(self) -> float:
        """Seconds per output frame (0.04 by default)."""
        return self.output_hop_samples / self.sample_rate

    def n_feature_frames(self, n_samples: int) -> int:
        """STFT frames (center=True) of a clip: ``n // hop + 1``."""
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        return int(n_samples) // self.hop + 1

    def n_output_frames(self, n_samples: int) -> int:
        """Valid model output frames: ``(n // hop + 1) // time_downsample`` (SPEC 1)."""
        return self.n_feature_frames(n_samples) // self.time_downsample

    def n_output_frames_for_duration(self, seconds: float) -> int:
        """Output frames of a clip lasting ``seconds`` (rounded to whole samples)."""
        return self.n_output_frames(int(round(seconds * self.sample_rate)))

    def frame_time(self, k: int | np.ndarray) -> float | np.ndarray:
        """Start time in seconds of output frame ``k`` (exact for integer grids)."""
        return k * self.output_hop_samples / self.sample_rate

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Boundaries of ``n_frames`` output frames in seconds: shape (n_frames + 1,).

        Frame k spans ``[times[k], times[k + 1])``; this is the timestamp array
        sed_scores_eval expects beside (n_frames, K) scores.
        """
        return np.arange(n_frames + 1) * self.output_hop_samples / self.sample_rate

    # -- segments <-> frames
    def segments_to_frame_mask(
        self, segments: Iterable[Sequence[float] | Any], n_frames: int
    ) -> np.ndarray:
        """Rasterise ``[(onset, offset), ...]`` seconds onto ``n_frames`` output frames.

        Returns a float32 0/1 array (n_frames,). A frame is positive when its centre
        lies in ``[onset, offset)``; a non-empty segment too short to contain a centre
        marks the frame holding its midpoint. Parts beyond the grid are dropped.
        Segments may be pairs or objects with ``.onset`` and ``.offset``.
        """
        mask = np.zeros(n_frames, dtype=np.float32)
        h = self.output_hop_s
        for seg in segments:
            onset, offset = _onset_offset(seg)
            if offset == onset:
                continue
            first = math.ceil(onset / h - 0.5 - _EPS)  # first centre >= onset
            stop = math.ceil(offset / h - 0.5 - _EPS)  # first centre >= offset
            if stop <= first:  # shorter than a frame, between two centres
                first = math.floor((onset + offset) / 2 / h)
                stop = first + 1
            mask[max(first, 0) : max(min(stop, n_frames), 0)] = 1.0
        return mask

    def frame_mask_to_segments(self, mask: np.ndarray | Sequence) -> list[tuple[float, float]]:
        """Turn runs of positive frames into ``[(onset, offset), ...]`` in seconds.

        ``mask`` is bool, or numbers where >= 0.5 counts as positive (shape (n_frames,)).
        Each run of frames ``a .. b - 1`` becomes ``(frame_time(a), frame_time(b))``, so
        rasterising the result gives back the same mask.
        """
        m = np.asarray(mask)
        if m.ndim != 1:
            raise ValueError(f"frame mask must be 1-D, got shape {m.shape}")
        m = m if m.dtype == bool else m >= 0.5
        edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
        starts = np.flatnonzero(edges == 1)
        stops = np.flatnonzero(edges == -1)
        return [(self.frame_time(int(a)), self.frame_time(int(b))) for a, b in zip(starts, stops)]


def _onset_offset(seg: Sequence[float] | Any) -> tuple[float, float]:
    if hasattr(seg, "onset") and hasattr(seg, "offset"):
        onset, offset = float(seg.onset), float(seg.offset)
    else:
        onset, offset = (float(v) for v in seg)
    if not (math.isfinite(onset) and math.isfinite(offset)) or offset < onset:
        raise ValueError(f"segment must have finite onset <= offset, got ({onset}, {offset})")
    return onset, offset


DEFAULT_GRID = FrameGrid()


def n_feature_frames(n_samples: int) -> int:
    """STFT frames of a clip on the default grid: ``n // 320 + 1``."""
    return DEFAULT_GRID.n_feature_frames(n_samples)


def n_output_frames(n_samples: int) -> int:
    """Valid 40 ms output frames on the default grid: ``(n // 320 + 1) // 4``."""
    return DEFAULT_GRID.n_output_frames(n_samples)


def frame_times(n_frames: int) -> np.ndarray:
    """Boundaries (n_frames + 1,) in seconds of the default 40 ms grid."""
    return DEFAULT_GRID.frame_times(n_frames)


def segments_to_frame_mask(segments: Iterable, n_frames: int) -> np.ndarray:
    """Rasterise segments onto the default grid; see ``FrameGrid.segments_to_frame_mask``."""
    return DEFAULT_GRID.segments_to_frame_mask(segments, n_frames)


def frame_mask_to_segments(mask: np.ndarray | Sequence) -> list[tuple[float, float]]:
    """Runs of positive frames on the default grid as (onset, offset) seconds."""
    return DEFAULT_GRID.frame_mask_to_segments(mask)
