"""Evaluate a model folder on a corpus split: SPEC 3's figures and its two controls."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from wstag.audio.io import load_audio
from wstag.data.audiogrounding import read_v2
from wstag.data.corpus import LABELS
from wstag.data.feature_cache import CACHE_NAME, FeatureStore
from wstag.data.packing import build_feature_cache
from wstag.errors import ConfigError
from wstag.files import write_json as save_json  # the name write_json is a parameter below
from wstag.evaluation.controls import (
    loudness_pair_scores, loudness_scores, specificity, wrong_query_phrases, wrong_query_psds,
)
from wstag.data.wordings import corpus_wordings
from wstag.evaluation.metrics import evaluate
from wstag.evaluation.wordings import unseen_wording_queries
from wstag.inference.scoring import score_pairs
from wstag.inference.wording_metrics import wording_metrics
from wstag.models.checkpoint import load_model

METRIC_KEYS = (
    "psds_whole", "th_auc_whole", "psds_short", "th_auc_short",
    "psds_whole_wrong_query", "specificity", "psds_whole_loudness",
)


def loudness_control(clips, audio_dir: Path, grid) -> float:
    """PSDS (whole) of per-frame loudness used as every pair's score: no model at all."""
    # One clip's waveform at a time: holding the split's audio would grow with the corpus
    # (2.6 GB for the `full` test split); each clip's loudness curve is 250 numbers.
    loudness = {c.audio_id: loudness_scores(load_audio(audio_dir / c.audio_id, grid.sample_rate), grid=grid)
                for c in clips}
    scores = loudness_pair_scores(clips, loudness, grid=grid, precomputed=True)
    return evaluate(clips, scores, grid=grid)["psds_whole"]


def evaluate_model(
    model_dir: Path, data_dir: Path, split: str = "test", progress: Callable | None = None,
    write_json: bool = True, wordings: bool = False, wording_seed: int = 0,
) -> dict:
    """Score every test pair, compute the four figures and the controls; write metrics.json.

    The split's features are computed (or reused) with the model's own front end, and
    every figure is on the model's grid. ``wordings`` adds PSDS whole with the corpus's
    held-out wordings as queries (``wstag.inference.wording_metrics``).
    """
    model, vocab, config = load_model(model_dir)
    folder = Path(data_dir) / split
    labels = folder / LABELS
    if not labels.is_file():
        raise ConfigError(f"{data_dir}: no {split}/labels.json (strong labels) to evaluate against")
    clips = read_v2(labels, require_segments=True)
    if wordings:  # checked before any scoring: a corpus without phrase classes is refused at once
        wording_set = corpus_wordings(data_dir)
        unseen_wording_queries(clips, wording_set, wording_seed)
    front_end = model.front_end
    feats = FeatureStore(build_feature_cache(folder / "audio", [c.audio_id for c in clips], folder / CACHE_NAME,
                                             progress=progress, front_end=front_end), front_end)
    grid = front_end.grid
    scores = score_pairs(model, vocab, clips, feats, progress=progress)
    metrics = dict(evaluate(clips, scores, grid=grid))
    wrong = {pid: p.text for pid, p in wrong_query_phrases(clips).items()}
    wrong_scores = score_pairs(model, vocab, clips, feats, queries=wrong, progress=progress)
    metrics["psds_whole_wrong_query"] = wrong_query_psds(clips, wrong_scores, grid=grid)
    metrics["specificity"] = specificity(metrics["psds_whole"], metrics["psds_whole_wrong_query"])
    metrics["psds_whole_loudness"] = loudness_control(clips, folder / "audio", grid)
    if wordings:
        metrics.update(wording_metrics(model, vocab, clips, feats, wording_set, scores, metrics,
                                       seed=wording_seed, progress=progress))
    metrics = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in metrics.items()}
    if write_json:
        save_json(Path(model_dir) / "metrics.json", {"split": split, "data": str(data_dir), **metrics})
    return metrics
