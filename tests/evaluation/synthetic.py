"""A realistic synthetic strong-label set for evaluation tests (fixed RNG, 40 ms aligned).

Clips of 10 s with 2-4 phrases of distinct classes; a phrase is either long (one
segment of 6-10 s, like a captioned background bed) or 1-3 short segments. Segment
ends are output-frame boundaries, so ground-truth frames reproduce them exactly. No
phrase lasts within 0.2 s of half the clip, so "short" and "the whole-clip detection
is relevant" agree without floating-point ties.
"""

from __future__ import annotations

import numpy as np

from wstag.audio.frames import DEFAULT_GRID, FrameGrid
from wstag.records import Clip, Phrase, Segment

CLASSES = [f"class{k:02d}" for k in range(20)]
DURATION = 10.0


def _phrase_segments(rng: np.random.Generator, grid: FrameGrid, n_frames: int) -> list[Segment]:
    while True:
        if rng.random() < 0.3:  # long: 6-10 s
            length = int(rng.integers(150, n_frames + 1))
            start = int(rng.integers(0, n_frames - length + 1))
            spans = [(start, start + length)]
        else:  # 1-3 separate short events of 0.2-2.4 s
            spans = []
            for _ in range(int(rng.integers(1, 4))):
                length = int(rng.integers(5, 61))
                start = int(rng.integers(0, n_frames - length + 1))
                if all(start > b or start + length < a for a, b in spans):  # keep a gap
                    spans.append((start, start + length))
        total = sum(b - a for a, b in spans) * grid.output_hop_s
        if abs(total - DURATION / 2) > 0.2:
            return [Segment(grid.frame_time(a), grid.frame_time(b)) for a, b in sorted(spans)]


def make_clips(n_clips: int = 30, seed: int = 0, grid: FrameGrid = DEFAULT_GRID,
               with_classes: bool = True) -> list[Clip]:
    rng = np.random.default_rng(seed)
    n_frames = grid.n_output_frames_for_duration(DURATION)
    clips = []
    for c in range(n_clips):
        n_phr = int(rng.integers(2, 5))
        classes = [CLASSES[k] for k in rng.choice(len(CLASSES), size=n_phr + 1, replace=False)]
        phrases, tokens = [], []
        for i, cls in enumerate(classes[:n_phr]):
            words = [cls, "sounds" if i % 2 else "plays"]
            phrases.append(Phrase(" ".join(words), len(tokens), len(tokens) + 1,
                                  tuple(_phrase_segments(rng, grid, n_frames))))
            tokens += words + ["and"]
        tokens = tokens[:-1]
        extra = {}
        if with_classes:  # the last class plays as an uncaptioned background
            extra = {"phrase_classes": classes[:n_phr], "classes_present": sorted(classes)}
        clips.append(Clip(f"clip{c:03d}.flac", " ".join(tokens), tuple(tokens), tuple(phrases),
                          duration=DURATION, extra=extra))
    return clips


def oracle_scores(clips: list[Clip], grid: FrameGrid = DEFAULT_GRID) -> dict[str, np.ndarray]:
    """Ground-truth frames as scores."""
    out = {}
    for clip in clips:
        n = grid.n_output_frames_for_duration(clip.duration or DURATION)
        for i, p in enumerate(clip.phrases):
            out[f"{clip.audio_id}#{i}"] = grid.segments_to_frame_mask(p.segments, n).astype(np.float64)
    return out
