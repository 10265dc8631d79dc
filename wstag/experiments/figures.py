"""The paper's figures that need no trained grounding model (Sec. VI-D: Figs. 4, 11, 12, 13).

Each ``figN(data_dir, out_dir, ...)`` reads a benchmark corpus built by ``wstag data
build`` (its training split: ``weak.json`` and ``labels.json``, whose ``phrase_classes``
and ``classes_present`` give every phrase's true sound class and every clip's audible
classes), writes a PNG in the paper's form (Fig. 13: a markdown table instead) and a JSON
with the plotted numbers into ``out_dir``, and returns a ``Figure``: the paths, a
markdown paragraph with the key numbers, the paper's conclusion in one sentence and
whether it holds on this corpus.

- Fig. 4: phrase occurrences per sound class (the paper: long-tailed).
- Fig. 11: k-means inertia over the cluster number n_c of the phrase embeddings, with
  cluster purity and ARI against the true classes (the paper only has inertia and PSDS).
- Fig. 12: the density of cosine similarities between phrase pairs, same-class and
  different-class apart, with the thresholds tau and the share of each above them.
- Fig. 13: the negatives Alg. 1 draws for one training clip under each tau.

Phrase classes are those of ``wstag.experiments.sampling_diagnosis.load_train_pool`` (each weak
phrase takes the class of the labelled phrase its tokens overlap most); a phrase text
seen with several classes counts as its most frequent one. Embeddings come from any
``PhraseEmbedder`` (SBERT: ``wstag.text.sbert.sbert_embedder``; CLAP's text tower:
``clap_embedder(folder)``); nothing here trains a model.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from wstag.data.corpus import Corpus
from wstag.experiments.sampling_diagnosis import TrainPool, cluster_purity, load_train_pool, weighted_ari  # noqa: E402
from wstag.files import atomic_open, atomic_path  # noqa: E402
from wstag.sampling.similarity_sampler import SimilarityNegativeSampler  # noqa: E402
from wstag.text.embedder import PhraseEmbedder  # noqa: E402

#: Fig. 11's cluster numbers and Fig. 12/13's thresholds
N_CLUSTERS = (8, 16, 24, 32, 48, 64, 96)
TAUS = (0.3, 0.5, 0.7, 0.9)
#: what the paper picked (n_c) and found best (tau)
PAPER_N_CLUSTERS = 32
PAPER_TAU = 0.5
WEIGHTINGS = ("occurrences", "distinct")


@dataclass(frozen=True)
class Figure:
    """One figure: its files, what it shows and whether the paper's conclusion holds here."""

    name: str
    png: Path | None  # None for a table-only figure (Fig. 13)
    json: Path
    markdown: str  # what the figure shows, with its key numbers, the paper's claim and the verdict
    claim: str  # the paper's conclusion, one sentence
    holds: bool | None  # None: the corpus cannot decide (e.g. the claim needs trained models)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["png"] = None if self.png is None else str(self.png)
        d["json"] = str(self.json)
        return d


# --------------------------------------------------------------------------- helpers


def _verdict(holds: bool | None) -> str:
    return {True: "holds here", False: "does not hold here", None: "cannot be checked here"}[holds]


def _paragraph(title: str, body: str, claim: str, holds: bool | None, why: str) -> str:
    return f"**{title}** {body}\n\n*Paper:* {claim} *Here:* {_verdict(holds)}: {why}"


def _finite(x: Any) -> Any:
    """``x`` with NaN and infinities as None (strict JSON)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def _write_json(path: Path, data: Any) -> Path:
    with atomic_open(path, encoding="utf-8") as fh:
        json.dump(_finite(data), fh, indent=1, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    return path


def _save_png(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    return path


def _majority(counter: Counter) -> str | None:
    """A text's most frequent class, a real class before None (as the diagnostics count it)."""
    real = [(v, k) for k, v in counter.items() if k is not None]
    return max(real, key=lambda x: (x[0], str(x[1])))[1] if real else None


def _text_table(data: TrainPool) -> tuple[list[str], np.ndarray, list[str | None], dict[str, set]]:
    """Distinct phrase texts (sorted, as ``EmbeddedPool``), their occurrence counts, majority and all classes."""
    by_text = data.text_classes()
    texts = sorted(by_text)
    counts = np.array([sum(by_text[t].values()) for t in texts], dtype=np.float64)
    return texts, counts, [_majority(by_text[t]) for t in texts], \
        {t: {k for k in by_text[t] if k is not None} for t in texts}


def cached_embedder(embed: PhraseEmbedder) -> PhraseEmbedder:
    """``embed`` with a per-text cache: figures and samplers re-embed the same phrases."""
    table: dict[str, np.ndarray] = {}

    def cached(texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in table]
        if missing:
            table.update(zip(missing, np.asarray(embed(missing), dtype=np.float32)))
        if not texts:
            return np.asarray(embed([]), dtype=np.float32)
        return np.stack([table[t] for t in texts])

    return cached


def clap_embedder(folder: Path) -> PhraseEmbedder:
    """The text tower of the CLAP model saved in ``folder`` (``wstag.models.clap.save_clap``)."""
    from wstag.models.clap import load_clap
    from wstag.training.clap import phrase_embedder

    model, vocab = load_clap(folder)
    return phrase_embedder(model, vocab)


def _embedders(embedders: PhraseEmbedder | Mapping[str, PhraseEmbedder],
               clap_folder: Path | None) -> dict[str, PhraseEmbedder]:
    out = dict(embedders) if isinstance(embedders, Mapping) else {"embedder": embedders}
    if clap_folder is not None:
        out["clap"] = clap_embedder(Path(clap_folder))
    if not out:
        raise ValueError("no phrase embedder given")
    return out


# --------------------------------------------------------------------------- Fig. 4


def fig4(data_dir: Path, out_dir: Path, split: str = "train", name: str = "fig4") -> Figure:
    """Phrase occurrences per sound class of ``split``, sorted descending (paper Fig. 4)."""
    data = load_train_pool(Path(data_dir), split)
    occurrences: Counter = Counter()
    distinct: dict[Any, set] = defaultdict(set)
    for clip, classes in zip(data.clips, data.phrase_classes):
        for p, k in zip(clip.phrases, classes):
            occurrences[k] += 1
            distinct[k].add(p.text)
    no_class = occurrences.pop(None, 0)
    distinct.pop(None, None)
    for k in {k for s in data.present for k in s} - set(occurrences):  # audible but never captioned
        occurrences[k] = 0
    rows = sorted(occurrences.items(), key=lambda x: (-x[1], x[0]))
    counts = np.array([n for _, n in rows], dtype=np.float64)
    total = int(counts.sum())
    top = max(1, math.ceil(0.1 * len(rows)))
    captioned = [(k, n) for k, n in rows if n > 0]  # the ratio is over classes with phrases
    ratio = float(captioned[0][1] / captioned[-1][1]) if captioned else 0.0
    numbers = {
        "split": split, "count": "phrase occurrences", "clips": len(data.clips), "phrases": total + no_class,
        "phrases_without_class": no_class, "n_classes": len(rows),
        "classes": [{"class": k, "occurrences": n, "distinct_phrases": len(distinct.get(k, ()))} for k, n in rows],
        "max": {"class": rows[0][0], "occurrences": rows[0][1]},
        "min": {"class": rows[-1][0], "occurrences": rows[-1][1]},
        "classes_without_phrases": len(rows) - len(captioned),
        "median": float(np.median(counts)), "max_min_ratio": ratio,
        "top_10pct_classes_share": float(counts[:top].sum() / max(total, 1)),
        "gini": _gini(counts),
    }
    out_dir = Path(out_dir)
    json_path = _write_json(out_dir / f"{name}.json", numbers)

    fig, ax = plt.subplots(figsize=(max(8.0, 0.22 * len(rows) + 2), 4.2))
    ax.bar(range(len(rows)), counts, color="tab:blue", width=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([k for k, _ in rows], rotation=90, fontsize=7)
    ax.set_xlim(-0.7, len(rows) - 0.3)
    ax.set_ylabel("phrase count (occurrences)")
    ax.set_xlabel("sound class (true class of the phrase)")
    ax.axhline(numbers["median"], color="grey", ls="--", lw=0.8, label=f"median {numbers['median']:.0f}")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"Fig. 4: phrases per class, {split} split ({total} phrases, {len(rows)} classes; "
                 f"max/min {ratio:.1f})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    png = _save_png(fig, out_dir / f"{name}.png")

    claim = ("The phrase distribution over sound events is long-tailed: over 1,000 phrases map to the most "
             "frequent class, only 10 to the rarest (ratio > 100), so rare events are seldom sampled as negatives.")
    holds = bool(ratio >= 10)
    rarest = captioned[-1] if captioned else rows[-1]
    why = (f"the most frequent class ({rows[0][0]}, {rows[0][1]}) holds {ratio:.1f} times the phrases of the "
           f"rarest captioned one ({rarest[0]}, {rarest[1]}); the corpus builder draws classes near-uniformly, so the "
           "imbalance clustering-based sampling is meant to correct is mild here."
           if not holds else
           f"the most frequent class ({rows[0][0]}, {rows[0][1]}) holds {ratio:.1f} times the phrases of the "
           f"rarest captioned one ({rarest[0]}, {rarest[1]}).")
    body = (f"Phrase occurrences per true sound class on the {split} split ({len(data.clips)} clips with phrases, "
            f"{total} classed phrase occurrences, {no_class} naming no class), sorted descending. "
            f"{len(rows)} classes; median {numbers['median']:.0f}, max {rows[0][1]} ({rows[0][0]}), "
            f"min {rows[-1][1]} ({rows[-1][0]}); the top 10% of classes hold "
            f"{numbers['top_10pct_classes_share']:.1%} of the phrases; Gini {numbers['gini']:.3f}.")
    return Figure(name, png, json_path, _paragraph("Fig. 4 (phrase distribution).", body, claim, holds, why),
                  claim, holds)


def _gini(counts: np.ndarray) -> float:
    """Gini coefficient of the counts (0: all equal; near 1: one class holds all)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    if len(x) == 0 or x.sum() == 0:
        return 0.0
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


# --------------------------------------------------------------------------- Fig. 11


def elbow(x: Sequence[float], y: Sequence[float]) -> float:
    """The elbow of a decreasing convex curve (Kneedle): the point farthest below the first-to-last chord.

    Both axes are scaled to [0, 1]; ``x`` on its own (linear) scale.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(x) < 3:
        return float(x[0]) if len(x) else float("nan")
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y[-1]) / (y[0] - y[-1]) if y[0] != y[-1] else np.zeros_like(y)
    return float(x[int(np.argmax((1 - xn) - yn))])


def fig11(data_dir: Path, out_dir: Path, embedders: PhraseEmbedder | Mapping[str, PhraseEmbedder],
          n_clusters: Sequence[int] = N_CLUSTERS, clap_folder: Path | None = None, seed: int = 0,
          name: str = "fig11") -> Figure:
    """K-means inertia, purity and ARI over the cluster number (paper Fig. 11, without its PSDS bars).

    K-means runs as Alg. 2's sampler runs it (``cluster_labels``: scikit-learn, 10 inits,
    ``seed``) on the distinct training phrase texts; purity and ARI are weighted by the
    texts' occurrences, over texts with a class.
    """
    from sklearn.cluster import KMeans

    data = load_train_pool(Path(data_dir))
    texts, counts, classes, _ = _text_table(data)
    classed = np.array([k is not None for k in classes])
    n_classes = len({k for k in classes if k is not None})
    values = sorted({int(k) for k in n_clusters if 2 <= k <= len(texts)})
    skipped = sorted({int(k) for k in n_clusters} - set(values))
    if not values:
        raise ValueError(f"no cluster number in {list(n_clusters)} fits {len(texts)} distinct phrases")
    results: dict[str, dict] = {}
    for label, embed in _embedders(embedders, clap_folder).items():
        vectors = np.asarray(embed(texts), dtype=np.float64)
        rows = []
        for k in values:
            km = KMeans(k, n_init=10, random_state=seed).fit(vectors)
            labels = km.labels_[classed]
            cls = [c for c in classes if c is not None]
            rows.append({"n_clusters": k, "inertia": float(km.inertia_),
                         "purity": cluster_purity(labels, cls, counts[classed]),
                         "purity_distinct": cluster_purity(labels, cls),
                         "ari": weighted_ari(labels, cls, counts[classed].astype(int))})
        inertia = [r["inertia"] for r in rows]
        results[label] = {
            "rows": rows, "elbow": elbow(values, inertia),
            "inertia_decreasing": bool(all(b < a for a, b in zip(inertia, inertia[1:]))),
            "best_ari_n_clusters": max(rows, key=lambda r: r["ari"])["n_clusters"],
        }
    numbers = {"phrases": len(texts), "n_classes": n_classes, "seed": seed, "n_clusters": values,
               "skipped_n_clusters": skipped, "weighting": "purity and ARI weighted by phrase occurrences",
               "embeddings": results}
    out_dir = Path(out_dir)
    json_path = _write_json(out_dir / f"{name}.json", numbers)

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    for ax, (label, r) in zip(axes[0], results.items()):
        xs = [row["n_clusters"] for row in r["rows"]]
        ax.plot(xs, [row["inertia"] for row in r["rows"]], "o-", color="tab:blue", label="k-means inertia")
        ax.set_xlabel("cluster number $n_c$")
        ax.set_ylabel("inertia", color="tab:blue")
        ax.tick_params(axis="y", labelcolor="tab:blue")
        ax.set_xticks(xs)
        ax.axvline(r["elbow"], color="tab:blue", ls=":", lw=1.2, label="inertia elbow")
        ax.axvline(n_classes, color="grey", ls="--", lw=0.8, label=f"true class number ({n_classes})")
        twin = ax.twinx()
        twin.plot(xs, [row["purity"] for row in r["rows"]], "s-", color="tab:orange", label="purity (right)")
        twin.plot(xs, [row["ari"] for row in r["rows"]], "^--", color="tab:green", label="ARI (right)")
        twin.set_ylim(0, 1.02)
        twin.set_ylabel("purity / ARI vs true classes")
        ax.set_title(f"Fig. 11: {label} embeddings (elbow n_c = {r['elbow']:.0f})", fontsize=10)
        ax.grid(alpha=0.3)
    lines = axes[0][0].get_lines() + twin.get_lines()
    fig.legend(lines, [ln.get_label() for ln in lines], loc="lower center", ncol=len(lines), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    png = _save_png(fig, out_dir / f"{name}.png")

    claim = ("The inertia keeps decreasing as n_c grows while grounding performance peaks at n_c = 32: "
             "too few clusters falsely merge sounds, too many falsely split them (the former hurts more).")
    decreasing = all(r["inertia_decreasing"] for r in results.values())
    parts = []
    for label, r in results.items():
        at = {row["n_clusters"]: row for row in r["rows"]}
        ref = at.get(PAPER_N_CLUSTERS)
        parts.append(f"{label}: elbow at n_c = {r['elbow']:.0f}, ARI highest at n_c = {r['best_ari_n_clusters']}"
                     + (f", purity {ref['purity']:.3f} / ARI {ref['ari']:.3f} at n_c = {PAPER_N_CLUSTERS}"
                        if ref else "")
                     + f", purity {r['rows'][0]['purity']:.3f} -> {r['rows'][-1]['purity']:.3f} from n_c = "
                       f"{values[0]} to {values[-1]}")
    body = (f"K-means inertia of the {len(texts)} distinct training phrase embeddings for n_c in {values}, with "
            f"the clusters' purity and ARI against the {n_classes} true classes (occurrence-weighted). "
            + "; ".join(parts) + ".")
    why = (("the inertia decreases monotonically" if decreasing else "the inertia does NOT decrease monotonically")
           + "; the performance half of the claim needs trained models (not in this figure). "
           + "Purity and ARI show where clusters stop merging classes: "
           + ", ".join(f"{label} best ARI at n_c = {r['best_ari_n_clusters']}" for label, r in results.items())
           + f" (the corpus has {n_classes} classes).")
    return Figure(name, png, json_path, _paragraph("Fig. 11 (cluster number).", body, claim, decreasing, why),
                  claim, decreasing)


# --------------------------------------------------------------------------- Fig. 12


def pair_similarities(vectors: np.ndarray, classes: Sequence[Any], counts: Sequence[float],
                      weighting: str = "occurrences") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cosine similarity and weight of every pair of different phrase texts, same-class and different-class.

    ``weighting="occurrences"``: a pair weighs count_i * count_j (the pairs the sampler meets,
    each phrase as often as the pool holds it); ``"distinct"``: every pair weighs 1. Texts
    without a class (None) are left out.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    keep = [i for i, k in enumerate(classes) if k is not None]
    v = np.asarray(vectors, dtype=np.float64)[keep]
    cls = [classes[i] for i in keep]
    c = np.asarray(counts, dtype=np.float64)[keep] if weighting == "occurrences" else np.ones(len(keep))
    i, j = np.triu_indices(len(keep), k=1)
    sims = np.einsum("nd,nd->n", v[i], v[j])
    w = c[i] * c[j]
    ids = {k: n for n, k in enumerate(dict.fromkeys(cls))}
    code = np.array([ids[k] for k in cls])
    same = code[i] == code[j]
    return {"same": (sims[same], w[same]), "different": (sims[~same], w[~same])}


def share_at_or_above(sims: np.ndarray, weights: np.ndarray, tau: float) -> float:
    """Weighted share of the pairs with similarity >= tau (those Alg. 1 would not draw as a negative)."""
    total = float(np.sum(weights))
    return float(np.sum(weights[sims >= tau]) / total) if total > 0 else float("nan")


def fig12(data_dir: Path, out_dir: Path, embedders: PhraseEmbedder | Mapping[str, PhraseEmbedder],
          taus: Sequence[float] = TAUS, clap_folder: Path | None = None, weighting: str = "occurrences",
          bins: int = 80, name: str = "fig12") -> Figure:
    """Density of phrase-pair cosine similarities, same- and different-class, with the taus (paper Fig. 12).

    One panel per embedder. The share of different-class pairs at or above tau is the
    share of absent sounds tau would wrongly keep from being negatives; the share of
    same-class pairs at or above tau is the share of paraphrases it catches.
    """
    data = load_train_pool(Path(data_dir))
    texts, counts, classes, _ = _text_table(data)
    edges = np.linspace(-1.0, 1.0, bins + 1)
    results: dict[str, dict] = {}
    for label, embed in _embedders(embedders, clap_folder).items():
        pairs = pair_similarities(np.asarray(embed(texts)), classes, counts, weighting)
        entry: dict[str, Any] = {}
        for kind, (sims, w) in pairs.items():
            hist, _ = np.histogram(np.clip(sims, -1, 1), bins=edges, weights=w, density=True) if len(sims) \
                else (np.zeros(bins), None)
            entry[kind] = {
                "pairs": int(len(sims)), "weight": float(w.sum()),
                "mean": float(np.average(sims, weights=w)) if len(sims) and w.sum() > 0 else float("nan"),
                "density": [float(h) for h in hist],
                "at_or_above": {str(t): share_at_or_above(sims, w, t) for t in taus},
            }
        results[label] = entry
    numbers = {"phrases": len(texts), "weighting": weighting, "taus": list(taus),
               "bin_edges": [float(e) for e in edges], "embeddings": results,
               "note": "pairs of different phrase texts with a class; 'at_or_above' = share of the pairs with "
                       "cosine >= tau (Alg. 1 never draws such a phrase as a negative of the other)"}
    out_dir = Path(out_dir)
    json_path = _write_json(out_dir / f"{name}.json", numbers)

    centres = (edges[:-1] + edges[1:]) / 2
    fig, axes = plt.subplots(1, len(results), figsize=(5.4 * len(results), 3.8), squeeze=False)
    for ax, (label, r) in zip(axes[0], results.items()):
        for kind, color in (("same", "tab:green"), ("different", "tab:red")):
            d = r[kind]
            ax.fill_between(centres, d["density"], step="mid", alpha=0.35, color=color)
            ax.step(centres, d["density"], where="mid", color=color, lw=1,
                    label=f"{kind}-class pairs (mean {d['mean']:.2f})")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
        for t in taus:
            ax.axvline(t, color="black", ls="--", lw=0.8)
            ax.text(t, 0.995, f" τ={t}", transform=ax.get_xaxis_transform(), fontsize=7, va="top", ha="left")
        shares = "\n".join(["  τ   diff≥τ  same≥τ"] + [
            f"{t:4}  {r['different']['at_or_above'][str(t)]:6.1%}  {r['same']['at_or_above'][str(t)]:5.0%}"
            for t in taus])
        ax.text(0.015, 0.74, shares, transform=ax.transAxes, family="monospace", fontsize=7, va="top",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "lightgrey"})
        ax.set_xlim(-0.5, 1.0)
        ax.set_xlabel("cosine similarity of a phrase pair")
        ax.set_ylabel(f"normalised density ({weighting}-weighted)")
        ax.set_title(f"Fig. 12: {label} phrase embeddings", fontsize=10)
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    png = _save_png(fig, out_dir / f"{name}.png")

    ref = str(PAPER_TAU) if PAPER_TAU in taus else str(taus[len(taus) // 2])
    claim = ("tau = 0.5 works best: a larger tau lets paraphrases of audible sounds through as false negatives, "
             "a smaller one removes so many candidates that many sound events are never sampled.")
    # Checkable part: at the paper's tau most same-class pairs lie above and few different-class pairs do.
    verdicts = {label: r["same"]["at_or_above"][ref] >= 0.5 and r["different"]["at_or_above"][ref] <= 0.1
                for label, r in results.items()}
    holds = all(verdicts.values())
    body = (f"Cosine similarities of pairs of different training phrase texts ({len(texts)} texts; pairs "
            f"{weighting}-weighted), same-class and different-class densities, lines at tau in {list(taus)}. "
            + "; ".join(f"{label}: mean same / different {r['same']['mean']:.2f} / {r['different']['mean']:.2f}, "
                        "different-class pairs at or above tau "
                        + ", ".join(f"{t}: {r['different']['at_or_above'][str(t)]:.1%}" for t in taus)
                        + ", same-class pairs at or above tau "
                        + ", ".join(f"{t}: {r['same']['at_or_above'][str(t)]:.0%}" for t in taus)
                        for label, r in results.items()) + ".")
    why = ("whether tau = 0.5 *performs* best needs trained models; what the corpus can tell is whether tau = "
           f"{ref} separates the classes (at least half of the same-class pairs at or above it, at most 10% of "
           "the different-class pairs): "
           + "; ".join(f"{label} {'does' if ok else 'does not'} (same {results[label]['same']['at_or_above'][ref]:.0%}"
                       f", different {results[label]['different']['at_or_above'][ref]:.1%})"
                       for label, ok in verdicts.items()) + ".")
    return Figure(name, png, json_path, _paragraph("Fig. 12 (similarity thresholds).", body, claim, holds, why),
                  claim, holds)


# --------------------------------------------------------------------------- Fig. 13


def example_clip(data: TrainPool, min_phrases: int = 3) -> int:
    """Index (into ``data.clips``) of the first clip with at least ``min_phrases`` phrases."""
    for i, clip in enumerate(data.clips):
        if len(clip.phrases) >= min_phrases:
            return i
    raise ValueError(f"no training clip has {min_phrases} or more phrases")


def fig13(data_dir: Path, out_dir: Path, embedders: PhraseEmbedder | Mapping[str, PhraseEmbedder],
          taus: Sequence[float] = TAUS, n: int = 16, seed: int = 0, clip: int | None = None,
          min_phrases: int = 3, batch: int = 64, clap_folder: Path | None = None,
          name: str = "fig13") -> Figure:
    """The negatives Alg. 1 draws for one training clip under each tau (paper Fig. 13), as markdown tables.

    ``n`` is the query number (positives + negatives, as ``sample(positives, n, rng)``
    counts it); every tau draws with the same ``seed``, so the candidates come in the same
    order and the columns differ only by the threshold. ``clip`` (an index into the clips
    with phrases) defaults to the first with ``min_phrases`` or more. A negative is marked
    when a class its text names is audible in the clip (a false negative). For context the
    JSON also has one draw per training clip under each tau (false-negative rate and
    distinct negative classes per clip).
    """
    data = load_train_pool(Path(data_dir))
    texts, _, classes, class_sets = _text_table(data)
    text_class = dict(zip(texts, classes))
    index = example_clip(data, min_phrases) if clip is None else int(clip)
    chosen = data.clips[index]
    positives = [p.text for p in chosen.phrases]
    present = data.present[index]
    pool = data.pool
    results: dict[str, dict] = {}
    for label, embed in _embedders(embedders, clap_folder).items():
        embed = cached_embedder(embed)
        pos_vec = np.asarray(embed(positives), dtype=np.float64)
        columns, overall = {}, {}
        for tau in taus:
            sampler = SimilarityNegativeSampler(pool, embed, tau, batch)
            negatives = sampler.sample(positives, n, np.random.default_rng(seed))
            sims = (np.asarray(embed(negatives), dtype=np.float64) @ pos_vec.T).max(axis=1) if negatives else []
            columns[str(tau)] = [{"phrase": t, "class": text_class.get(t),
                                  "audible": bool(class_sets.get(t, set()) & present),
                                  "max_similarity_to_positives": float(s)} for t, s in zip(negatives, sims)]
            overall[str(tau)] = _all_clips(data, sampler, n, seed, class_sets)
        results[label] = {"negatives": columns, "all_clips": overall}
    numbers = {
        "clip": {"index": index, "audio_id": chosen.audio_id, "caption": chosen.caption,
                 "positives": [{"phrase": t, "class": k} for t, k in zip(positives, data.phrase_classes[index])],
                 "classes_present": sorted(present),
                 "uncaptioned_classes": sorted(present - set(data.phrase_classes[index]))},
        "n": n, "seed": seed, "taus": list(taus), "batch": batch, "embeddings": results,
    }
    out_dir = Path(out_dir)
    json_path = _write_json(out_dir / f"{name}.json", numbers)

    claim = ("A low tau draws only safe but repetitive negatives (at tau = 0, 4 of 5 describe engines), a high "
             "tau diverse ones that include false negatives; diversity matters more than label accuracy.")
    lines = [f"Clip `{chosen.audio_id}`: \"{chosen.caption}\"; positives: "
             + ", ".join(f"*{t}* ({k})" for t, k in zip(positives, data.phrase_classes[index]))
             + f"; audible: {', '.join(sorted(present))}"
             + (f" (uncaptioned: {', '.join(numbers['clip']['uncaptioned_classes'])})"
                if numbers["clip"]["uncaptioned_classes"] else "")
             + f". n = {n} queries ({max(0, n - len(positives))} negatives wanted), seed {seed}. "
             "Cells: phrase, its true class, its highest cosine similarity to a positive; "
             "**FN** = its class is audible in the clip."]
    verdicts = []
    for label, r in results.items():
        cols = r["negatives"]
        lines += ["", f"*{label} embeddings*", "",
                  "| # | " + " | ".join(f"τ = {t}" for t in taus) + " |", "|---" * (len(taus) + 1) + "|"]
        for row in range(max((len(c) for c in cols.values()), default=0)):
            cells = []
            for t in taus:
                c = cols[str(t)]
                if row < len(c):
                    e = c[row]
                    cells.append(f"{e['phrase']} · {e['class']} ({e['max_similarity_to_positives']:.2f})"
                                 + (" **FN**" if e["audible"] else ""))
                else:
                    cells.append("—")
            lines.append(f"| {row + 1} | " + " | ".join(cells) + " |")
        lines.append("| classes / FN | " + " | ".join(
            f"{len({e['class'] for e in cols[str(t)]})} classes, {sum(e['audible'] for e in cols[str(t)])} FN"
            for t in taus) + " |")
        lines.append("| all clips: FN rate / classes per clip / short clips | " + " | ".join(
            f"{r['all_clips'][str(t)]['false_negative_rate']:.1%} / "
            f"{r['all_clips'][str(t)]['distinct_classes_per_clip']:.1f} / "
            f"{r['all_clips'][str(t)]['short_clip_share']:.0%}" for t in taus) + " |")
        lo, hi = r["all_clips"][str(min(taus))], r["all_clips"][str(max(taus))]
        verdicts.append((label, hi["distinct_classes_per_clip"] >= lo["distinct_classes_per_clip"]
                         and hi["false_negative_rate"] >= lo["false_negative_rate"], lo, hi))
    holds = all(ok for _, ok, _, _ in verdicts)
    why = "; ".join(f"{label}: from tau {min(taus)} to {max(taus)} the negatives per clip span "
                    f"{lo['distinct_classes_per_clip']:.1f} -> {hi['distinct_classes_per_clip']:.1f} classes and the "
                    f"false-negative rate goes {lo['false_negative_rate']:.1%} -> {hi['false_negative_rate']:.1%} "
                    f"(one draw per training clip)" for label, _, lo, hi in verdicts) + \
        "; whether diversity matters more than label accuracy needs trained models."
    body = "\n".join(lines)
    markdown = (f"**Fig. 13 (negatives per tau).** The negatives similarity-based sampling (Alg. 1) draws for one "
                f"training clip under each tau.\n\n{body}\n\n*Paper:* {claim} *Here:* {_verdict(holds)}: {why}")
    return Figure(name, None, json_path, markdown, claim, holds)


def _all_clips(data: TrainPool, sampler: SimilarityNegativeSampler, n: int, seed: int,
               class_sets: Mapping[str, set]) -> dict:
    """One draw per training clip: false-negative rate, distinct negative classes per clip, short clips."""
    n_neg = n_fn = short = 0
    distinct = []
    for i, (clip, present) in enumerate(zip(data.clips, data.present)):
        positives = [p.text for p in clip.phrases]
        negatives = sampler.sample(positives, n, np.random.default_rng([seed, i]))
        n_neg += len(negatives)
        n_fn += sum(bool(class_sets.get(t, set()) & present) for t in negatives)
        short += len(negatives) < max(0, n - len(positives))
        distinct.append(len({k for t in negatives for k in class_sets.get(t, ())}))
    return {"clips": len(data.clips), "negatives": n_neg, "false_negative_rate": n_fn / max(n_neg, 1),
            "distinct_classes_per_clip": float(np.mean(distinct)) if distinct else 0.0,
            "short_clip_share": short / max(len(data.clips), 1)}


# --------------------------------------------------------------------------- all together


def write_index(figures: Sequence[Figure], out_dir: Path, title: str = "Figures without a trained model") -> Path:
    """``out_dir/README.md``: every figure's paragraph, with its image."""
    out_dir = Path(out_dir)
    parts = [f"# {title}", ""]
    for f in figures:
        parts += [f"## {f.name}", ""]
        if f.png is not None:
            parts += [f"![{f.name}]({f.png.name})", ""]
        parts += [f.markdown, "", f"Numbers: [`{f.json.name}`]({f.json.name})", ""]
    path = out_dir / "README.md"
    with atomic_open(path, encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    return path


def make_figures(data_dir: Path, out_dir: Path, embedders: Mapping[str, PhraseEmbedder],
                 clap_folder: Path | None = None, seed: int = 0, n_clusters: Sequence[int] = N_CLUSTERS,
                 taus: Sequence[float] = TAUS, log: Callable[[str], None] | None = None) -> list[Figure]:
    """Figs. 4, 11, 12 and 13 into ``out_dir`` (with ``README.md``); CLAP joins Figs. 12 and 13 when given.

    Fig. 11 clusters with every embedder given here (the paper clusters CLAP embeddings).
    """
    say = log or (lambda m: None)
    embedders = {k: cached_embedder(v) for k, v in embedders.items()}
    if clap_folder is not None:
        embedders["clap"] = cached_embedder(clap_embedder(Path(clap_folder)))
    figures = []
    for label, make in (("fig4", lambda: fig4(data_dir, out_dir)),
                        ("fig11", lambda: fig11(data_dir, out_dir, embedders, n_clusters, seed=seed)),
                        ("fig12", lambda: fig12(data_dir, out_dir, embedders, taus)),
                        ("fig13", lambda: fig13(data_dir, out_dir, embedders, taus, seed=seed))):
        start = time.perf_counter()
        figures.append(make())
        say(f"[figures] {label}: {time.perf_counter() - start:.1f} s")
    write_index(figures, out_dir)
    return figures


def short_test_pair(data_dir: Path, seed: int = 0) -> tuple[str, str, list[tuple[float, float]]]:
    """(audio id, phrase, reference segments) of one short-duration test pair drawn with ``seed``.

    The paper draws Fig. 14's pair at random from the short-duration subset; a fixed seed
    makes it the same pair on every run.
    """
    from wstag.data.audiogrounding import read_v2

    clips = read_v2(Corpus(data_dir).labels("test"), require_segments=True)
    pairs = [(c.audio_id, p.text, [(s.onset, s.offset) for s in p.segments])
             for c in clips for p in c.phrases if p.segments and p.is_short(c.duration or 10.0)]
    if not pairs:
        raise ValueError(f"{data_dir}: the test split has no short-duration pair")
    return pairs[int(np.random.default_rng(seed).integers(len(pairs)))]


def fig14(data_dir: Path, out_dir: Path, models: Mapping[str, Path], seed: int = 0, name: str = "fig14") -> Figure:
    """Paper Fig. 14: one short test pair, each system's frame probability on the spectrogram.

    ``models`` maps a label (baseline WSTAG, our best WSTAG, SSTAG) to a model folder.
    """
    from wstag.inference.grounder import Grounder
    from wstag.inference.plot import draw_logmel

    audio_id, phrase, reference = short_test_pair(data_dir, seed)
    audio_path = Path(data_dir) / "test" / "audio" / audio_id
    curves, front_end = {}, None
    for label, folder in models.items():
        grounder = Grounder.load(folder, device="cpu")
        front_end = front_end or grounder.front_end
        scores = grounder.scores(audio_path, [phrase])
        curves[label] = (scores.times + front_end.grid.output_hop_s / 2, scores.probabilities[:, 0])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.6), sharex=True, gridspec_kw={"height_ratios": [1.4, 1]})
    duration = draw_logmel(top, audio_path, front_end)
    top.set_title(f'{audio_id}: "{phrase}"', fontsize=10)
    for onset, offset in reference:
        bottom.axvspan(onset, offset, color="0.85", label="reference" if onset == reference[0][0] else None)
    for label, (t, p) in curves.items():
        bottom.plot(t, p, label=label, lw=1.4)
    bottom.set_ylim(0, 1.02)
    bottom.set_xlim(0, duration)
    bottom.set_xlabel("time (s)")
    bottom.set_ylabel("probability")
    bottom.legend(fontsize=7, loc="upper right")
    png = _save_png(fig, Path(out_dir) / f"{name}.png")
    inside = {label: float(np.mean([p[(t >= on) & (t < off)].mean() for on, off in reference]))
              for label, (t, p) in curves.items()}
    outside = {label: float(p[~np.any([(t >= on) & (t < off) for on, off in reference], axis=0)].mean())
               for label, (t, p) in curves.items()}
    data = {"audio_id": audio_id, "phrase": phrase, "reference": reference, "seed": seed,
            "models": {k: str(v) for k, v in models.items()}, "mean_inside": inside, "mean_outside": outside}
    json_path = _write_json(Path(out_dir) / f"{name}.json", data)
    contrast = {k: inside[k] - outside[k] for k in curves}
    best = max(contrast, key=contrast.get)
    labels = list(models)
    holds = None if len(labels) < 3 else contrast[labels[1]] > contrast[labels[0]]
    body = (f'The short test pair drawn with seed {seed}: "{phrase}" in {audio_id} '
            f"({', '.join(f'{a:.2f}-{b:.2f} s' for a, b in reference)}). Mean probability inside the reference "
            f"minus outside: " + ", ".join(f"{k} {contrast[k]:+.2f}" for k in curves) + f"; sharpest: {best}.")
    claim = ("The baseline (sentence-level, mean pooling) fires on every non-silent segment; SSTAG does not "
             "produce perfect predictions either; the proposed WSTAG system predicts the onsets and offsets "
             "accurately (VI-E, on a pair of a rare class).")
    why = (f"on this pair {labels[1]} separates the event from the rest of the clip "
           f"{'better' if holds else 'no better'} than {labels[0]}" if holds is not None else "needs three models")
    return Figure(name, png, json_path, _paragraph("Fig. 14 (one short pair).", body, claim, holds, why),
                  claim, holds)
