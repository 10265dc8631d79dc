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

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import yaml

from wstag.data.audiogrounding import read_v1
from wstag.data.wordings import Wordings
from wstag.errors import ConfigError
from wstag.records import Clip
from wstag.scapes.classtable import ClassTable
from wstag.scapes.frequencies import DATA_FILE, DATA_FORMAT, PLACE_PHRASES, wording_problem
from wstag.text.embedder import PhraseEmbedder
from wstag.text.phrases import CLITICS, CONNECTIVES, NUMERALS, PRONOUNS, extract_phrases
from wstag.text.tokenize import tokenize

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


# --- the world preset's data (issue 27, items 2-3): which phrases are trusted, their modifiers, the file

#: At or above this cosine a phrase is used unless a check rejects it; below it only when a check accepts it.
PRESET_THRESHOLD = 0.7
#: A modifier claiming how often the sound occurs could contradict the drawn event ("twice" for one bark).
REPETITION_WORDS = frozenset("once twice thrice repeatedly again times".split())
MAX_MODIFIER_TOKENS = 5


@dataclass(frozen=True)
class Checks:
    """Hand verdicts on mapped phrases (``world-checks.yaml``): phrase -> class, or None (rejected)."""

    verdicts: Mapping[str, str | None]
    table: str
    min_count: int
    band: tuple[float, float]
    sha256: str


def load_checks(path: Path, table: ClassTable) -> Checks:
    """Read and validate a checks file against the class table; every problem names the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: checks file not found")
    raw_bytes = path.read_bytes()
    try:
        data = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    keys = {"version", "table", "min_count", "band", "verdicts"}
    if not isinstance(data, dict) or set(data) != keys:
        raise ConfigError(f"{path}: expected exactly the keys {sorted(keys)}")
    if data["table"] != table.name:
        raise ConfigError(f"{path}: checks the table {data['table']!r}, not {table.name!r}")
    band = data["band"]
    if not (isinstance(band, list) and len(band) == 2 and all(isinstance(b, (int, float)) for b in band)
            and band[0] < band[1]):
        raise ConfigError(f"{path}: band must be [low, high], got {band!r}")
    names = {c.name for c in table.classes}
    verdicts = {}
    for phrase, verdict in (data["verdicts"] or {}).items():
        if verdict != "reject" and verdict not in names:
            raise ConfigError(f"{path}: verdict {verdict!r} for {phrase!r} is neither 'reject' nor a class of "
                              f"table {table.name!r}")
        verdicts[str(phrase).strip().lower()] = None if verdict == "reject" else verdict
    return Checks(verdicts, table.name, int(data["min_count"]), (float(band[0]), float(band[1])),
                  hashlib.sha256(raw_bytes).hexdigest())


def trusted_class(phrase: str, nearest: str, similarity: float, checks: Checks,
                  threshold: float = PRESET_THRESHOLD) -> str | None:
    """The class a phrase counts for: a check's verdict, else its nearest class at ``threshold`` or above."""
    if phrase in checks.verdicts:
        return checks.verdicts[phrase]
    return nearest if similarity >= threshold else None


def phrase_modifiers(clip: Clip) -> list[tuple[str, str]]:
    """Each annotated phrase of a real caption with the modifier its annotator wrote after it ('' if none).

    The modifier is the run of words up to the next connective, punctuation or the caption's
    end ("loudly", "in the distance", "by quickly"); it may run through a place phrase ("the
    distance"). None is kept when the run stops at another sound's phrase (its preposition
    belongs there: "over | a loudspeaker"), holds a pronoun or number ("its", "two"), claims
    how often the sound occurs, or is longer than MAX_MODIFIER_TOKENS.
    """
    tokens = clip.tokens
    starts = {p.start_index: p for p in clip.phrases}
    out = []
    for p in clip.phrases:
        tail, i, usable = [], p.end_index + 1, True
        while i < len(tokens):
            tok = tokens[i]
            if tok in CONNECTIVES or not any(ch.isalnum() for ch in tok):
                break
            nxt = starts.get(i)
            if nxt is not None and nxt.text.strip().lower() not in PLACE_PHRASES:
                usable = False
                break
            tail.append(tok)
            i += 1
        if (not usable or len(tail) > MAX_MODIFIER_TOKENS
                or any(t in PRONOUNS or t in NUMERALS or t in CLITICS or t in REPETITION_WORDS for t in tail)):
            tail = []
        out.append((p.text.strip().lower(), " ".join(tail)))
    return out


def caption_wording(phrase: str, modifier: str) -> tuple[str, str] | None:
    """The (phrase, modifier) a caption can use, fixed if needed; None if the parser cannot give it back.

    Fixed: a phrase the parser trims ("a person talks nearby" gives "a person talks") keeps what
    the parser extracts, and the trimmed words join the modifier.
    """
    tokens = tokenize(phrase)
    found = extract_phrases(tokens)
    if not found or found[0].start_index != 0:
        return None
    head = found[0]
    rest = tokens[head.end_index + 1:]
    fixed = (head.text, " ".join([*rest, *tokenize(modifier)]))
    return None if wording_problem(*fixed) else fixed


def preset_data(train: Sequence[Clip], val: Sequence[Clip], table: ClassTable, texts: Mapping[str, Sequence[str]],
                embed: PhraseEmbedder, checks: Checks, sources: Mapping[str, str],
                model: str = "all-MiniLM-L6-v2") -> tuple[dict[str, Any], dict[str, Any]]:
    """The content of ``wstag/scapes/audiocaps_frequencies.json``, and a report of what was left out.

    Occurrences count every trusted phrase of both label sets; wordings come from ``train``
    only, held-out phrases from ``val`` only (those no training caption can hold: no class's
    real wording or template phrase).
    """
    occ_train = [o for clip in train for o in phrase_modifiers(clip)]
    occ_val = [o for clip in val for o in phrase_modifiers(clip)]
    counts = Counter(p for p, _ in [*occ_train, *occ_val])
    distinct = sorted(counts, key=lambda p: (-counts[p], p))
    mapped = {p: trusted_class(p, c, s, checks) for p, (c, s) in zip(distinct, nearest_classes(distinct, texts, embed))}
    names = [c.name for c in table.classes]
    occurrences = Counter({n: 0 for n in names})
    for p in distinct:
        if mapped[p] is not None:
            occurrences[mapped[p]] += counts[p]
    wordings: dict[str, Counter] = {n: Counter() for n in names}
    kept = fixed = rejected = 0
    rejected_phrases: Counter = Counter()
    for phrase, modifier in occ_train:
        cls = mapped[phrase]
        if cls is None:
            continue
        got = caption_wording(phrase, modifier) or caption_wording(phrase, "")
        if got is None:
            rejected += 1
            rejected_phrases[phrase] += 1
            continue
        fixed += got[0] != phrase
        kept += got[0] == phrase
        wordings[cls][got] += 1
    # no held-out phrase may be a training caption's phrase: a real wording, or a template phrase
    trained = {phrase for ws in wordings.values() for phrase, _ in ws}
    trained |= {" ".join(tokenize(p)) for c in table.classes for p in (*c.phrases, *c.phrases_male, *c.phrases_female)}
    held: dict[str, Counter] = {n: Counter() for n in names}
    for phrase, _ in occ_val:
        got = caption_wording(phrase, "") if mapped[phrase] else None
        if got is not None and got[0] not in trained:
            held[mapped[phrase]][got[0]] += 1
    classes = {n: {"occurrences": occurrences[n],
                   "wordings": [[p, m, k] for (p, m), k in sorted(wordings[n].items(), key=lambda x: (-x[1], x[0]))],
                   "held_out": [p for p, _ in sorted(held[n].items(), key=lambda x: (-x[1], x[0]))]}
               for n in names}
    total = sum(counts.values())
    data = {
        "format": DATA_FORMAT, "table": table.name,
        "provenance": {
            "sources": dict(sources), "model": model, "threshold": PRESET_THRESHOLD,
            "checked_band": list(checks.band), "checked_min_count": checks.min_count, "checks_sha256": checks.sha256,
            "mapped_share": round(sum(occurrences.values()) / total, 4),
            "wordings_from": "train", "held_out_from": "val",
            "train_wording_occurrences": {"kept": kept, "fixed": fixed, "rejected": rejected},
        },
        "classes": classes,
    }
    report = {"occurrences": total, "rejected_by_parser": dict(rejected_phrases.most_common()),
              "unmapped": [{"phrase": p, "count": counts[p]} for p in distinct if mapped[p] is None]}
    return data, report


def format_preset_data(data: Mapping[str, Any], report: Mapping[str, Any], floor: float, unmapped: int = 60) -> str:
    """Markdown: the trusted mapping's share, each class's occurrences and wordings, the unmapped head."""
    prov, classes = data["provenance"], data["classes"]
    used = prov["train_wording_occurrences"]
    lines = [
        f"\n## The world preset's data (`wstag/scapes/{DATA_FILE}`)\n",
        f"A phrase counts for a class when its cosine is at least {prov['threshold']} and no hand check rejects "
        f"or moves it, or when a hand check accepts it (the band {prov['checked_band'][0]} to "
        f"{prov['checked_band'][1]}: every phrase with at least {prov['checked_min_count']} occurrences above "
        f"{prov['checked_band'][0]} was read; checks file SHA-256 `{prov['checks_sha256'][:16]}...`). "
        f"**{prov['mapped_share']:.1%}** of the {report['occurrences']} phrase occurrences map under that rule. "
        f"Classes are drawn in proportion to their occurrences, at least {floor:g}.\n",
        f"Training wordings (train labels only), each phrase occurrence with the modifier its caption gave it: "
        f"{used['kept']} kept as written, {used['fixed']} fixed (the parser trims a word, which joins the "
        f"modifier), {used['rejected']} rejected (the parser does not give the phrase back).\n",
        "| class | occurrences | drawn weight | distinct training wordings | with a modifier | held-out (val) | "
        "most frequent wording |\n|---|---:|---:|---:|---:|---:|---|",
    ]
    order = sorted(classes, key=lambda n: (-classes[n]["occurrences"], n))
    for n in order:
        c = classes[n]
        distinct = len({p for p, _, _ in c["wordings"]})
        modified = sum(k for _, m, k in c["wordings"] if m)
        total = sum(k for _, _, k in c["wordings"])
        top = f"{c['wordings'][0][0]}" if c["wordings"] else "(templates)"
        lines.append(f"| {n} | {c['occurrences']} | {max(c['occurrences'], floor):g} | {distinct} | "
                     f"{modified / total:.0%} | {len(c['held_out'])} | {top} |" if total else
                     f"| {n} | {c['occurrences']} | {max(c['occurrences'], floor):g} | 0 | - | {len(c['held_out'])} | "
                     f"{top} |")
    rows = report["unmapped"][:unmapped]
    lines += ["\n## The most frequent phrases that map to no class under that rule\n",
              "| phrase | occurrences |\n|---|---:|", *[f"| {r['phrase']} | {r['count']} |" for r in rows]]
    if report["rejected_by_parser"]:
        lines += ["\n## Wordings the phrase parser does not give back (not used)\n",
                  "| phrase | occurrences |\n|---|---:|",
                  *[f"| {p} | {k} |" for p, k in report["rejected_by_parser"].items()]]
    return "\n".join(lines) + "\n"


def dump_preset_data(data: Mapping[str, Any]) -> str:
    """The data file as JSON with one wording per line, so that a change reads as a short diff."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    head = [f" {one(k)}: {one(v)}," for k, v in data.items() if k != "classes"]
    body = []
    for i, (name, c) in enumerate(data["classes"].items()):
        body.append(f"  {one(name)}: {{\"occurrences\": {one(c['occurrences'])}, \"held_out\": {one(c['held_out'])}, "
                    f"\"wordings\": [")
        body += [f"   {one(w)}{',' if j < len(c['wordings']) - 1 else ''}" for j, w in enumerate(c["wordings"])]
        body.append("  ]}" + ("," if i < len(data["classes"]) - 1 else ""))
    text = "\n".join(["{", *head, ' "classes": {', *body, " }", "}"]) + "\n"
    if json.loads(text) != data:  # the layout must not change a value
        raise AssertionError("dump_preset_data: the written JSON differs from the data")
    return text
