"""How clean are the sampled negatives? False-negative rate and speed of each sampler.

On the embedded benchmark every phrase's sound class is known (labels.json), so a
sampled negative whose class is present in the clip (an uncaptioned background bed
included) is a false negative, the label noise Alg. 1 and 2 exist to remove. Prints,
per strategy: false negatives per clip, their share of the negatives, how many
distinct classes the negatives cover, and milliseconds per clip.
Usage: python benchmarks/bench_negative_sampling.py CLAP_DIR DATA_DIR [--n 32]
(CLAP_DIR is a run's `clap/model` folder, written by training with a similarity or
clustering config.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from wstag.data.audiogrounding import read_v2, read_weak_v2
from wstag.models.clap import load_clap
from wstag.sampling.clustering_sampler import ClusteringNegativeSampler
from wstag.sampling.random_sampler import RandomNegativeSampler
from wstag.sampling.similarity_sampler import SimilarityNegativeSampler
from wstag.training.clap import phrase_embedder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clap_dir", type=Path)
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--n", type=int, default=32, help="phrases per clip (positives + negatives)")
    ap.add_argument("--clips", type=int, default=500)
    args = ap.parse_args()

    weak = [c for c in read_weak_v2(args.data_dir / "train" / "weak.json") if c.phrases]
    strong = {c.audio_id: c for c in read_v2(args.data_dir / "train" / "labels.json", require_segments=True)}
    class_of = {p.text: k for c in strong.values() for p, k in zip(c.phrases, c.extra["phrase_classes"])}
    pool = [p.text for c in weak for p in c.phrases]
    model, vocab = load_clap(args.clap_dir)
    embed = phrase_embedder(model, vocab)
    samplers = {
        "random": RandomNegativeSampler(pool),
        "similarity (tau 0.5)": SimilarityNegativeSampler(pool, embed, 0.5),
        "clustering (k-means 32)": ClusteringNegativeSampler(pool, embed, 32),
    }
    print(f"{len(set(pool))} distinct training phrases, {len(set(class_of.values()))} classes, n = {args.n}")
    print(f"{'strategy':<26}{'negatives/clip':>15}{'false neg/clip':>15}{'share':>8}{'classes':>9}{'ms/clip':>9}")
    for name, sampler in samplers.items():
        rng = np.random.default_rng(0)
        n_neg = n_false = 0
        covered = set()
        start = time.perf_counter()
        clips = weak[: args.clips]
        for clip in clips:
            positives = list(dict.fromkeys(p.text for p in clip.phrases))
            negatives = sampler.sample(positives, args.n, rng)
            present = set(strong[clip.audio_id].extra["classes_present"])
            n_neg += len(negatives)
            n_false += sum(class_of.get(q) in present for q in negatives)
            covered.update(class_of.get(q) for q in negatives)
        ms = 1000 * (time.perf_counter() - start) / len(clips)
        print(f"{name:<26}{n_neg / len(clips):>15.1f}{n_false / len(clips):>15.2f}"
              f"{n_false / max(n_neg, 1):>8.1%}{len(covered - {None}):>9}{ms:>9.2f}")


if __name__ == "__main__":
    main()
