"""(clip, phrase) pairs as sed_scores_eval inputs (SPEC 3).

Grounding is scored pair by pair: the model's frame probabilities for one phrase of one
clip are the scores of one "file" with a single event class. Every pair shares the same
class name, so sed_scores_eval pools all pairs into one class: its false-positive rate
is the total false positives over the total duration of all pairs, which is the paper's
"FPR summed over all phrases" (V-D; with one class per phrase the per-class rates
``FP_c / T`` would sum to the same ``FP / T``).

Scores arrive as arrays on the model's output grid (``FrameGrid``: frame k covers
``[k * hop, (k + 1) * hop)``); the last frame boundary is clipped to the clip's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from sed_scores_eval.base_modules.scores import create_score_dataframe

from wstag.audio.frames import FrameGrid
from wstag.records import Clip, short_phrase_keys

#: The one event class every pair is scored under.
EVENT_CLASS = "query"

#: Duration assumed for clips that do not state one (AudioCaps clips are 10 s).
DEFAULT_DURATION_S = 10.0

GroundTruth = dict[str, list[tuple[float, float, str]]]


def pair_id(audio_id: str, phrase_idx: int) -> str:
    """The "file" name of one (clip, phrase) pair."""
    return f"{audio_id}#{phrase_idx}"


def clip_duration(clip: Clip) -> float:
    return float(clip.duration) if clip.duration else DEFAULT_DURATION_S


def evaluation_pairs(clips: Iterable[Clip]) -> list[tuple[str, Clip, int]]:
    """``(pair_id, clip, phrase_idx)`` for every phrase with at least one non-empty segment.

    SPEC 3 "whole" = every test phrase with annotations: a phrase without segments has
    nothing to detect (and an empty class would make recall undefined).
    """
    out = []
    seen: set[str] = set()
    for clip in clips:
        dur = clip_duration(clip)
        for i, phrase in enumerate(clip.phrases):
            if not _clean_segments(phrase.segments or (), dur):
                continue
            pid = pair_id(clip.audio_id, i)
            if pid in seen:
                raise ValueError(f"pair {pid!r} occurs twice: audio ids must be unique")
            seen.add(pid)
            out.append((pid, clip, i))
    return out


def _clean_segments(segments: Iterable, duration: float) -> list[tuple[float, float]]:
    """Segments as sed_scores_eval accepts them: clipped to the clip, non-empty, merged.

    sed_scores_eval asserts that events of one class in one file neither overlap nor
    touch, and a zero-length reference event would count as detected by anything
    (its GTC ``0 >= 0.5 * 0`` always holds), so both are normalised away here.
    """
    spans = sorted(
        (max(0.0, float(s.onset)), min(duration, float(s.offset))) for s in segments
    )
    merged: list[list[float]] = []
    for on, off in spans:
        if off <= on:
            continue
        if merged and on <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], off)
        else:
            merged.append([on, off])
    return [(on, off) for on, off in merged]


@dataclass(frozen=True)
class PairInputs:
    """Per-pair frame scores, frame boundaries, ground truth and durations.

    ``frame_scores[pid]`` is (T,), ``timestamps[pid]`` is (T + 1,) seconds. ``scores``
    builds the sed_scores_eval data frames once, on first use.
    """

    frame_scores: dict[str, np.ndarray]
    timestamps: dict[str, np.ndarray]
    ground_truth: GroundTruth
    audio_durations: dict[str, float]
    short_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def ids(self) -> list[str]:
        return list(self.frame_scores)

    def __len__(self) -> int:
        return len(self.frame_scores)

    @cached_property
    def scores(self) -> dict[str, pd.DataFrame]:
        """sed_scores_eval score frames: one (T, 1) frame per pair, built column-wise."""
        return {
            pid: create_score_dataframe(s[:, None], self.timestamps[pid], [EVENT_CLASS])
            for pid, s in self.frame_scores.items()
        }

    def subset(self, ids: Iterable[str]) -> "PairInputs":
        """The same inputs restricted to ``ids`` (e.g. the short-duration subset)."""
        keep = list(dict.fromkeys(ids))
        unknown = [k for k in keep if k not in self.frame_scores]
        if unknown:
            raise ValueError(f"subset: unknown pair ids {unknown[:5]}")
        return PairInputs(
            frame_scores={k: self.frame_scores[k] for k in keep},
            timestamps={k: self.timestamps[k] for k in keep},
            ground_truth={k: self.ground_truth[k] for k in keep},
            audio_durations={k: self.audio_durations[k] for k in keep},
            short_ids=frozenset(k for k in keep if k in self.short_ids),
        )

    def short(self) -> "PairInputs":
        """Paper V-D short-duration subset: segments together under half the clip."""
        return self.subset(k for k in self.frame_scores if k in self.short_ids)

    def map_scores(self, fn: Callable[[np.ndarray], np.ndarray]) -> "PairInputs":
        """A copy with ``fn`` applied to every pair's (T,) scores (e.g. a median filter)."""
        new = {k: np.asarray(fn(v), dtype=np.float64) for k, v in self.frame_scores.items()}
        for k, v in new.items():
            if v.shape != self.frame_scores[k].shape:
                raise ValueError(
                    f"pair {k!r}: score transform changed shape "
                    f"{self.frame_scores[k].shape} -> {v.shape}"
                )
        return replace(self, frame_scores=new)


def build_pair_inputs(
    clips: Iterable[Clip],
    scores: Mapping[str, np.ndarray],
    *,
    grid: FrameGrid,
) -> PairInputs:
    """Validate per-pair frame scores against strong-labelled clips; pair them with ground truth.

    ``scores[pair_id(audio_id, i)]`` is a 1-D array (T,) of probabilities on ``grid``.
    T must equal the clip's valid output frames when the clip states its duration, and
    may be shorter (never longer) when the 10 s default is assumed. Extra keys in
    ``scores`` (e.g. phrases without segments) are ignored. Raises ValueError naming
    the pair on a missing entry, a wrong shape or length, or a NaN/inf score.
    """
    clips = list(clips)
    pairs = evaluation_pairs(clips)
    if not pairs:
        raise ValueError("no (clip, phrase) pair with annotated segments to evaluate")
    short = {pair_id(a, i) for a, i in short_phrase_keys(clips, DEFAULT_DURATION_S)}
    frame_scores: dict[str, np.ndarray] = {}
    timestamps: dict[str, np.ndarray] = {}
    gt: GroundTruth = {}
    durations: dict[str, float] = {}
    for pid, clip, i in pairs:
        dur = clip_duration(clip)
        if pid not in scores:
            raise ValueError(f"pair {pid!r}: no scores (phrase {clip.phrases[i].text!r})")
        s = np.asarray(scores[pid], dtype=np.float64)
        expected = grid.n_output_frames_for_duration(dur)
        if s.ndim != 1:
            raise ValueError(f"pair {pid!r}: scores must be 1-D (T,), got shape {s.shape}")
        if clip.duration is not None and len(s) != expected:
            raise ValueError(
                f"pair {pid!r}: expected {expected} frames for {dur} s on the "
                f"{grid.output_hop_s * 1000:g} ms grid, got {len(s)}"
            )
        if not 0 < len(s) <= expected:
            raise ValueError(
                f"pair {pid!r}: expected 1 to {expected} frames for an assumed {dur} s "
                f"clip on the {grid.output_hop_s * 1000:g} ms grid, got {len(s)}"
            )
        if not np.isfinite(s).all():
            bad = int(np.flatnonzero(~np.isfinite(s))[0])
            raise ValueError(f"pair {pid!r}: score of frame {bad} is {s[bad]} (NaN or inf)")
        ts = grid.frame_times(len(s))
        ts[-1] = min(ts[-1], dur)
        frame_scores[pid] = s
        timestamps[pid] = ts
        segments = _clean_segments(clip.phrases[i].segments, dur)
        gt[pid] = [(on, off, EVENT_CLASS) for on, off in segments]
        durations[pid] = dur
    return PairInputs(frame_scores, timestamps, gt, durations, frozenset(short & set(frame_scores)))
