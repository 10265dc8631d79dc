"""Model-side diagnosis of negative sampling: localisation inside a clip vs calibration across queries.

PSDS pools every (clip, phrase) pair under one threshold, so a model can localise well
inside each clip and still score low when whole score curves sit higher for some
queries than for others. This module measures both on the test pairs of a trained model:

- the within-pair frame ROC AUC (ranking inside one clip for one phrase) and the pooled
  frame ROC AUC over all frames of all pairs (what one threshold sees), with the exact
  split of the pooled AUC into same-pair and cross-pair (event frame, non-event frame)
  couples, and the pooled AUC after removing each pair's offset;
- the wrong-query control (SPEC 3) and two more wrong queries per pair, from the absent
  class closest to the pair's class (Sentence-BERT class centroids) and from a far one;
- event vs non-event frame scores, and clip-level pooled probabilities for present vs
  absent phrases.

Scores come from ``wstag.inference.scoring.score_pairs``, the evaluation's own path.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from wstag.audio.frames import FrameGrid
from wstag.data.audiogrounding import read_v2
from wstag.data.corpus import LABELS
from wstag.data.feature_cache import CACHE_NAME, FeatureStore
from wstag.data.packing import build_feature_cache
from wstag.errors import ConfigError
from wstag.evaluation.controls import wrong_query_phrases
from wstag.evaluation.metrics import psds
from wstag.evaluation.pairs import PairInputs, build_pair_inputs, evaluation_pairs, pair_id
from wstag.inference.scoring import score_pairs
from wstag.models.checkpoint import load_model
from wstag.models.pooling import get_pooling
from wstag.records import Clip
from wstag.seeding import stable_rng

Scores = Mapping[str, np.ndarray]
Labels = Mapping[str, np.ndarray]

#: Class groups whose phrases similarity sampling (SBERT, tau 0.5) or clustering most kept
#: apart as negatives, after reports/table2/sampling-diagnosis.md (closest SBERT centroids
#: and the never-drawn class pairs).
CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    "doors": ("door_open", "door_close"),
    "blasts": ("explosion", "gunshot", "fire_crackle"),
    "water": ("flowing_water", "water_splash", "bubbling", "rain"),
    "birds": ("bird_squawk", "birdsong", "duck_quack"),
    "engines": ("aircraft", "vehicle_engine", "traffic"),
}

#: Query sets scored per model: the pair's own phrase, SPEC 3's wrong query, close and far wrong queries.
QUERY_SETS = ("right", "wrong", "close", "far")


# --------------------------------------------------------------------------- frame AUCs

def frame_labels(inputs: PairInputs, grid: FrameGrid) -> dict[str, np.ndarray]:
    """pair id -> (T,) bool event frames, rasterised as the training's strong targets are."""
    return {pid: grid.segments_to_frame_mask([(on, off) for on, off, _ in inputs.ground_truth[pid]],
                                             len(s)) > 0.5
            for pid, s in inputs.frame_scores.items()}


def pooled_auc(scores: Scores, labels: Labels, ids: Iterable[str] | None = None) -> float:
    """Frame ROC AUC over all frames of the given pairs together: one threshold for every query."""
    ids = list(scores if ids is None else ids)
    y = np.concatenate([labels[p] for p in ids])
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.concatenate([scores[p] for p in ids])))


def has_both(labels: np.ndarray) -> bool:
    return bool(labels.any() and not labels.all())


def within_pair_aucs(scores: Scores, labels: Labels) -> dict[str, float]:
    """pair id -> frame ROC AUC inside that pair, for pairs with event and non-event frames."""
    return {p: float(roc_auc_score(labels[p], scores[p])) for p in scores if has_both(labels[p])}


def _centre(scores: Scores, offsets: Mapping[str, float]) -> dict[str, np.ndarray]:
    return {p: scores[p] - offsets[p] for p in offsets}


def auc_decomposition(scores: Scores, labels: Labels) -> dict[str, float]:
    """Within-pair vs pooled frame AUC, and how much of the gap per-pair offsets explain.

    The pooled AUC is exactly ``w * within_weighted + (1 - w) * cross``: ``w`` is the share of
    (event, non-event) frame couples taken from the same pair, ``within_weighted`` their AUC
    (pairs weighted by couples), ``cross`` the AUC of couples from different pairs.
    ``pooled_minus_nonevent_median`` subtracts each pair's median non-event score (an oracle
    offset, on pairs with both kinds of frames; compare ``pooled_both``): what the pooled
    AUC would be if every query's background sat at the same level. ``recovered_share`` is
    the part of the gap ``within_mean - pooled_both`` that this removes. The label-free
    ``pooled_minus_median`` and ``pooled_rank_normalised`` subtract each pair's median score
    or replace scores by their rank inside the pair.
    """
    within = within_pair_aucs(scores, labels)
    both = list(within)
    pos = {p: int(labels[p].sum()) for p in scores}
    neg = {p: int((~labels[p]).sum()) for p in scores}
    couples_all = sum(pos.values()) * sum(neg.values())
    couples_within = sum(pos[p] * neg[p] for p in both)
    pooled = pooled_auc(scores, labels)
    within_weighted = sum(within[p] * pos[p] * neg[p] for p in both) / max(couples_within, 1)
    w = couples_within / couples_all if couples_all else float("nan")
    cross = (pooled - w * within_weighted) / (1 - w) if w < 1 else float("nan")
    within_mean = float(np.mean(list(within.values()))) if within else float("nan")
    pooled_both = pooled_auc(scores, labels, both) if both else float("nan")
    oracle = pooled_auc(_centre(scores, {p: float(np.median(scores[p][~labels[p]])) for p in both}),
                        labels) if both else float("nan")
    gap_both = within_mean - pooled_both
    return {
        "n_pairs": len(scores), "n_pairs_both": len(both),
        "n_pairs_all_event": sum(1 for p in scores if labels[p].all()),
        "event_frame_share": sum(pos.values()) / max(sum(pos.values()) + sum(neg.values()), 1),
        "within_mean": within_mean, "within_weighted": within_weighted,
        "pooled": pooled, "gap": within_mean - pooled,
        "same_pair_couple_share": w, "cross": cross,
        "pooled_both": pooled_both, "gap_both": gap_both,
        "pooled_minus_nonevent_median": oracle,
        "recovered_share": (oracle - pooled_both) / gap_both if gap_both > 0 else float("nan"),
        "pooled_minus_median": pooled_auc(_centre(scores, {p: float(np.median(s)) for p, s in scores.items()}),
                                          labels),
        "pooled_rank_normalised": pooled_auc({p: rankdata(s) / len(s) for p, s in scores.items()}, labels),
        "whole_clip_vs_nonevent": whole_clip_auc(scores, labels),
    }


def whole_clip_auc(scores: Scores, labels: Labels) -> float:
    """Frames of pairs whose event spans the whole clip vs every non-event frame: only a query's
    overall level can rank these, no shape inside the clip."""
    full = [p for p in scores if labels[p].all()]
    if not full:
        return float("nan")
    s = {**{p: scores[p] for p in full}, **{p: scores[p][~labels[p]] for p in scores if p not in full}}
    y = {**{p: labels[p] for p in full}, **{p: labels[p][~labels[p]] for p in scores if p not in full}}
    return pooled_auc(s, y)


def offset_statistics(scores: Scores, labels: Labels, classes: Mapping[str, str | None]) -> dict[str, float]:
    """Per-pair background offsets (median non-event score): spread, and the share the query's class explains.

    ``class_share`` is the between-class part of the offsets' variance (eta squared over
    pairs with a class): near 1, whole classes of queries sit high or low.
    """
    off = {p: float(np.median(scores[p][~labels[p]])) for p in scores if not labels[p].all()}
    values = np.array(list(off.values()))
    keyed = [(classes.get(p), v) for p, v in off.items() if classes.get(p) is not None]
    share = float("nan")
    if len(keyed) > 1:
        vals = np.array([v for _, v in keyed])
        groups: dict[str, list[float]] = {}
        for c, v in keyed:
            groups.setdefault(c, []).append(v)
        between = sum(len(g) * (np.mean(g) - vals.mean()) ** 2 for g in groups.values())
        total = float(((vals - vals.mean()) ** 2).sum())
        share = float(between / total) if total > 0 else float("nan")
    return {"offset_mean": float(values.mean()), "offset_std": float(values.std()),
            "offset_p10": float(np.percentile(values, 10)), "offset_p90": float(np.percentile(values, 90)),
            "class_share": share}


# --------------------------------------------------------------------------- score levels

def distribution(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "p10": float(np.percentile(v, 10)), "p50": float(np.median(v)),
            "p90": float(np.percentile(v, 90)), "n": int(v.size)}


def frame_levels(scores: Scores, labels: Labels, ids: Iterable[str] | None = None) -> dict[str, float]:
    """Mean and 90th percentile of all frame scores, and the means on event and non-event frames
    (event = the TRUE pair's segments, also for a wrong query)."""
    ids = list(scores if ids is None else ids)
    if not ids:
        return {"mean": float("nan"), "p90": float("nan"), "event_mean": float("nan"),
                "nonevent_mean": float("nan"), "n_pairs": 0}
    s = np.concatenate([scores[p] for p in ids])
    y = np.concatenate([labels[p] for p in ids])
    return {"mean": float(s.mean()), "p90": float(np.percentile(s, 90)),
            "event_mean": float(s[y].mean()) if y.any() else float("nan"),
            "nonevent_mean": float(s[~y].mean()) if (~y).any() else float("nan"), "n_pairs": len(ids)}


def clip_probabilities(scores: Scores, pooling: str) -> dict[str, float]:
    """pair id -> clip-level probability, pooled with the model's own training pooling (Eq. 6)."""
    pool = get_pooling(pooling)
    out = {}
    for p, s in scores.items():
        x = torch.as_tensor(s, dtype=torch.float64)[None, :, None]
        out[p] = float(pool(x, torch.ones(1, len(s), dtype=torch.bool))[0, 0])
    return out


def present_vs_absent(present: Mapping[str, float], absent: Mapping[str, float]) -> dict[str, Any]:
    """Clip-level probabilities of the pairs' own phrases vs absent ones, and the AUC separating them."""
    p, a = list(present.values()), list(absent.values())
    auc = roc_auc_score(np.r_[np.ones(len(p)), np.zeros(len(a))], np.r_[p, a])
    return {"present": distribution(p), "absent": distribution(a), "auc": float(auc)}


# --------------------------------------------------------------------------- close and far wrong queries

def pair_classes(clips: Iterable[Clip]) -> dict[str, str | None]:
    """pair id -> the sound class its phrase names (embedded benchmark), None when unknown."""
    out = {}
    for pid, clip, i in evaluation_pairs(clips):
        classes = clip.extra.get("phrase_classes") or []
        out[pid] = classes[i] if i < len(classes) else None
    return out


def phrases_by_class(clips: Iterable[Clip]) -> dict[str, list[str]]:
    """class -> its phrase texts, one entry per occurrence, in corpus order."""
    out: dict[str, list[str]] = {}
    for clip in clips:
        for phrase, cls in zip(clip.phrases, clip.extra.get("phrase_classes") or []):
            if cls is not None:
                out.setdefault(cls, []).append(phrase.text)
    return out


def class_similarity(texts_by_class: Mapping[str, Sequence[str]],
                     embed: Callable[[Sequence[str]], np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Class names and the cosine similarity of their occurrence-weighted phrase centroids."""
    names = sorted(texts_by_class)
    distinct = sorted({t for ts in texts_by_class.values() for t in ts})
    vec = dict(zip(distinct, embed(distinct)))
    cent = np.stack([np.mean([vec[t] for t in texts_by_class[c]], axis=0) for c in names])
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    return names, cent @ cent.T


def _rng(pid: str, tag: str) -> np.random.Generator:
    # Stable across runs (hash() is salted per process).
    return stable_rng(pid, tag)


def close_far_queries(clips: Sequence[Clip], names: Sequence[str], sim: np.ndarray,
                      texts_by_class: Mapping[str, Sequence[str]]) -> dict[str, dict[str, dict[str, Any]]]:
    """For each classed pair, a wrong query from the absent class closest to its class, and one from a far class.

    "close": the absent class of highest centroid similarity; "far": drawn among the absent
    classes below the median similarity. The phrase text is drawn among that class's
    occurrences. Each entry: ``{"text", "class", "sim"}``. Deterministic per pair id.
    """
    index = {c: i for i, c in enumerate(names)}
    classes = pair_classes(clips)
    out: dict[str, dict[str, dict[str, Any]]] = {"close": {}, "far": {}}
    for pid, clip, _ in evaluation_pairs(clips):
        cls = classes[pid]
        present = set(clip.extra.get("classes_present") or ())
        absent = [c for c in names if c not in present and c != cls and texts_by_class.get(c)]
        if cls not in index or not absent:
            continue
        s = np.array([sim[index[cls], index[c]] for c in absent])
        far_pool = [c for c, v in zip(absent, s) if v < np.median(s)] or absent
        rng = _rng(pid, "far")
        chosen = {"close": absent[int(np.argmax(s))], "far": far_pool[int(rng.integers(len(far_pool)))]}
        for kind, c in chosen.items():
            texts = texts_by_class[c]
            out[kind][pid] = {"text": texts[int(_rng(pid, kind).integers(len(texts)))], "class": c,
                              "sim": float(sim[index[cls], index[c]])}
    return out


def query_texts(clips: Sequence[Clip]) -> dict[str, str]:
    """pair id -> the pair's own phrase text: the fallback of a query set that leaves a pair out."""
    return {pid: clip.phrases[i].text for pid, clip, i in evaluation_pairs(clips)}


# --------------------------------------------------------------------------- one model

def score_query_sets(model: Any, vocab: Any, clips: Sequence[Clip], features: Mapping[str, np.ndarray],
                     queries: Mapping[str, Mapping[str, str] | None],
                     progress: Callable | None = None) -> dict[str, dict[str, np.ndarray]]:
    """query set -> pair id -> (T,) scores, from ONE ``score_pairs`` pass.

    Each clip's phrases are repeated once per query set and every copy is given that set's
    text (``queries``; None: the pair's own phrase), so each clip's audio is encoded once
    for all sets instead of once per set (scoring, not the metrics, dominates the run).
    """
    names = list(queries)
    stacked, texts, back = [], {}, {}
    for clip in clips:
        n = len(clip.phrases)
        stacked.append(replace(clip, phrases=clip.phrases * len(names)))
        for pid, _, i in evaluation_pairs([clip]):
            for k, name in enumerate(names):
                sid = pair_id(clip.audio_id, k * n + i)
                q = queries[name]
                texts[sid] = clip.phrases[i].text if q is None else q[pid]
                back[sid] = (name, pid)
    scored = score_pairs(model, vocab, stacked, features, queries=texts, progress=progress)
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for sid, (name, pid) in back.items():
        out[name][pid] = scored[sid]
    return out


def score_model(model_dir: Path, clips: Sequence[Clip], folder: Path, queries: Mapping[str, Mapping[str, str] | None],
                progress: Callable | None = None) -> tuple[dict, FrameGrid, dict[str, dict[str, np.ndarray]]]:
    """(config, grid, query set -> pair scores), through the evaluation's feature cache and ``score_pairs``."""
    model, vocab, config = load_model(model_dir)
    front_end = model.front_end
    feats = FeatureStore(build_feature_cache(folder / "audio", [c.audio_id for c in clips], folder / CACHE_NAME,
                                             progress=progress, front_end=front_end), front_end)
    return config, front_end.grid, score_query_sets(model, vocab, clips, feats, queries, progress)


def _psds_pct(clips: Sequence[Clip], scores: Scores, grid: FrameGrid) -> float:
    return round(100.0 * psds(build_pair_inputs(clips, scores, grid=grid)), 1)


def _group_of(cls: str | None) -> str:
    return next((g for g, members in CLASS_GROUPS.items() if cls in members), "other")


def close_far_summary(scores: Mapping[str, Scores], labels: Labels, clip_p: Mapping[str, Mapping[str, float]],
                      chosen: Mapping[str, Mapping[str, dict]], classes: Mapping[str, str | None]) -> dict[str, Any]:
    """Right, close-wrong and far-wrong query scores on the same pairs, overall and per class group."""
    ids_all = [p for p in chosen["close"] if p in chosen["far"]]
    out = {}
    for group in ("all", *CLASS_GROUPS, "other"):
        ids = ids_all if group == "all" else [p for p in ids_all if _group_of(classes[p]) == group]
        entry: dict[str, Any] = {"n_pairs": len(ids)}
        for kind in ("right", "close", "far"):
            entry[kind] = frame_levels(scores[kind], labels, ids)
            entry[kind]["clip_mean"] = float(np.mean([clip_p[kind][p] for p in ids])) if ids else float("nan")
            if kind != "right":
                entry[kind]["sim_mean"] = float(np.mean([chosen[kind][p]["sim"] for p in ids])) if ids else float("nan")
        entry["close_minus_far_clip"] = entry["close"]["clip_mean"] - entry["far"]["clip_mean"]
        out[group] = entry
    return out


def diagnose_model(model_dir: Path, clips: Sequence[Clip], folder: Path, queries: Mapping[str, Mapping[str, str]],
                   chosen: Mapping[str, Mapping[str, dict]], progress: Callable | None = None) -> dict[str, Any]:
    """Every figure of the diagnosis for one model folder."""
    config, grid, scores = score_model(model_dir, clips, folder, queries, progress)
    inputs = build_pair_inputs(clips, scores["right"], grid=grid)
    labels = frame_labels(inputs, grid)
    classes = pair_classes(clips)
    pooling = config.get("experiment", {}).get("training", {}).get("audio_pooling", "linear_softmax")
    clip_p = {k: clip_probabilities(s, pooling) for k, s in scores.items()}
    wrong = scores["wrong"]
    return {
        "model": str(model_dir), "name": Path(model_dir).name, "audio_pooling": pooling,
        "psds_whole": _psds_pct(clips, scores["right"], grid),
        "psds_whole_wrong_query": _psds_pct(clips, wrong, grid),
        "psds_whole_close_query": _psds_pct(clips, {p: scores["close" if p in chosen["close"] else "wrong"][p]
                                                    for p in scores["right"]}, grid),
        "auc": auc_decomposition(scores["right"], labels),
        "wrong_query_auc": auc_decomposition(wrong, labels),
        "offsets": offset_statistics(scores["right"], labels, classes),
        "frames": {"right": frame_levels(scores["right"], labels), "wrong": frame_levels(wrong, labels)},
        "clip": present_vs_absent(clip_p["right"], clip_p["wrong"]),
        "close_far": close_far_summary(scores, labels, clip_p, chosen, classes),
    }


def frame_diagnosis(model_dirs: Sequence[Path], data_dir: Path, split: str = "test",
                    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
                    progress: Callable | None = None, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Diagnose every model folder on one corpus split; ``embed`` defaults to Sentence-BERT."""
    folder = Path(data_dir) / split
    if not (folder / LABELS).is_file():
        raise ConfigError(f"{data_dir}: no {split}/labels.json (strong labels) to diagnose against")
    clips = read_v2(folder / LABELS, require_segments=True)
    by_class = phrases_by_class(clips)
    if not by_class:
        raise ConfigError(f"{data_dir}: {split} names no phrase classes (phrase_classes): the close/far "
                          f"queries need the embedded benchmark")
    if embed is None:
        from wstag.text.sbert import sbert_embedder

        embed = sbert_embedder()
    names, sim = class_similarity(by_class, embed)
    chosen = close_far_queries(clips, names, sim, by_class)
    own = query_texts(clips)
    wrong = {pid: p.text for pid, p in wrong_query_phrases(clips).items()}
    queries: dict[str, Mapping[str, str] | None] = {"right": None, "wrong": wrong}
    for kind in ("close", "far"):
        queries[kind] = {p: chosen[kind][p]["text"] if p in chosen[kind] else own[p] for p in own}
    models = []
    for d in model_dirs:
        log(f"diagnosing {d}")
        models.append(diagnose_model(Path(d), clips, folder, queries, chosen, progress))
    return _plain({"data": str(data_dir), "split": split, "n_pairs": len(own), "class_groups": CLASS_GROUPS,
                   "n_close_far_pairs": len(chosen["close"]), "models": models})


def _plain(x: Any) -> Any:
    """NaN -> None throughout, so the JSON file is strict JSON (an undefined figure reads null)."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


# --------------------------------------------------------------------------- markdown

def format_value(x: float | None, digits: int = 3) -> str:
    """A table cell of the studies: the figure to ``digits``, "-" for none or NaN."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


_f = format_value


def format_frame_diagnosis(d: dict) -> str:
    """The tables of FILE_STEM.md: one row per model each."""
    lines = [
        "# Frame diagnosis: localisation within a clip vs calibration across queries",
        "",
        f"Corpus `{d['data']}` ({d['split']} split), {d['n_pairs']} (clip, phrase) pairs; frame scores from "
        "`score_pairs` (the evaluation's path). Within: mean frame ROC AUC inside pairs with event and non-event "
        "frames. Pooled: one frame ROC AUC over all frames of all pairs (what one PSDS threshold sees). "
        "Pooled = w * within (couples weighted) + (1 - w) * cross, w the share of (event, non-event) frame couples "
        "from the same pair. Offset-removed: pooled AUC over the pairs with both kinds of frames after "
        "subtracting each pair's median non-event score (oracle offset); recovered: the part of that subset's "
        "gap it closes. Whole-clip events: AUC of the frames of pairs whose event spans the whole clip against "
        "every non-event frame. Class share: the part of the per-pair offsets' variance that the query's class "
        "explains.",
        "",
        "## 1. Frame AUCs and their decomposition",
        "",
        "| model | PSDS whole | within AUC | pooled AUC | gap | w (same-pair couples) | cross AUC | pooled (both) "
        "| offset-removed | recovered | pooled - median | rank-normalised | whole-clip events | offset std "
        "| class share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in d["models"]:
        a, o = m["auc"], m["offsets"]
        lines.append(f"| {m['name']} | {m['psds_whole']:.1f} | {_f(a['within_mean'])} | {_f(a['pooled'])} "
                     f"| {_f(a['gap'])} | {_f(a['same_pair_couple_share'], 4)} | {_f(a['cross'])} "
                     f"| {_f(a['pooled_both'])} "
                     f"| {_f(a['pooled_minus_nonevent_median'])} | {_f(a['recovered_share'], 2)} "
                     f"| {_f(a['pooled_minus_median'])} | {_f(a['pooled_rank_normalised'])} "
                     f"| {_f(a['whole_clip_vs_nonevent'])} "
                     f"| {_f(o['offset_std'])} "
                     f"| {_f(o['class_share'], 2)} |")
    a0 = d["models"][0]["auc"] if d["models"] else None
    if a0:
        lines += ["", f"{a0['n_pairs']} pairs: {a0['n_pairs_both']} with event and non-event frames, "
                      f"{a0['n_pairs_all_event']} event over the whole clip; event frames "
                      f"{100 * a0['event_frame_share']:.1f}% of all."]
    lines += [
        "",
        "## 2. Score levels and controls",
        "",
        "Frame scores of the pair's own phrase (right) and of SPEC 3's wrong query (a phrase of a class absent from "
        "the clip), event frames being the true pair's. Clip: the frame scores pooled with the model's training "
        "pooling; AUC separates present (own phrase) from absent (wrong query).",
        "",
        "| model | PSDS wrong | PSDS close-wrong | right: event / non-event mean | right mean / p90 | wrong mean / p90 "
        "| wrong on event frames | wrong within AUC | clip present mean (p10-p90) | clip absent mean (p10-p90) "
        "| clip AUC |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in d["models"]:
        r, w, c = m["frames"]["right"], m["frames"]["wrong"], m["clip"]
        pr, ab = c["present"], c["absent"]
        lines.append(
            f"| {m['name']} | {m['psds_whole_wrong_query']:.1f} | {m['psds_whole_close_query']:.1f} "
            f"| {_f(r['event_mean'])} / {_f(r['nonevent_mean'])} | {_f(r['mean'])} / {_f(r['p90'])} "
            f"| {_f(w['mean'])} / {_f(w['p90'])} | {_f(w['event_mean'])} | {_f(m['wrong_query_auc']['within_mean'])} "
            f"| {_f(pr['mean'])} ({_f(pr['p10'], 2)}-{_f(pr['p90'], 2)}) "
            f"| {_f(ab['mean'])} ({_f(ab['p10'], 2)}-{_f(ab['p90'], 2)}) | {_f(c['auc'])} |")
    groups = ("all", *d["class_groups"], "other")
    lines += [
        "",
        "## 3. Wrong queries from a close vs a far class",
        "",
        f"{d['n_close_far_pairs']} pairs with a known class. Close: the absent class nearest the pair's class "
        "(Sentence-BERT class centroids); far: one below the median similarity. Mean clip-level probability "
        "right / close / far (close - far); n pairs and mean centroid similarity of the close class in the header.",
        "",
        "| model | " + " | ".join(groups) + " |",
        "|---|" + "---|" * len(groups),
    ]
    if d["models"]:
        cf = d["models"][0]["close_far"]
        lines.append("| (n, close sim) | " + " | ".join(
            f"{cf[g]['n_pairs']}, {_f(cf[g]['close']['sim_mean'], 2)}" for g in groups) + " |")
    for m in d["models"]:
        cf = m["close_far"]
        lines.append(f"| {m['name']} | " + " | ".join(
            f"{_f(cf[g]['right']['clip_mean'], 2)} / {_f(cf[g]['close']['clip_mean'], 2)} / "
            f"{_f(cf[g]['far']['clip_mean'], 2)} ({cf[g]['close_minus_far_clip']:+.2f})"
            if cf[g]["n_pairs"] else "-" for g in groups) + " |")
    return "\n".join(lines) + "\n"
