"""How often each kind of sound is named in real captions (issue 27, item 2).

The embedded benchmark draws its events nearly uniformly over its classes; AudioCaps,
where the paper's claims were made, has a long tail. To measure that tail, every phrase
of the real AudioGrounding labels is mapped to the benchmark class whose phrases it is
closest to in sentence-embedding space (all-MiniLM-L6-v2, the Sentence-BERT of Fig. 10):
its similarity to a class is the largest cosine to any of the class's caption phrases
(``classes.yaml``) or held-out wordings (``wordings.yaml``). A phrase maps when that
similarity reaches ``threshold``; the rest name sounds the benchmark has no class for, and
are listed by frequency, since they are what a larger class table should add first.

Counts are phrase *occurrences* (a sound named in many captions counts each time), as a
sampler that draws events in proportion to how often captions mention them needs.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from wstag.data.audiogrounding import read_v1
from wstag.data.wordings import Wordings
from wstag.errors import ConfigError
from wstag.scapes.classtable import ClassTable
from wstag.text.embedder import PhraseEmbedder

THRESHOLDS = (0.5, 0.6, 0.7)  # reported side by side: the share that maps depends on where the line is


def class_texts(table: ClassTable, wordings: Wordings) -> dict[str, list[str]]:
    """Per class, every phrase the benchmark knows for it: caption phrases and held-out wordings."""
    texts = {}
    for c in table.classes:
        found = [*c.phrases, *c.phrases_male, *c.phrases_female, *wordings.get(c.name, ())]
        texts[c.name] = list(dict.fromkeys(p.strip().lower() for p in found if p.strip()))
    return texts


def label_phrases(paths: Sequence[Path]) -> Counter:
    """Every phrase occurrence of AudioGrounding v1 label files, lower-cased and stripped."""
    counts: Counter = Counter()
    for path in paths:
        for clip in read_v1(path):
            counts.update(p.text.strip().lower() for p in clip.phrases if p.text.strip())
    if not counts:
        raise ConfigError(f"no phrases in {', '.join(map(str, paths))}")
    return counts


def nearest_classes(phrases: Sequence[str], texts: Mapping[str, Sequence[str]],
                    embed: PhraseEmbedder) -> list[tuple[str, float]]:
    """Per phrase: the class with the most similar known phrase, and that cosine."""
    names = list(texts)
    owners = np.array([i for i, n in enumerate(names) for _ in texts[n]])
    known = embed([t for n in names for t in texts[n]])  # unit rows
    found = embed(list(phrases))
    best = []
    for start in range(0, len(found), 1024):
        sims = found[start:start + 1024] @ known.T  # (b, K)
        per_class = np.full((len(sims), len(names)), -1.0, dtype=np.float32)
        np.maximum.at(per_class.T, owners, sims.T)  # max over each class's phrases
        idx = per_class.argmax(1)
        best += [(names[i], float(per_class[j, i])) for j, i in enumerate(idx)]
    return best


def caption_frequencies(counts: Counter, texts: Mapping[str, Sequence[str]], embed: PhraseEmbedder,
                        thresholds: Sequence[float] = THRESHOLDS) -> dict[str, Any]:
    """Per threshold: occurrences per class, the share that maps, imbalance; the phrases with their match."""
    distinct = sorted(counts, key=lambda p: (-counts[p], p))
    matches = nearest_classes(distinct, texts, embed)
    total = sum(counts.values())
    out: dict[str, Any] = {"occurrences": total, "distinct": len(distinct), "classes": len(texts), "thresholds": {}}
    for t in thresholds:
        per_class = Counter({c: 0 for c in texts})
        for phrase, (cls, sim) in zip(distinct, matches):
            if sim >= t:
                per_class[cls] += counts[phrase]
        mapped = sum(per_class.values())
        named = [n for n in per_class.values() if n > 0]
        out["thresholds"][str(t)] = {
            "mapped_share": mapped / total, "per_class": dict(per_class.most_common()),
            "classes_named": len(named),
            "imbalance": (max(named) / min(named)) if named else math.nan,  # most / least named class
        }
    out["phrases"] = [{"phrase": p, "count": counts[p], "class": c, "similarity": round(s, 4)}
                      for p, (c, s) in zip(distinct, matches)]
    return out


def format_frequencies(study: Mapping[str, Any], sources: str, unmapped: int = 40, sample: int = 30) -> str:
    """Markdown: the share that maps at each threshold, the class distribution, the unmapped head."""
    ts = list(study["thresholds"])
    middle = ts[len(ts) // 2]
    lines = [
        "# How often real captions name each benchmark class\n",
        f"{study['occurrences']} phrase occurrences ({study['distinct']} distinct) from {sources}, each mapped "
        f"to the nearest of the benchmark's {study['classes']} classes by all-MiniLM-L6-v2 cosine to the class's "
        "caption phrases and held-out wordings (`wstag experiments caption-frequencies`).\n",
        "| threshold | occurrences mapped | classes named | most / least named class |\n|---|---|---|---|",
        *[f"| {t} | {v['mapped_share']:.1%} | {v['classes_named']} of {study['classes']} | {v['imbalance']:.1f} |"
          for t, v in study["thresholds"].items()],
        f"\n## Occurrences per class (threshold {middle})\n",
        "| class | occurrences | share of mapped |\n|---|---|---|",
    ]
    per_class = study["thresholds"][middle]["per_class"]
    mapped = sum(per_class.values()) or 1
    lines += [f"| {c} | {n} | {n / mapped:.1%} |" for c, n in per_class.items()]
    low = float(ts[0])
    rows = [r for r in study["phrases"] if r["similarity"] < low][:unmapped]
    lines += [f"\n## The most frequent phrases that map to no class (below {ts[0]})\n",
              "| phrase | occurrences | nearest class | cosine |\n|---|---|---|---|",
              *[f"| {r['phrase']} | {r['count']} | {r['class']} | {r['similarity']:.2f} |" for r in rows]]
    near = [r for r in study["phrases"] if float(middle) <= r["similarity"] < float(middle) + 0.1][:sample]
    lines += [f"\n## Mapped phrases just above the line ({middle} to {float(middle) + 0.1:.1f}), most frequent "
              "first: where a wrong match would show\n",
              "| phrase | occurrences | class | cosine |\n|---|---|---|---|",
              *[f"| {r['phrase']} | {r['count']} | {r['class']} | {r['similarity']:.2f} |" for r in near]]
    return "\n".join(lines) + "\n"
