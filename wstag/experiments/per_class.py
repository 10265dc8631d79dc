"""Which sounds a model still misses: grounding per sound class and per loudness (issue 24).

For each test pair of the embedded benchmark (its class known from ``labels.json``):

- *within AUC*: the frame ROC AUC of the pair's own scores inside its clip (event frames
  against the rest): does the model find *when* the sound is;
- *clip AUC* (per class): the pair's clip probability (its pooling) against the clip
  probability of SPEC 3's wrong query on the same clip: does it tell *whether* the sound
  is there, whatever the level;
- *event-to-rest ratio*: the mean log-mel energy (dB) of the event frames minus that of the
  clip's other frames, measured on the features: the event's loudness against what it
  is mixed with. Pairs whose event fills the clip have none.

Everything comes from one scoring pass of the evaluation's path (``score_pairs``).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from wstag.data.audiogrounding import read_v2
from wstag.data.corpus import Corpus
from wstag.data.feature_cache import CACHE_NAME, FeatureStore
from wstag.errors import ConfigError
from wstag.evaluation.controls import wrong_query_phrases
from wstag.evaluation.pairs import build_pair_inputs
from wstag.experiments.frame_diagnosis import (
    clip_probabilities, frame_labels, has_both, pair_classes, score_model,
)
from wstag.experiments.frame_diagnosis import format_value as _f
from wstag.records import Clip

#: event-to-rest ratio bins (dB): (label, low, high)
RATIO_BINS = (("< 0 dB", -math.inf, 0.0), ("0-5 dB", 0.0, 5.0), ("5-10 dB", 5.0, 10.0), ("> 10 dB", 10.0, math.inf))


def event_to_rest_db(feats: np.ndarray, event: np.ndarray, downsample: int) -> float:
    """Mean frame energy (dB, mean over mel bands) of the event frames minus the rest's; nan without both."""
    energy = feats.mean(axis=1)  # (T_feat,) dB
    n = len(event)
    frames = energy[: n * downsample].reshape(n, downsample).mean(axis=1) if len(energy) >= n * downsample \
        else np.resize(energy, n)
    if not has_both(event):
        return math.nan
    return float(frames[event].mean() - frames[~event].mean())


def _auc(y: Sequence[bool], s: Sequence[float]) -> float:
    y = np.asarray(y, dtype=bool)
    return float(roc_auc_score(y, np.asarray(s))) if 0 < y.sum() < len(y) else math.nan


def pair_table(model_dir: Path, clips: Sequence[Clip], folder: Path, progress: Callable | None = None) -> list[dict]:
    """One row per test pair: class, within AUC, clip probabilities of the own and the wrong query, ratio."""
    wrong = {pid: p.text for pid, p in wrong_query_phrases(clips).items()}
    config, grid, scored = score_model(model_dir, clips, folder, {"right": None, "wrong": wrong}, progress)
    right = scored["right"]
    inputs = build_pair_inputs(clips, right, grid=grid)
    labels = frame_labels(inputs, grid)
    pooling = config["experiment"]["training"]["audio_pooling"]
    clip_right = clip_probabilities(right, pooling)
    clip_wrong = clip_probabilities(scored["wrong"], pooling)
    classes = pair_classes(clips)
    store = FeatureStore(folder / CACHE_NAME, None)
    rows = []
    for pid, scores in right.items():
        event = labels[pid]
        feats = store[pid.rsplit("#", 1)[0]]
        rows.append({
            "pair": pid, "class": classes.get(pid),
            "within_auc": _auc(event, scores) if has_both(event) else math.nan,
            "clip_right": clip_right[pid], "clip_wrong": clip_wrong.get(pid, math.nan),
            "ratio_db": event_to_rest_db(feats, event, grid.time_downsample),
            "event_share": float(event.mean()), "short": pid in inputs.short_ids,
        })
    return rows


def summarise(rows: Sequence[dict], key: Callable[[dict], Any]) -> dict[Any, dict[str, float]]:
    """Per group: pairs, mean within AUC (pairs with both kinds of frames), clip AUC own vs wrong query."""
    groups: dict[Any, list[dict]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    out = {}
    for name, rs in groups.items():
        within = [r["within_auc"] for r in rs if not math.isnan(r["within_auc"])]
        pairs = [(r["clip_right"], r["clip_wrong"]) for r in rs if not math.isnan(r["clip_wrong"])]
        y = [True] * len(pairs) + [False] * len(pairs)
        s = [a for a, _ in pairs] + [b for _, b in pairs]
        out[name] = {"pairs": len(rs), "within_auc": statistics.fmean(within) if within else math.nan,
                     "clip_auc": _auc(y, s) if pairs else math.nan,
                     "clip_right": statistics.fmean(a for a, _ in pairs) if pairs else math.nan}
    return out


SHORT, LONG = "short (under half the clip)", "long"  # duration bins


def duration_bin(r: dict) -> str:
    """Paper V-D's split: the pair's segments together under half the clip, or not."""
    return SHORT if r["short"] else LONG


def ratio_bin(r: dict) -> str:
    if math.isnan(r["ratio_db"]):
        return "whole clip"
    return next(label for label, lo, hi in RATIO_BINS if lo <= r["ratio_db"] < hi)


def per_class_study(model_dirs: Sequence[Path], data_dir: Path, split: str = "test",
                    progress: Callable | None = None) -> dict[str, Any]:
    corpus = Corpus(data_dir)
    if not corpus.labels(split).is_file():
        raise ConfigError(f"{data_dir}: no {split} strong labels to study")
    clips = read_v2(corpus.labels(split), require_segments=True)
    if not any(pair_classes(clips).values()):
        raise ConfigError(f"{data_dir}: the {split} labels name no phrase classes (the embedded benchmark has them)")
    out = {}
    for d in model_dirs:
        rows = pair_table(Path(d), clips, corpus.split(split), progress)
        out[Path(d).name] = {"classes": summarise(rows, lambda r: r["class"]),
                             "loudness": summarise(rows, ratio_bin), "duration": summarise(rows, duration_bin),
                             "pairs": rows}
    return out


def study_summary(name: str, s: Mapping[str, Any], below: float = 0.6) -> str:
    """One sentence of what a model still misses: the classes it localises worst, quiet vs loud, short vs long."""
    classes = sorted(((c, v) for c, v in s["classes"].items() if not math.isnan(v["within_auc"])),
                     key=lambda kv: kv[1]["within_auc"])
    missed = [f"{c} {v['within_auc']:.2f}" for c, v in classes if v["within_auc"] < below]
    loud = s["loudness"]
    quiet_bin, loud_bin = RATIO_BINS[0][0], RATIO_BINS[-1][0]
    text = (f"{name}: {len(missed)} of {len(classes)} classes localised below a within AUC of {below} "
            f"({', '.join(missed) or 'none'}); within AUC {_f(loud.get(quiet_bin, {}).get('within_auc'), 2)} for "
            f"events quieter than the rest of the clip ({quiet_bin}) against "
            f"{_f(loud.get(loud_bin, {}).get('within_auc'), 2)} above 10 dB")
    if "duration" in s:
        d = s["duration"]
        text += (f"; {_f(d.get(SHORT, {}).get('within_auc'), 2)} for short events against "
                 f"{_f(d.get(LONG, {}).get('within_auc'), 2)} for long ones")
    return text + "."


def format_study(study: Mapping[str, Any], worst: int | None = None, level: int = 1) -> str:
    """The study as markdown tables (``worst``: only that many worst-localised classes per model)."""
    h = "#" * level
    parts = [f"{h} Grounding per sound class and per loudness\n",
             "Within AUC: frame ROC AUC of a pair's own scores inside its clip (event frames against the rest); "
             "clip AUC: the pair's clip probability against SPEC 3's wrong query on the same clip; event-to-rest "
             "ratio: mean log-mel energy of the event frames minus the rest's (dB).\n"]
    for name, s in study.items():
        classes = sorted(s["classes"].items(), key=lambda kv: (math.isnan(kv[1]["within_auc"]), kv[1]["within_auc"]))
        shown = f"the {worst} worst localised" if worst and worst < len(classes) else "worst localised first"
        classes = classes[:worst] if worst else classes
        parts.append(f"{h}# {name}: per class, {shown}\n")
        parts.append("| class | pairs | within AUC | clip AUC | clip probability (own) |\n|---|---|---|---|---|")
        parts += [f"| {c} | {v['pairs']} | {_f(v['within_auc'])} | {_f(v['clip_auc'])} | {_f(v['clip_right'])} |"
                  for c, v in classes]
        parts.append(f"\n{h}# {name}: per event-to-rest ratio\n")
        parts.append("| ratio | pairs | within AUC | clip AUC | clip probability (own) |\n|---|---|---|---|---|")
        order = [label for label, _, _ in RATIO_BINS] + ["whole clip"]
        parts += [f"| {b} | {s['loudness'][b]['pairs']} | {_f(s['loudness'][b]['within_auc'])} | "
                  f"{_f(s['loudness'][b]['clip_auc'])} | {_f(s['loudness'][b]['clip_right'])} |"
                  for b in order if b in s["loudness"]]
        if "duration" in s:
            parts.append(f"\n{h}# {name}: per event duration\n")
            parts.append("| duration | pairs | within AUC | clip AUC | clip probability (own) |\n|---|---|---|---|---|")
            parts += [f"| {b} | {v['pairs']} | {_f(v['within_auc'])} | {_f(v['clip_auc'])} | {_f(v['clip_right'])} |"
                      for b, v in sorted(s["duration"].items(), reverse=True)]
        parts.append("")
    return "\n".join(parts)
