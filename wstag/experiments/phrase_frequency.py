"""How often a phrase was seen in training, and what that does to grounding it (Table V's diagnosis).

An expressive text encoder (QGCA's word graph with cross-modal attention) learns each
phrase from the captions that use it. Under weak labels a phrase seen once is one clip's
bag of labels, so such an encoder has little to generalise from; the word-embedding mean
shares every word across phrases. Whether a benchmark exposes that depends on how often
its phrases repeat, which this module measures:

- *repetition*: occurrences per distinct training phrase, the share of distinct phrases
  used once, and the share of test phrase occurrences never seen in training;
- *per frequency bin*: each test pair binned by how many training captions use its exact
  phrase (tokenised), with the per-class study's within-clip frame AUC and clip AUC
  (own phrase against SPEC 3's wrong query) per bin, and each model's paired difference
  from the first model on the same pairs.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from scipy import stats

from wstag.data.audiogrounding import read_v1, read_v2, read_weak_v2
from wstag.data.corpus import Corpus
from wstag.errors import ConfigError
from wstag.evaluation.pairs import evaluation_pairs
from wstag.experiments.per_class import _f, pair_table, summarise
from wstag.records import Clip
from wstag.text.tokenize import tokenize

#: training uses of a test pair's exact phrase: (label, low, high), high exclusive
FREQUENCY_BINS = (("unseen", 0, 1), ("1-4", 1, 5), ("5-19", 5, 20), ("20+", 20, math.inf))


def phrase_key(text: str) -> str:
    """A phrase as the text encoder sees it: its tokens, so case and punctuation do not split it."""
    return " ".join(tokenize(text))


def phrase_counts(clips: Iterable[Clip]) -> Counter:
    """Tokenised phrase -> how many phrase occurrences of ``clips`` use it."""
    return Counter(phrase_key(p.text) for clip in clips for p in clip.phrases)


def repetition(train: Iterable[Clip], test: Iterable[Clip]) -> dict[str, float]:
    """How often a benchmark's phrases repeat: per distinct training phrase, and from training to test."""
    counts = phrase_counts(train)
    test_counts = phrase_counts(test)
    if not counts or not test_counts:
        raise ConfigError("phrase repetition needs phrases in both the training and the test labels")
    occurrences, distinct = sum(counts.values()), len(counts)
    test_total = sum(test_counts.values())
    return {
        "train_occurrences": occurrences, "train_distinct": distinct,
        "occurrences_per_distinct": occurrences / distinct,
        "singleton_share": sum(1 for n in counts.values() if n == 1) / distinct,
        "mean_words": statistics.fmean(len(k.split()) for k in counts),
        "test_occurrences": test_total,
        "test_unseen_share": sum(n for k, n in test_counts.items() if k not in counts) / test_total,
    }


def frequency_bin(count: int) -> str:
    return next(label for label, lo, hi in FREQUENCY_BINS if lo <= count < hi)


def pair_train_counts(test: Sequence[Clip], counts: Mapping[str, int]) -> dict[str, int]:
    """Evaluation pair id -> training uses of its phrase."""
    return {pid: counts.get(phrase_key(clip.phrases[i].text), 0) for pid, clip, i in evaluation_pairs(test)}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Mean of b - a over pairs where both are defined, with its 95 % t half-width."""
    d = [y - x for x, y in zip(a, b) if not (math.isnan(x) or math.isnan(y))]
    if len(d) < 2:
        return {"n": len(d), "mean": statistics.fmean(d) if d else math.nan, "half_width": math.nan}
    half = stats.t.ppf(0.975, len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
    return {"n": len(d), "mean": statistics.fmean(d), "half_width": float(half)}


def phrase_frequency_study(model_dirs: Sequence[Path], data_dir: Path, reference: Path | None = None,
                           progress: Callable | None = None) -> dict[str, Any]:
    """Repetition of the corpus (and of AudioGrounding v1 at ``reference``), and each model per frequency bin."""
    corpus = Corpus(data_dir)
    for path in (corpus.weak("train"), corpus.labels("test")):
        if not path.is_file():
            raise ConfigError(f"{data_dir}: {path.name} of its split is missing (`wstag data build`)")
    train = read_weak_v2(corpus.weak("train"))
    test = read_v2(corpus.labels("test"), require_segments=True)
    out: dict[str, Any] = {"repetition": {str(data_dir): repetition(train, test)}}
    if reference is not None:
        ag_train, ag_val = (Path(reference) / f"{s}.json" for s in ("train", "val"))
        out["repetition"][f"AudioGrounding v1 ({reference})"] = repetition(read_v1(ag_train), read_v1(ag_val))
    counts = pair_train_counts(test, phrase_counts(train))
    rows_by_model = {}
    for d in model_dirs:
        rows = pair_table(Path(d), test, corpus.split("test"), progress)
        for r in rows:
            r["train_count"] = counts[r["pair"]]
        rows_by_model[Path(d).name] = rows
    out["models"] = {name: summarise(rows, lambda r: frequency_bin(r["train_count"]))
                     for name, rows in rows_by_model.items()}
    first, *others = rows_by_model
    base = {r["pair"]: r["within_auc"] for r in rows_by_model[first]}

    def against_first(rows: Sequence[dict]) -> dict[str, float]:
        return paired_difference([base[r["pair"]] for r in rows], [r["within_auc"] for r in rows])

    out["paired_within_auc"] = {}
    for name in others:
        rows = rows_by_model[name]
        per_bin = {label: against_first([r for r in rows if frequency_bin(r["train_count"]) == label])
                   for label, *_ in FREQUENCY_BINS}
        out["paired_within_auc"][f"{name} - {first}"] = {**per_bin, "all": against_first(rows)}
    return out


def format_phrase_frequency(study: Mapping[str, Any]) -> str:
    lines = ["# Phrase repetition and grounding per training frequency", "",
             "## Repetition", "",
             "| labels | training phrase occurrences | distinct | per distinct | used once | mean words "
             "| test occurrences unseen in training |", "|---|---|---|---|---|---|---|"]
    for name, r in study["repetition"].items():
        lines.append(f"| {name} | {r['train_occurrences']} | {r['train_distinct']} | "
                     f"{r['occurrences_per_distinct']:.1f} | {100 * r['singleton_share']:.0f} % | "
                     f"{r['mean_words']:.2f} | {100 * r['test_unseen_share']:.0f} % |")
    labels = [label for label, *_ in FREQUENCY_BINS]
    lines += ["", "## Per training frequency of the test pair's phrase", "",
              "Within AUC (frame ROC AUC inside the clip) / clip AUC (own phrase against the wrong query); "
              "pairs in the header.", ""]
    first = next(iter(study["models"].values()), {})
    lines += ["| model | " + " | ".join(f"{b} ({first.get(b, {}).get('pairs', 0)})" for b in labels) + " |",
              "|---|" + "---|" * len(labels)]
    for name, bins in study["models"].items():
        cells = [f"{_f(bins[b]['within_auc'])} / {_f(bins[b]['clip_auc'])}" if b in bins else "-" for b in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if study["paired_within_auc"]:
        lines += ["", "## Paired difference of within AUC (same pairs), mean ± 95 % t half-width", "",
                  "| models | " + " | ".join([*labels, "all"]) + " |", "|---|" + "---|" * (len(labels) + 1)]
        for name, bins in study["paired_within_auc"].items():
            cells = [f"{_f(d['mean'])} ± {_f(d['half_width'])} (n {d['n']})" for d in bins.values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
