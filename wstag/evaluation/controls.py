"""The two controls of SPEC 3, reported beside every evaluation.

- *Wrong query*: score each test clip against a phrase naming a sound that is absent
  from it, and evaluate those scores against the true pair's segments. A model that
  fires on "some sound" rather than the sound asked for keeps its PSDS here;
  ``specificity = psds_whole - wrong_query_psds`` is what the query itself adds.
- *Loudness*: per-frame loudness, normalised per clip, as the score of every pair: a
  "fire on any sound" detector that needs no model at all.

The model side supplies the scores; these functions choose queries and evaluate.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

import numpy as np

from wstag.audio.frames import FrameGrid
from wstag.evaluation.metrics import psds
from wstag.evaluation.pairs import build_pair_inputs, evaluation_pairs
from wstag.records import Clip, Phrase
from wstag.seeding import stable_seed

#: Words that name no sound; two phrases sharing only these may still be unrelated.
_FUNCTION_WORDS = frozenset(
    "a an the some any another other several multiple many few is are was were be being "
    "been it its they them their he him his she her we you i this that these those there "
    "of in on at by to from with and or as while then up down out off over into onto "
    "for near far away back very loudly softly quietly repeatedly briefly distance "
    "background foreground nearby one two three four five several times once twice "
    "can could may might will would sound sounds noise noises".split()
)
_WORD = re.compile(r"[a-z]+")

#: Rejection-sampling draws before falling back to a full scan of the candidates.
_MAX_DRAWS = 64


def content_stems(text: str) -> frozenset[str]:
    """Crude stems of a phrase's content words: "dogs barking" -> {"dog", "bark"}."""
    stems = set()
    for w in _WORD.findall(text.lower()):
        if w in _FUNCTION_WORDS or len(w) < 3:
            continue
        for suffix in ("ing", "es", "ed", "s"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        stems.add(w)
    return frozenset(stems)


def _phrase_class(clip: Clip, idx: int) -> str | None:
    classes = clip.extra.get("phrase_classes")
    if classes is None or idx >= len(classes):
        return None
    return classes[idx]


def _is_absent(clip: Clip, clip_stems: frozenset[str], cand: Clip, j: int,
               cand_stems: frozenset[str]) -> bool:
    """True if phrase j of ``cand`` names a sound absent from ``clip``.

    With classes (embedded benchmark): its class is not among ``classes_present``,
    which includes an uncaptioned background. Without (real AudioGrounding): it shares
    no content word with any phrase of ``clip``.
    """
    if cand.audio_id == clip.audio_id:
        return False
    present = clip.extra.get("classes_present")
    cls = _phrase_class(cand, j)
    if present is not None and cls is not None:
        return cls not in present
    return bool(cand_stems) and not (cand_stems & clip_stems)


def _seed(pid: str) -> int:
    # Stable across runs and Python versions (hash() is salted per process).
    return stable_seed(pid)


def wrong_query_assignment(clips: Iterable[Clip]) -> dict[str, tuple[str, int]]:
    """For each evaluated pair, ``(other_audio_id, other_phrase_idx)`` naming an absent sound.

    Candidates are every phrase of every other clip (with or without segments), in a
    canonical order; each pair draws from them with an RNG seeded by its own pair id,
    so the choice depends neither on clip order nor on the process. Raises ValueError
    naming the pair if no phrase qualifies.
    """
    clips = list(clips)
    cands: list[tuple[Clip, int, frozenset[str]]] = sorted(
        ((c, j, content_stems(p.text)) for c in clips for j, p in enumerate(c.phrases)),
        key=lambda t: (t[0].audio_id, t[1]),
    )
    clip_stems = {c.audio_id: frozenset().union(*(content_stems(p.text) for p in c.phrases))
                  for c in clips}
    out: dict[str, tuple[str, int]] = {}
    for pid, clip, _ in evaluation_pairs(clips):
        stems = clip_stems[clip.audio_id]
        rng = np.random.default_rng(_seed(pid))
        choice = None
        for k in rng.integers(0, len(cands), size=_MAX_DRAWS):
            cand, j, cstems = cands[k]
            if _is_absent(clip, stems, cand, j, cstems):
                choice = (cand.audio_id, j)
                break
        if choice is None:  # rare: scan from a pair-specific offset
            start = int(rng.integers(0, len(cands)))
            for k in range(len(cands)):
                cand, j, cstems = cands[(start + k) % len(cands)]
                if _is_absent(clip, stems, cand, j, cstems):
                    choice = (cand.audio_id, j)
                    break
        if choice is None:
            raise ValueError(f"pair {pid!r}: no phrase of another clip names a sound absent from it")
        out[pid] = choice
    return out


def wrong_query_phrases(clips: Iterable[Clip]) -> dict[str, Phrase]:
    """The wrong-query phrase for each evaluated pair (its ``.text`` is what to score)."""
    clips = list(clips)
    by_id = {c.audio_id: c for c in clips}
    return {pid: by_id[a].phrases[j] for pid, (a, j) in wrong_query_assignment(clips).items()}


def wrong_query_psds(
    clips: Iterable[Clip], scores: Mapping[str, np.ndarray], *, grid: FrameGrid
) -> float:
    """PSDS (percent, one decimal) of wrong-query scores against the TRUE pairs' segments.

    ``scores[pid]`` is the clip's (T,) probability for the phrase that
    ``wrong_query_assignment`` gave pair ``pid``.
    """
    return round(100.0 * psds(build_pair_inputs(clips, scores, grid=grid)), 1)


def specificity(psds_whole: float, wrong_psds: float) -> float:
    """What the query adds beyond detecting "some sound": PSDS - wrong-query PSDS."""
    return round(psds_whole - wrong_psds, 1)


def loudness_scores(audio: np.ndarray, *, grid: FrameGrid) -> np.ndarray:
    """Per-frame RMS level (dB) on the output grid, min-max normalised per clip: (T,).

    ``audio`` is mono (n,) at ``grid.sample_rate``. Frame k covers samples
    ``[k * H, (k + 1) * H)`` with H the output hop; a last frame running past the end
    is zero-padded. A clip of constant level gets all zeros (nothing stands out).
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono (n,), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("audio holds NaN or inf")
    n_frames = grid.n_output_frames(len(x))
    hop = grid.output_hop_samples
    frames = np.zeros(n_frames * hop)
    m = min(len(x), len(frames))
    frames[:m] = x[:m]
    power = np.mean(frames.reshape(n_frames, hop) ** 2, axis=1)  # (T,)
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    span = db.max() - db.min() if n_frames else 0.0
    if span <= 0:
        return np.zeros(n_frames)
    return (db - db.min()) / span


def loudness_pair_scores(
    clips: Iterable[Clip], audio: Mapping[str, np.ndarray], *, grid: FrameGrid,
    precomputed: bool = False,
) -> dict[str, np.ndarray]:
    """The loudness control's scores: every evaluated pair of a clip gets its loudness.

    ``audio[audio_id]`` is the clip's mono waveform at ``grid.sample_rate``, or with
    ``precomputed`` its ``loudness_scores`` already (so a caller can stream the audio).
    """
    clips = list(clips)
    cache: dict[str, np.ndarray] = {}
    out = {}
    for pid, clip, _ in evaluation_pairs(clips):
        if clip.audio_id not in cache:
            if clip.audio_id not in audio:
                raise ValueError(f"pair {pid!r}: no audio for clip {clip.audio_id!r}")
            value = audio[clip.audio_id]
            cache[clip.audio_id] = value if precomputed else loudness_scores(value, grid=grid)
        out[pid] = cache[clip.audio_id]
    return out

