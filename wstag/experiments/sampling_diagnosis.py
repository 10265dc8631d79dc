"""Why does a negative sampler help or hurt? Measurements on a corpus's training phrases.

Issue 11: similarity sampling (Alg. 1, tau 0.5, n 32) trains worse grounding models
than random sampling on the benchmark corpus, where the paper finds the opposite. The
sampler's output can be judged without training anything, because the benchmark corpus
knows the true sound class of every phrase (``labels.json``: ``phrase_classes``) and
every class audible in a clip (``classes_present``, with an uncaptioned background).
Training never reads those; these diagnostics only measure:

1. embedding quality: do the phrase embeddings separate the true classes (k-means
   purity and adjusted Rand index, nearest-neighbour class agreement, how many
   different-class phrase pairs a threshold tau would treat as "too similar")?
2. the samplers' draws, one epoch exactly as ``PhraseLevelDataset`` makes them: the
   false-negative rate, clips left short of negatives, class pairs never drawn although
   eligible (over-exclusion), and the balance of the negative classes (Alg. 2's claim);
3. a text-only probe: can a classifier that never hears audio predict the sampled
   label from the phrase alone? If it can, the loss can fall without listening.

Everything is computed on the *training* split's phrase pool, every phrase occurrence,
as the samplers see it.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from wstag.data.phrase_classes import NO_CLASS, TrainPool, load_train_pool
from wstag.records import Clip
from wstag.sampling.clustering_sampler import CLUSTER_DRAWS, ClusteringNegativeSampler, cluster_labels
from wstag.text.embedder import PhraseEmbedder
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.sampling.similarity_sampler import SimilarityNegativeSampler

TOP = 10  # offenders listed per table


# --------------------------------------------------------------------------- data


def _memoised(embed: PhraseEmbedder, texts: Sequence[str]) -> tuple[PhraseEmbedder, np.ndarray]:
    """Embed ``texts`` once; the returned embedder answers from that table (samplers re-embed the pool)."""
    vectors = np.asarray(embed(list(texts)), dtype=np.float32)
    index = {t: i for i, t in enumerate(texts)}

    def cached(batch: Sequence[str]) -> np.ndarray:
        batch = list(batch)
        if all(t in index for t in batch):
            return vectors[[index[t] for t in batch]]
        return np.asarray(embed(batch), dtype=np.float32)

    return cached, vectors


# --------------------------------------------------------------------------- 1. embedding quality


def cluster_purity(clusters: Sequence[int], classes: Sequence[Any], weights: Sequence[float] | None = None) -> float:
    """Share of the (weighted) items that belong to their cluster's majority class."""
    weights = np.ones(len(clusters)) if weights is None else np.asarray(weights, dtype=np.float64)
    table: dict[Any, Counter] = defaultdict(Counter)
    for k, c, w in zip(clusters, classes, weights):
        table[k][c] += w
    return float(sum(max(t.values()) for t in table.values()) / weights.sum())


def weighted_ari(clusters: Sequence[int], classes: Sequence[Any], counts: Sequence[int] | None = None) -> float:
    """Adjusted Rand index of clusters against classes, each item repeated ``counts`` times."""
    from sklearn.metrics import adjusted_rand_score

    counts = np.ones(len(clusters), dtype=int) if counts is None else np.asarray(counts, dtype=int)
    ids = {c: i for i, c in enumerate(dict.fromkeys(classes))}
    return float(adjusted_rand_score(np.repeat([ids[c] for c in classes], counts), np.repeat(clusters, counts)))


def nearest_neighbour_accuracy(vectors: np.ndarray, classes: Sequence[Any],
                               weights: Sequence[float] | None = None) -> float:
    """Share of (weighted) phrases whose most similar *other* phrase has the same class."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    hit = np.array([classes[i] == classes[j] for i, j in enumerate(nearest)], dtype=np.float64)
    weights = np.ones(len(hit)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float((hit * weights).sum() / weights.sum())


def embedding_quality(texts: Sequence[str], counts: Sequence[int], classes: Sequence[str], vectors: np.ndarray,
                      n_clusters: int = 32, thresholds: Sequence[float] = (0.5,), seed: int = 0) -> dict:
    """How well unit-norm phrase ``vectors`` separate the true ``classes`` (one per distinct text).

    Weights are occurrence counts: a phrase counts as often as the samplers' pool holds it.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_classes = len(set(classes))
    out: dict[str, Any] = {"n_phrases": len(texts), "n_classes": n_classes}
    for name, k in ((f"kmeans_{n_clusters}", n_clusters), ("kmeans_n_classes", n_classes)):
        k = min(k, len(texts))
        labels = cluster_labels(vectors, k, "kmeans", seed)
        out[name] = {"n_clusters": k, "purity": cluster_purity(labels, classes, counts),
                     "ari": weighted_ari(labels, classes, counts.astype(int))}
    out["nn_accuracy"] = nearest_neighbour_accuracy(vectors, classes, counts)
    out["nn_accuracy_distinct"] = nearest_neighbour_accuracy(vectors, classes)
    # Pairs of distinct phrases, weighted by both counts: what tau would call "the same sound".
    sims = vectors @ vectors.T
    ids = {c: i for i, c in enumerate(dict.fromkeys(classes))}
    cls = np.asarray([ids[c] for c in classes])
    same = cls[:, None] == cls[None, :]
    off = ~np.eye(len(texts), dtype=bool)
    w = counts[:, None] * counts[None, :]
    same_w, cross_w = w * (same & off), w * ~same
    out["mean_cos_same_class"] = float((sims * same_w).sum() / max(same_w.sum(), 1e-12))
    out["mean_cos_cross_class"] = float((sims * cross_w).sum() / max(cross_w.sum(), 1e-12))
    out["tau"] = {
        str(t): {
            # of same-class pairs, the share tau rejects (good: paraphrases are caught)
            "same_class_at_or_above": float((same_w * (sims >= t)).sum() / max(same_w.sum(), 1e-12)),
            # of different-class pairs, the share tau rejects (collateral: absent sounds excluded)
            "cross_class_at_or_above": float((cross_w * (sims >= t)).sum() / max(cross_w.sum(), 1e-12)),
        }
        for t in thresholds
    }
    # class centroids: which classes the embedding puts closest together
    names = sorted(set(classes))
    cent = np.stack([vectors[[c == k for c in classes]].T @ counts[[c == k for c in classes]] for k in names])
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
    csim = cent @ cent.T
    pairs = sorted(((float(csim[i, j]), names[i], names[j]) for i in range(len(names))
                    for j in range(i + 1, len(names))), reverse=True)
    out["closest_class_pairs"] = [{"a": a, "b": b, "cos": round(s, 4)} for s, a, b in pairs[:TOP]]
    return out


# --------------------------------------------------------------------------- 2. the samplers' draws


class _TextVocab:
    """Vocabulary stand-in: ``encode`` returns the phrase itself, so dataset items carry texts."""

    @staticmethod
    def encode(text: str) -> str:
        return text


class _NoFeatures:
    """Feature-store stand-in: the draw needs no audio."""

    def __getitem__(self, audio_id: str) -> None:
        return None


@dataclass(frozen=True)
class Draw:
    """One clip's item: its positives, its sampled negatives and how many negatives were wanted."""

    clip_index: int  # into TrainPool.clips
    positives: list[str]
    negatives: list[str]
    wanted: int


def draw_epoch(sampler, clips: Sequence[Clip], n: int, seed: int = 0, epoch: int = 0) -> list[Draw]:
    """One epoch's phrases for every clip, drawn by ``PhraseLevelDataset`` itself (same seeds, same order)."""
    from wstag.training.datasets import PhraseLevelDataset

    ds = PhraseLevelDataset(clips, _NoFeatures(), _TextVocab(), sampler, n, seed)
    ds.epoch = epoch
    position = {id(c): i for i, c in enumerate(clips)}
    draws = []
    for i in range(len(ds)):
        item = ds[i]
        n_pos = int(item["labels"].sum())
        texts = item["tokens"]
        draws.append(Draw(position[id(ds.clips[i])], texts[:n_pos], texts[n_pos:], max(0, n - n_pos)))
    return draws


def similar_negative_share(clips: Sequence[Clip], embed: PhraseEmbedder, n: int = 32,
                           thresholds: Sequence[float] = (0.3, 0.5, 0.7), seed: int = 0) -> dict:
    """One epoch of random sampling over ``clips``: how many negatives lie within cosine tau of a positive.

    It needs no class labels, so it measures real AudioGrounding files as well as the
    benchmark: the share at tau 0.5 is what Alg. 1 would exclude from random sampling's
    negatives, a proxy for its false negatives where the classes are unknown.
    """
    clips = [c.weak() for c in clips if c.phrases]  # strong label files too: the draw reads no segments
    pool = [p.text for c in clips for p in c.phrases]
    texts = sorted(set(pool))
    index = {t: i for i, t in enumerate(texts)}
    vectors = np.asarray(embed(texts), dtype=np.float32)
    best: list[float] = []
    for d in draw_epoch(RandomNegativeSampler(pool), clips, n, seed):
        if d.positives and d.negatives:
            pos = vectors[[index[t] for t in d.positives]]
            best.extend((vectors[[index[t] for t in d.negatives]] @ pos.T).max(axis=1).tolist())
    best_arr = np.asarray(best)
    return {"clips": len(clips), "phrase_occurrences": len(pool), "distinct_phrases": len(texts), "n": n,
            "seed": seed, "negatives": len(best), "mean_max_cos": round(float(best_arr.mean()), 4),
            "share_within_tau": {str(t): round(float((best_arr >= t).mean()), 4) for t in thresholds}}


def _entropy(counts: Iterable[float]) -> float:
    p = np.asarray([c for c in counts if c > 0], dtype=np.float64)
    p /= p.sum()
    return float(-(p * np.log(p)).sum())


def draw_statistics(draws: Sequence[Draw], data: TrainPool, text_class: Mapping[str, str | None],
                    text_class_sets: Mapping[str, set], reference: Mapping[tuple[str, str], int] | None = None) -> dict:
    """False negatives, shortfall, over-exclusion and balance of one epoch's ``draws``.

    A negative is a false negative when any class its text names is audible in the clip;
    "captioned" when that class is also one of the clip's positive classes (a paraphrase
    tau could catch), "background" otherwise (an uncaptioned sound no text can reveal).
    Over-exclusion: class pairs (c, d) with clips that contain c, lack d, and never got
    a negative of class d. ``reference`` (pair -> draws) is the random sampler's, for scale.
    """
    n_neg = n_fn = n_fn_captioned = n_short = 0
    neg_classes: Counter = Counter()
    pos_classes_drawn: Counter = Counter(text_class.get(t) for d in draws for t in d.positives)
    fn_classes: Counter = Counter()
    eligible: Counter = Counter()  # (positive class c, absent class d) -> clips
    drawn: Counter = Counter()  # (c, d) -> negatives of class d in clips with c
    all_classes = sorted({k for s in data.present for k in s})
    for d in draws:
        present = data.present[d.clip_index]
        pos_classes = {k for k in data.phrase_classes[d.clip_index] if k is not NO_CLASS}
        n_short += len(d.negatives) < d.wanted
        for text in d.negatives:
            n_neg += 1
            cls = text_class.get(text)
            neg_classes[cls] += 1
            hit = text_class_sets.get(text, set()) & present
            if hit:
                n_fn += 1
                fn_classes[cls] += 1
                n_fn_captioned += bool(hit & pos_classes)
            for c in pos_classes:
                drawn[(c, cls)] += 1
        for c in pos_classes:
            for k in all_classes:
                if k not in present:
                    eligible[(c, k)] += 1
    never = [(pair, e) for pair, e in eligible.items() if drawn[pair] == 0]
    never.sort(key=lambda x: (-x[1], x[0]))
    classed = {k: v for k, v in neg_classes.items() if k is not NO_CLASS}
    n_classes = len(all_classes)
    wanted = sum(d.wanted for d in draws)
    # P(label = 1 | class): constant for an unbiased sampler; its spread is a shortcut the
    # loss can take without listening (the class probe below measures the same thing)
    rate = {k: pos_classes_drawn[k] / (pos_classes_drawn[k] + neg_classes[k]) for k in all_classes
            if pos_classes_drawn[k] + neg_classes[k]}
    ranked = sorted(rate.items(), key=lambda x: (-x[1], x[0]))
    return {
        "clips": len(draws),
        "negatives": n_neg,
        "negatives_wanted": wanted,
        "mean_negatives": n_neg / max(len(draws), 1),
        "short_clip_share": n_short / max(len(draws), 1),
        "missing_negative_share": 1 - n_neg / wanted if wanted else 0.0,
        "false_negative_rate": n_fn / max(n_neg, 1),
        "false_negative_rate_captioned": n_fn_captioned / max(n_neg, 1),
        "false_negative_rate_background": (n_fn - n_fn_captioned) / max(n_neg, 1),
        "false_negative_top_classes": [{"class": k, "count": v} for k, v in fn_classes.most_common(TOP)],
        "distinct_negative_classes": len(classed),
        "n_classes": n_classes,
        "negative_class_entropy": _entropy(classed.values()),
        "negative_class_entropy_normalised": _entropy(classed.values()) / math.log(n_classes) if n_classes > 1 else 1.0,
        "negative_class_max_share": max(classed.values()) / sum(classed.values()) if classed else 0.0,
        "negative_class_max": max(classed, key=classed.get) if classed else None,
        "negative_class_min_share": min(classed.get(k, 0) for k in all_classes) / max(sum(classed.values()), 1),
        "class_label_rate": {
            "min": min(rate.values(), default=float("nan")), "max": max(rate.values(), default=float("nan")),
            "std": float(np.std(list(rate.values()))) if rate else float("nan"),
            "highest": [{"class": k, "rate": round(v, 4)} for k, v in ranked[:5]],
            "lowest": [{"class": k, "rate": round(v, 4)} for k, v in ranked[::-1][:5]],
        },
        "eligible_pairs": len(eligible),
        "never_drawn_pairs": len(never),
        "never_drawn_pair_share": len(never) / max(len(eligible), 1),
        "never_drawn_eligible_clip_share": sum(e for _, e in never) / max(sum(eligible.values()), 1),
        "over_exclusion_top": [
            {"positive_class": c, "negative_class": k, "eligible_clips": e,
             **({"random_draws": int(reference.get((c, k), 0))} if reference is not None else {})}
            for (c, k), e in never[:TOP]
        ],
        "_pair_draws": drawn,  # removed before returning JSON; the random sampler's is the reference
    }


# --------------------------------------------------------------------------- 3. the text-only probe


@dataclass(frozen=True)
class Examples:
    """(phrase, label) examples of a draw: the clip each came from, its text, its true class, its label."""

    clip_ids: np.ndarray
    texts: list[str]
    classes: list[Any]
    labels: np.ndarray

    def subset(self, mask: np.ndarray) -> "Examples":
        return Examples(self.clip_ids[mask], [t for t, m in zip(self.texts, mask) if m],
                        [c for c, m in zip(self.classes, mask) if m], self.labels[mask])


def draw_examples(draws: Sequence[Draw], text_class: Mapping[str, Any]) -> Examples:
    """One epoch's draws as examples: positives labelled 1, negatives 0."""
    ids, texts, labels = [], [], []
    for d in draws:
        for t, y in [(t, 1) for t in d.positives] + [(t, 0) for t in d.negatives]:
            ids.append(d.clip_index)
            texts.append(t)
            labels.append(y)
    return Examples(np.asarray(ids, dtype=int), texts, [text_class.get(t) for t in texts],
                    np.asarray(labels, dtype=int))


def text_probe(train: Examples, test: Examples) -> dict:
    """ROC AUC on ``test`` of text-only classifiers of the label fitted on ``train`` (0.5: no shortcut).

    Probes: logistic regression on TF-IDF word uni- and bigrams of the phrase, and on the
    one-hot true class of the phrase. Neither ever hears audio.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import OneHotEncoder

    out: dict[str, Any] = {"train_examples": len(train.labels), "test_examples": len(test.labels),
                           "label_prior": float(test.labels.mean()) if len(test.labels) else float("nan")}
    if len(set(train.labels.tolist())) < 2 or len(set(test.labels.tolist())) < 2:
        return {**out, "tfidf_auc": float("nan"), "class_auc": float("nan")}

    def classes(e: Examples) -> np.ndarray:
        return np.asarray(["" if c is None else str(c) for c in e.classes], dtype=object)[:, None]

    for name, encoder, x_train, x_test in (
        ("tfidf_auc", TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b"), train.texts, test.texts),
        ("class_auc", OneHotEncoder(handle_unknown="ignore"), classes(train), classes(test)),
    ):
        model = LogisticRegression(max_iter=2000).fit(encoder.fit_transform(x_train), train.labels)
        out[name] = float(roc_auc_score(test.labels, model.predict_proba(encoder.transform(x_test))[:, 1]))
    return out


def clip_split(examples: Examples, seed: int = 0, test_share: float = 0.2) -> tuple[Examples, Examples]:
    """Hold out ``test_share`` of the clips: a held-out clip's phrases were never seen with their labels."""
    unique = np.unique(examples.clip_ids)
    held = np.random.default_rng(seed).permutation(unique)[: max(1, round(test_share * len(unique)))]
    test = np.isin(examples.clip_ids, held)
    return examples.subset(~test), examples.subset(test)


def probe_draws(draws: Sequence[Draw], text_class: Mapping[str, Any], seed: int = 0,
                next_epoch: Sequence[Draw] | None = None) -> dict:
    """``text_probe`` on one epoch's draws, split by clip (80/20), and across epochs if given.

    The clip split reads below 0.5 even for an unbiased sampler: a held-out clip's
    positives are missing from the training examples, so their texts look less positive
    there (the rarer the text, the more). Compare a sampler with random's figure. The
    epoch split (fit on every clip's draw of epoch 0, test on epoch 1's fresh negatives)
    has no such bias and asks what training sees: does a label learnt from one epoch's
    wording predict the next epoch's? 0.5 for an unbiased sampler.
    """
    examples = draw_examples(draws, text_class)
    out = {"clip_split": text_probe(*clip_split(examples, seed))}
    if next_epoch is not None:
        out["epoch_split"] = text_probe(examples, draw_examples(next_epoch, text_class))
    return out


# --------------------------------------------------------------------------- all together


def diagnose_sampling(data_dir: Path, embedders: dict[str, PhraseEmbedder], n_values: Sequence[int] = (8, 16, 32),
                      thresholds: Sequence[float] = (0.3, 0.5, 0.7), n_clusters: int = 32, seed: int = 0,
                      batch: int = 64, probe: bool = True) -> dict:
    """Embedding quality, sampler draws and text-only probes on ``data_dir``'s training phrases.

    ``embedders`` maps a name ("clap", "sbert") to a ``PhraseEmbedder``; the random
    sampler needs none and is measured once. Returns a JSON-ready dict (see
    ``format_diagnosis`` for a summary).
    """
    start = time.perf_counter()
    data = load_train_pool(Path(data_dir))
    pool = data.pool
    counts = Counter(pool)
    texts = sorted(counts)
    by_text = data.text_classes()
    text_class = data.majority_classes()
    text_class_sets = {t: {k for k in c if k is not NO_CLASS} for t, c in by_text.items()}
    classed = [t for t in texts if text_class[t] is not NO_CLASS]
    class_counts = Counter(text_class[t] for t in pool)
    result: dict[str, Any] = {
        "data": str(data_dir), "split": "train", "seed": seed, "n_values": list(n_values),
        "thresholds": list(thresholds), "n_clusters": n_clusters,
        "clips": len(data.clips), "phrase_occurrences": len(pool), "distinct_phrases": len(texts),
        "classes": len({k for s in data.present for k in s}),
        "unclassed_occurrence_share": class_counts.get(NO_CLASS, 0) / len(pool),
        "ambiguous_texts": {t: dict(c) for t, c in by_text.items() if len(text_class_sets[t]) > 1},
        "clips_with_uncaptioned_class_share": float(np.mean(
            [bool(p - set(c)) for p, c in zip(data.present, data.phrase_classes)])),
        "phrase_class_counts": {k: v for k, v in class_counts.most_common() if k is not NO_CLASS},
        "embeddings": {}, "samplers": [],
    }
    cached: dict[str, PhraseEmbedder] = {}
    for name, embed in embedders.items():
        cached[name], vectors = _memoised(embed, texts)
        position = {t: i for i, t in enumerate(texts)}
        rows = [position[t] for t in classed]
        result["embeddings"][name] = embedding_quality(
            classed, [counts[t] for t in classed], [text_class[t] for t in classed], vectors[rows],
            n_clusters, thresholds, seed)

    def measure(label: str, embeddings: str | None, params: dict, sampler, reference) -> dict:
        rows = []
        for n in n_values:
            draws = draw_epoch(sampler, data.clips, n, seed)
            stats = draw_statistics(draws, data, text_class, text_class_sets, reference.get(n) if reference else None)
            row = {"sampler": label, "embeddings": embeddings, **params, "n": n, **stats}
            if probe:
                row["probe"] = probe_draws(draws, text_class, seed, draw_epoch(sampler, data.clips, n, seed, epoch=1))
            rows.append(row)
        return rows

    random_rows = measure("random", None, {}, RandomNegativeSampler(pool), None)
    reference = {r["n"]: r["_pair_draws"] for r in random_rows}
    rows = list(random_rows)
    for name, embed in cached.items():
        for tau in thresholds:
            rows += measure("similarity", name, {"tau": tau},
                            SimilarityNegativeSampler(pool, embed, tau, batch), reference)
        for draw in CLUSTER_DRAWS:  # Alg. 2's uniform cluster choice, and in proportion to occurrences
            rows += measure("clustering", name, {"n_clusters": n_clusters, "draw": draw},
                            ClusteringNegativeSampler(pool, embed, n_clusters, "kmeans", seed=seed, draw=draw),
                            reference)
    for r in rows:
        r.pop("_pair_draws")
    result["samplers"] = rows
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _f(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_diagnosis(d: dict) -> str:
    """A markdown summary of ``diagnose_sampling``'s result."""
    lines = [
        "# Negative-sampling diagnosis", "",
        f"Corpus `{d['data']}` ({d['split']} split): {d['clips']} clips, {d['phrase_occurrences']} phrase "
        f"occurrences, {d['distinct_phrases']} distinct phrases, {d['classes']} sound classes; "
        f"{d['clips_with_uncaptioned_class_share']:.0%} of clips have an audible class no phrase names; "
        f"{d['unclassed_occurrence_share']:.1%} of occurrences name no class. Seed {d['seed']}, one epoch's draw.",
        "", "## 1. Do the embeddings separate the true classes?", "",
        f"| embeddings | purity (k={d['n_clusters']}) | ARI (k={d['n_clusters']}) | purity (k=#classes) | "
        "ARI (k=#classes) | NN class acc. | mean cos same / cross class | "
        + " | ".join(f"tau {t}: same / cross pairs >= tau" for t in d["thresholds"]) + " |",
        "|---" * (7 + len(d["thresholds"])) + "|",
    ]
    for name, e in d["embeddings"].items():
        k = e[f"kmeans_{d['n_clusters']}"]
        taus = " | ".join(f"{e['tau'][str(t)]['same_class_at_or_above']:.2f} / "
                          f"{e['tau'][str(t)]['cross_class_at_or_above']:.3f}" for t in d["thresholds"])
        lines.append(f"| {name} | {_f(k['purity'])} | {_f(k['ari'])} | {_f(e['kmeans_n_classes']['purity'])} | "
                     f"{_f(e['kmeans_n_classes']['ari'])} | {_f(e['nn_accuracy'])} | "
                     f"{_f(e['mean_cos_same_class'], 2)} / {_f(e['mean_cos_cross_class'], 2)} | {taus} |")
    for name, e in d["embeddings"].items():
        pairs = ", ".join(f"{p['a']}~{p['b']} {p['cos']:.2f}" for p in e["closest_class_pairs"][:6])
        lines.append(f"\nClosest class centroids ({name}): {pairs}")
    lines += [
        "", "## 2. The samplers' draws", "",
        "FN: share of negatives audible in the clip (captioned paraphrase + uncaptioned background). "
        "Short: clips given fewer negatives than n - #positives. Never-drawn: (positive class, absent class) "
        "pairs with eligible clips but no negative of that class. Entropy normalised by log(#classes). "
        "Probe: ROC AUC of a text-only logistic regression of the sampled label (0.5: no shortcut; the clip "
        "split reads below 0.5 even for random sampling, compare with random's figure).", "",
        "| sampler | n | negatives/clip | short clips | FN | FN captioned | FN background | neg. classes | "
        "entropy | max share (class) | P(label=1 given class) min-max | never-drawn pairs (clip share) | "
        "probe AUC text / class (clip split) | probe AUC text / class (epoch split) |",
        "|---" * 14 + "|",
    ]
    for r in d["samplers"]:
        name = r["sampler"] + (f" {r['embeddings']}" if r["embeddings"] else "")
        name += f" tau {r['tau']}" if "tau" in r else ""
        name += f" {r['draw']} draw" if "draw" in r else ""
        p = r.get("probe", {})
        clip_p, epoch_p = p.get("clip_split", {}), p.get("epoch_split", {})
        lines.append(
            f"| {name} | {r['n']} | {r['mean_negatives']:.1f} | {r['short_clip_share']:.1%} | "
            f"{r['false_negative_rate']:.3f} | {r['false_negative_rate_captioned']:.3f} | "
            f"{r['false_negative_rate_background']:.3f} | {r['distinct_negative_classes']}/{r['n_classes']} | "
            f"{r['negative_class_entropy_normalised']:.3f} | {r['negative_class_max_share']:.3f} "
            f"({r['negative_class_max']}) | {_f(r['class_label_rate']['min'], 2)}-{_f(r['class_label_rate']['max'], 2)} | "
            f"{r['never_drawn_pairs']}/{r['eligible_pairs']} "
            f"({r['never_drawn_eligible_clip_share']:.1%}) | {_f(clip_p.get('tfidf_auc'))} / "
            f"{_f(clip_p.get('class_auc'))} | {_f(epoch_p.get('tfidf_auc'))} / {_f(epoch_p.get('class_auc'))} |")
    lines += ["", "## Over-exclusion: top never-drawn class pairs (n = max)", ""]
    n_max = max(d["n_values"])
    for r in d["samplers"]:
        if r["n"] != n_max or not r["over_exclusion_top"]:
            continue
        name = r["sampler"] + (f" {r['embeddings']}" if r["embeddings"] else "")
        name += f" tau {r['tau']}" if "tau" in r else ""
        name += f" {r['draw']} draw" if "draw" in r else ""
        top = ", ".join(f"{o['positive_class']} -/-> {o['negative_class']} ({o['eligible_clips']} clips"
                        + (f"; random drew {o['random_draws']}" if "random_draws" in o else "") + ")"
                        for o in r["over_exclusion_top"][:6])
        lines.append(f"- **{name}**: {top}")
    lines.append(f"\n({d['seconds']} s)")
    return "\n".join(lines) + "\n"
