"""Recordings or scenes: does a model ground the sounds it heard in new scenes, and how much of
that carries to recordings it never heard?

The embedded benchmark's test clips mix recordings from source groups no training clip uses
(one per class, SPEC). A model that grounds its training clips well but test clips poorly has
either learnt the training *scenes* (these mixtures, their captions) or the training
*recordings* (these dogs, this rain) without the classes. A corpus whose test clips are new
scenes of the training recordings (``wstag data build --recordings-from train``) tells the two
apart: the same frame diagnosis on three sets,

- the training clips themselves (scenes and recordings heard),
- new scenes of the training recordings (recordings heard, scenes not),
- the ordinary test split (neither),

so the drop from the first to the second is what the model memorised of its scenes, and the
drop from the second to the third is what it did not learn about the classes beyond their
recordings.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from wstag.data.corpus import Corpus
from wstag.errors import ConfigError
from wstag.experiments.frame_diagnosis import frame_diagnosis

#: (key, what it is) of the three sets, in the order the drops are read.
SETS = (
    ("training_clips", "the training clips (scenes and recordings heard)"),
    ("new_scenes", "new scenes of the training recordings (recordings heard, scenes not)"),
    ("new_recordings", "the test split (recordings never heard)"),
)
#: (key in a summary, label) of the figures compared across the sets.
FIGURES = (
    ("psds_whole", "PSDS whole"),
    ("specificity", "specificity"),
    ("clip_auc", "clip AUC, own vs wrong query"),
    ("within_auc", "within-clip frame AUC"),
)


def check_corpora(data_dir: Path, seen_dir: Path) -> tuple[dict, dict]:
    """The two corpus.json: ``seen_dir`` must be ``data_dir``'s preset, seed and sound bank with
    ``--recordings-from train``, or its test clips are not new scenes of *these* training recordings."""
    info, seen = Corpus(data_dir).info(), Corpus(seen_dir).info()
    for folder, i in ((data_dir, info), (seen_dir, seen)):
        if i is None:
            raise ConfigError(f"{folder}: no corpus.json (a corpus from `wstag data build` is needed)")
    if seen.get("recordings_from") != "train":
        raise ConfigError(f"{seen_dir}: not built with --recordings-from train, so its test clips are not "
                          "scenes of the training recordings")
    mismatched = [k for k in ("preset", "seed", "bank_hash") if info.get(k) != seen.get(k)]
    if mismatched:
        raise ConfigError(f"{seen_dir} differs from {data_dir} in {', '.join(mismatched)}: build it with "
                          f"`wstag data build --preset {info.get('preset')} --seed {info.get('seed')} "
                          "--recordings-from train` from the same sound bank")
    return info, seen


def model_figures(diagnosis: dict[str, Any]) -> dict[str, float]:
    """The compared figures of one model's frame diagnosis."""
    return {
        "psds_whole": diagnosis["psds_whole"],
        "specificity": diagnosis["psds_whole"] - diagnosis["psds_whole_wrong_query"],
        "clip_auc": diagnosis["clip"]["auc"],
        "within_auc": diagnosis["auc"]["within_mean"],
    }


def recipe_of(name: str) -> str:
    """``learn_base-seed2`` -> ``learn_base``: the models of one recipe are averaged over seeds."""
    return name.rsplit("-seed", 1)[0]


def summarise(per_model: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """recipe -> set -> figure -> {mean, sd, n} over the recipe's seeds."""
    recipes: dict[str, list[str]] = {}
    for name in per_model:
        recipes.setdefault(recipe_of(name), []).append(name)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for recipe, names in recipes.items():
        out[recipe] = {}
        for key, _ in SETS:
            out[recipe][key] = {}
            for fig, _ in FIGURES:
                values = [per_model[n][key][fig] for n in names if not np.isnan(per_model[n][key][fig])]
                out[recipe][key][fig] = {
                    "mean": statistics.fmean(values) if values else float("nan"),
                    "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "n": len(values),
                }
    return out


def seen_recordings(model_dirs: Sequence[Path], data_dir: Path, seen_dir: Path,
                    embed: Callable | None = None, progress: Callable | None = None,
                    log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """The frame diagnosis of every model on the three sets, and the means per recipe."""
    info, seen = check_corpora(Path(data_dir), Path(seen_dir))
    where = {"training_clips": (data_dir, "train"), "new_scenes": (seen_dir, "test"), "new_recordings": (data_dir, "test")}
    per_model: dict[str, dict[str, dict[str, float]]] = {}
    pairs: dict[str, int] = {}
    for key, label in SETS:
        folder, split = where[key]
        log(f"{label}: {folder} {split}")
        result = frame_diagnosis(model_dirs, Path(folder), split, embed=embed, progress=progress, log=log)
        pairs[key] = result["n_pairs"]
        for d in result["models"]:
            per_model.setdefault(d["name"], {})[key] = model_figures(d)
    return {
        "data": str(data_dir), "seen": str(seen_dir),
        "corpus_hash": info.get("content_hash"), "seen_corpus_hash": seen.get("content_hash"),
        "sets": {key: {"label": label, "folder": str(where[key][0]), "split": where[key][1], "n_pairs": pairs[key]}
                 for key, label in SETS},
        "models": per_model,
        "recipes": summarise(per_model),
    }


def _cell(v: dict[str, Any], digits: int) -> str:
    if v["n"] == 0:
        return "-"
    return f"{v['mean']:.{digits}f}" + (f" ± {v['sd']:.{digits}f}" if v["n"] > 1 else "")


def format_seen_recordings(result: dict[str, Any]) -> str:
    """Markdown: per recipe, each figure on the three sets (mean ± sd over seeds), then per model."""
    sets = result["sets"]
    lines = [
        "# Recordings or scenes: the same models on clips they trained on, on new scenes of the "
        "training recordings, and on recordings never heard\n",
        f"Training and test clips: `{result['data']}` (corpus `{result['corpus_hash']}`); new scenes: the test "
        f"split of `{result['seen']}` (corpus `{result['seen_corpus_hash']}`, built with `--recordings-from "
        "train`). Pairs: " + ", ".join(f"{sets[k]['n_pairs']} ({label})" for k, label in SETS) + ".\n",
        "PSDS whole and specificity (PSDS whole minus the wrong-query PSDS) in percent; clip AUC: the clip "
        "probability of a pair's own phrase against a wrong query's on the same clip; within-clip frame AUC: "
        "event against non-event frames of a pair, averaged over pairs (`wstag experiments frame-diagnosis`).\n",
    ]
    header = "| recipe | figure | " + " | ".join(label for _, label in SETS) + " |"
    lines += [header, "|---|---|" + "---|" * len(SETS)]
    for recipe, by_set in result["recipes"].items():
        for fig, label in FIGURES:
            digits = 1 if fig in ("psds_whole", "specificity") else 3
            n = by_set[SETS[0][0]][fig]["n"]
            lines.append(f"| {recipe} ({n} seed{'s' * (n != 1)}) | {label} | "
                         + " | ".join(_cell(by_set[k][fig], digits) for k, _ in SETS) + " |")
    lines += ["", "Per model (PSDS whole / specificity / clip AUC / within-clip AUC):", "",
              "| model | " + " | ".join(label for _, label in SETS) + " |", "|---|" + "---|" * len(SETS)]
    for name, by_set in result["models"].items():
        lines.append(f"| {name} | " + " | ".join(
            f"{by_set[k]['psds_whole']:.1f} / {by_set[k]['specificity']:.1f} / {by_set[k]['clip_auc']:.3f} / "
            f"{by_set[k]['within_auc']:.3f}" for k, _ in SETS) + " |")
    return "\n".join(lines) + "\n"
