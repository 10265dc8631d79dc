"""The seen/unseen-wording figures of one model on one corpus split (``wstag evaluate --wordings``)."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from wstag.data.wordings import seen_words
from wstag.evaluation.metrics import psds
from wstag.evaluation.pairs import build_pair_inputs
from wstag.evaluation.wordings import answered_pairs, refused_wordings, unseen_wording_queries
from wstag.inference.scoring import score_pairs
from wstag.models.grounding import GroundingModel
from wstag.records import Clip
from wstag.text.vocabulary import Vocabulary

#: The figures ``wstag evaluate --wordings`` prints (metrics.json holds more: counts, seed).
WORDING_KEYS = (
    "psds_whole_seen_wording", "psds_whole_unseen_wording", "unseen_to_seen_percent", "unseen_wording_specificity",
)


def wording_metrics(
    model: GroundingModel,
    vocab: Vocabulary,
    clips: Sequence[Clip],
    features: Mapping[str, np.ndarray],
    wordings: Mapping[str, Sequence[str]],
    seen_scores: Mapping[str, np.ndarray],
    seen: Mapping[str, float],
    seed: int = 0,
    progress: Callable | None = None,
) -> dict:
    """PSDS whole of the same pairs asked with their own phrase (``seen_scores``) and with unseen wordings.

    ``seen`` is this split's metrics (``psds_whole``, ``psds_whole_wrong_query``).
    Pairs a word-embedding model refuses are left out of both figures; with none
    answered both are None. ``unseen_to_seen_percent`` is the issue's target (>= 80
    with MiniLM); ``unseen_wording_specificity`` (unseen minus the wrong-query PSDS)
    says how much of it the wording's meaning earns, as ``specificity`` does for seen.
    """
    grid = model.front_end.grid
    queries = unseen_wording_queries(clips, wordings, seed)
    refused = set() if model.open_vocabulary else refused_wordings(vocab, queries.values())
    answered = answered_pairs(queries, refused)
    seen_psds = unseen_psds = None
    if answered:
        asked = {pid: queries[pid] for pid in answered}
        scores = score_pairs(model, vocab, clips, features, queries=queries, progress=progress)
        unseen_psds = _psds(build_pair_inputs(clips, scores, grid=grid).subset(asked))
        seen_psds = (float(seen["psds_whole"]) if len(answered) == len(queries)
                     else _psds(build_pair_inputs(clips, seen_scores, grid=grid).subset(asked)))
    used = sorted(set(queries.values()))
    out = {
        "text_encoder": "minilm" if model.open_vocabulary else "word",
        "psds_whole_seen_wording": seen_psds,
        "psds_whole_unseen_wording": unseen_psds,
        "unseen_to_seen_percent": round(100.0 * unseen_psds / seen_psds, 1) if seen_psds else None,
        "unseen_wording_pairs": len(queries),
        "unseen_wording_refused_pairs": len(queries) - len(answered),
        "unseen_wordings_used": len(used),
        "unseen_wordings_refused": len(refused),
        # Wordings sharing a word that names something with this model's training captions: 0 by design.
        "unseen_wordings_with_training_words": sum(bool(seen_words(w, vocab.words)) for w in used),
        "unseen_wording_seed": seed,
    }
    if answered and len(answered) == len(queries) and "psds_whole_wrong_query" in seen:  # same pairs
        out["unseen_wording_specificity"] = round(unseen_psds - seen["psds_whole_wrong_query"], 1)
    return out


def _psds(inputs) -> float:
    return round(100.0 * psds(inputs), 1)
