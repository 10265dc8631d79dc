"""Which classes an unheard recording leaves: how far each class's test recordings sound from its
training recordings, beside how well a model grounds that class (issue 24).

`seen-recordings` measured that a model grounds new scenes of the recordings it heard nearly as
well as its training clips, and recordings it never heard far worse; augmenting the training
takes in pitch and colour did not help (`learn_recaug`, `learn_takes`). This study asks the data,
with no model: describe every bank recording by the statistics of its log-mel over its active
span (the mean and the standard deviation of each mel band, after removing the recording's
overall level), standardise each of the 128 numbers over the bank, and place each test
recording among the 47 (or 89) centroids of the classes' *training* recordings by cosine
similarity. Its class's **rank** (0: its own training recordings are the nearest class) and its
**margin** (cosine to its own centroid minus the best other class's) say how far the test
take strays from what training heard. Per class, these are set beside a model's per-class
grounding (`wstag experiments per-class`): if the classes whose test recordings stray are the
classes the model misses, the gap is the recordings' shift, which no training recipe on the
same recordings removes, and more recordings of those classes are what would.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy.stats import spearmanr

from wstag.audio.features import log_mel_numpy
from wstag.audio.io import load_audio
from wstag.data.corpus import Corpus
from wstag.errors import ConfigError
from wstag.experiments.frame_diagnosis import format_value as _f
from wstag.scapes.bank import SAMPLE_RATE, Recording, SoundBank, load_bank

#: per-class metrics of `wstag experiments per-class` that the shift is set beside
METRICS = ("clip_auc", "within_auc")
#: a per-class AUC over fewer test pairs than this is mostly noise (the world preset's long tail has
#: classes with 1-3): correlations are given over every class and over the classes with at least this many
MIN_PAIRS = 10
MIN_SECONDS = 0.1  # an active span shorter than this is padded with silence (a click still has a spectrum)


def describe(audio: np.ndarray) -> np.ndarray:
    """Level-free log-mel statistics of one waveform: each band's mean and standard deviation
    over time, after subtracting the whole log-mel's mean (a louder take is the same take)."""
    mel = log_mel_numpy(audio)
    mel = mel - mel.mean()
    return np.concatenate([mel.mean(axis=0), mel.std(axis=0)])


def recording_descriptors(bank: SoundBank, splits: tuple[str, ...] = ("train", "test"),
                          progress: Callable | None = None) -> tuple[list[Recording], np.ndarray]:
    """The bank's recordings of ``splits`` and their descriptors, standardised over them."""
    recordings = [r for r in bank.recordings if r.split in splits]
    wrap = progress or (lambda it, **kw: it)
    rows = []
    for rec in wrap(recordings, total=len(recordings), desc="describing recordings"):
        audio = load_audio(bank.root / rec.path, SAMPLE_RATE)
        active = audio[int(rec.active_onset * SAMPLE_RATE): int(rec.active_offset * SAMPLE_RATE)]
        rows.append(describe(np.pad(active, (0, max(0, int(MIN_SECONDS * SAMPLE_RATE) - len(active))))))
    x = np.stack(rows)
    return recordings, (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-8)


def class_shift(recordings: list[Recording], x: np.ndarray) -> dict[str, dict[str, float]]:
    """Per class: its test recordings' mean rank of their own class among the training centroids
    (0 = nearest) and mean cosine margin over the nearest other class."""
    classes = sorted({r.class_name for r in recordings if r.split == "train"})
    centroids = np.stack([x[[i for i, r in enumerate(recordings) if r.split == "train" and r.class_name == c]]
                          .mean(axis=0) for c in classes])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    found: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, rec in enumerate(recordings):
        if rec.split != "test" or rec.class_name not in classes:
            continue
        sims = centroids @ (x[i] / np.linalg.norm(x[i]))
        own = classes.index(rec.class_name)
        found[rec.class_name].append((int((sims > sims[own]).sum()), float(sims[own] - np.delete(sims, own).max())))
    return {c: {"test_recordings": len(v), "rank": float(np.mean([r for r, _ in v])),
                "margin": float(np.mean([m for _, m in v])), "nearest_share": float(np.mean([r == 0 for r, _ in v]))}
            for c, v in sorted(found.items())}


def correlations(shift: Mapping[str, Mapping[str, float]], per_class: Mapping[str, Mapping[str, Any]],
                 min_pairs: int = 1) -> dict:
    """Spearman's rho (and p) between each shift measure and each per-class grounding metric, over
    the classes with at least ``min_pairs`` test pairs."""
    out = {}
    for metric in METRICS:
        classes = [c for c in shift if c in per_class and not math.isnan(per_class[c].get(metric, math.nan))
                   and per_class[c].get("pairs", min_pairs) >= min_pairs]
        y = [per_class[c][metric] for c in classes]
        for measure in ("rank", "margin"):
            if len(classes) < 3:
                out[f"{measure}~{metric}"] = {"rho": None, "p": None, "classes": len(classes)}
                continue
            rho, p = spearmanr([shift[c][measure] for c in classes], y)
            out[f"{measure}~{metric}"] = {"rho": round(float(rho), 3), "p": float(p), "classes": len(classes)}
    return out


def read_per_class(files: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """Each model's per-class grounding from `wstag experiments per-class` JSON files; with several
    files (one model on two corpora: its test split and new scenes of its training recordings) each
    key is "MODEL, FILE STEM"."""
    out = {}
    for path in files:
        try:
            models = json.loads(Path(path).read_text(encoding="utf-8"))
            for name, s in models.items():
                out[name if len(files) == 1 else f"{name}, {Path(path).stem}"] = s["classes"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not the JSON of `wstag experiments per-class` ({exc})") from None
    return out


def recording_shift_study(data_dir: Path, per_class_files: Sequence[Path], cache: Path | None = None,
                          progress: Callable | None = None) -> dict[str, Any]:
    """The shift of every class of the corpus's bank, and its correlation with each model's grounding
    in ``per_class_files`` (JSON of `wstag experiments per-class`)."""
    from wstag.scapes.build import preset_table
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.fetch import default_cache_dir

    info = Corpus(data_dir).info()
    if info is None or "bank_hash" not in info or "preset" not in info:
        raise ConfigError(f"{data_dir}: not a corpus from `wstag data build` (no corpus.json with preset and bank_hash)")
    bank = load_bank(Path(cache) if cache else default_cache_dir(), load_class_table(name=preset_table(info["preset"])))
    if bank.content_hash != info["bank_hash"]:
        raise ConfigError(f"{data_dir}: built from sound bank {info['bank_hash']}, but the cached bank is "
                          f"{bank.content_hash}; run `wstag data fetch` for this corpus's bank")
    per_model = read_per_class(per_class_files)
    recordings, x = recording_descriptors(bank, progress=progress)
    shift = class_shift(recordings, x)
    return {
        "data": str(data_dir), "corpus_hash": info.get("content_hash"), "bank_hash": bank.content_hash,
        "per_class_files": [str(f) for f in per_class_files],
        "nearest_share": float(np.mean([v["nearest_share"] for v in shift.values()])),  # a mean over classes
        "chance_share": 1 / len({r.class_name for r in recordings if r.split == "train"}),
        "classes": shift,
        "min_pairs": MIN_PAIRS,
        "models": {name: {"correlations": correlations(shift, classes),
                          "correlations_min_pairs": correlations(shift, classes, MIN_PAIRS),
                          "grounding": {c: {m: classes[c].get(m) for m in METRICS} for c in shift if c in classes}}
                   for name, classes in per_model.items()},
    }


def _p(p: float | None) -> str:
    return "-" if p is None else "p < 0.001" if p < 0.001 else f"p {p:.3f}"


def shift_summary(study: Mapping[str, Any]) -> list[str]:
    """One line per model: how the test recordings' stray from their training takes tracks its grounding."""
    lines = []
    for name, m in study["models"].items():
        c = m["correlations"]
        parts = [f"{metric.replace('_auc', ' AUC')} rho {_f(c[f'rank~{metric}']['rho'], 2)} "
                 f"({_p(c[f'rank~{metric}']['p'])}, {c[f'rank~{metric}']['classes']} classes)" for metric in METRICS]
        lines.append(f"{name}: the further a class's test recordings sound from its training recordings "
                     f"(their rank among the training centroids, no model), the worse it is grounded: "
                     + ", ".join(parts))
    return lines


def format_recording_shift(study: Mapping[str, Any]) -> str:
    parts = ["# How far each class's test recordings sound from its training recordings\n",
             f"Corpus `{study['data']}` (content hash `{study['corpus_hash']}`, sound bank `{study['bank_hash']}`); "
             "per-class grounding from "
             + ", ".join(f"`{f}`" for f in study["per_class_files"]) + ". Each test recording is described by its "
             "level-free log-mel band means and deviations and placed among the centroids of the classes' training "
             "recordings (cosine). Rank: how many other classes' training recordings are nearer than its own (0 = "
             "its own nearest); margin: cosine to its own centroid minus the nearest other. No model is involved.\n",
             f"Test recordings whose own class is the nearest, averaged over classes: "
             f"{100 * study['nearest_share']:.1f} % (chance {100 * study['chance_share']:.1f} %).\n"]
    for name, m in study["models"].items():
        parts.append(f"## Against {name}'s grounding (Spearman over classes)\n")
        parts.append("| classes | shift | grounding | rho | p | n |\n|---|---|---|---|---|---|")
        subsets = [("all", m["correlations"])]
        if "correlations_min_pairs" in m:
            subsets.append((f">= {study['min_pairs']} test pairs", m["correlations_min_pairs"]))
        parts += [f"| {label} | {k.split('~')[0]} | {k.split('~')[1]} | {_f(v['rho'], 2)} | {_f(v['p'])} | "
                  f"{v['classes']} |" for label, corr in subsets for k, v in corr.items()]
        parts.append("\nA negative rho for rank (a positive one for margin): the classes whose test recordings "
                     "stray furthest from their training recordings are those the model grounds worst.\n")
        parts.append(f"### {name}: per class, most strayed first\n")
        parts.append("| class | test recordings | rank | margin | clip AUC | within AUC |\n|---|---|---|---|---|---|")
        rows = sorted(study["classes"].items(), key=lambda kv: (-kv[1]["rank"], kv[1]["margin"]))
        parts += [f"| {c} | {v['test_recordings']} | {v['rank']:.1f} | {v['margin']:+.3f} | "
                  f"{_f(m['grounding'].get(c, {}).get('clip_auc'))} | {_f(m['grounding'].get(c, {}).get('within_auc'))} |"
                  for c, v in rows]
        parts.append("")
    return "\n".join(parts)
