"""Evaluation cost on a `small`-sized test split: seconds for PSDS and Th-AUC (printed).

Th-AUC is timed in both conventions: the paper's (``metrics.th_auc``, detection-counted)
and sed_scores_eval's (``metrics.th_auc_sed``, from the shared intersection deltas).

    python benchmarks/bench_evaluation.py [--clips 400] [--median 1]

Synthetic strong labels (10 s clips, 2-5 phrases, about 3.2 on average, 250 frames of
40 ms) and model-like scores (ground truth blurred, plus noise, so nearly every frame
is a distinct change point: the worst case for sed_scores_eval's sweep).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from wstag.audio.frames import DEFAULT_GRID
from wstag.evaluation import metrics
from wstag.evaluation.pairs import build_pair_inputs
from wstag.evaluation.segments import median_filter
from wstag.records import Clip, Phrase, Segment


def synthetic(n_clips: int, seed: int = 0) -> tuple[list[Clip], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    grid, n = DEFAULT_GRID, 250
    clips, scores = [], {}
    for c in range(n_clips):
        phrases = []
        n_phr = int(rng.choice([2, 3, 4, 5], p=[0.25, 0.4, 0.25, 0.1]))  # mean 3.2
        for i in range(n_phr):
            if rng.random() < 0.3:
                a = int(rng.integers(0, 100))
                spans = [(a, int(rng.integers(a + 150, n + 1)) if a + 150 <= n else n)]
            else:
                k = int(rng.integers(1, 4))
                starts = np.sort(rng.choice(np.arange(0, 230, 70), size=k, replace=False))
                spans = [(int(s), int(s + rng.integers(5, 60))) for s in starts]
            segs = tuple(Segment(grid.frame_time(a), grid.frame_time(b)) for a, b in spans)
            phrases.append(Phrase(f"sound {i}", i, i, segs))
            truth = grid.segments_to_frame_mask(segs, n)
            smooth = np.convolve(truth, np.ones(9) / 9, mode="same")
            noisy = 0.6 * smooth + 0.6 * rng.random(n)
            scores[f"c{c}#{i}"] = np.clip(noisy, 0, 1).astype(np.float32)
        tokens = tuple(f"t{i}" for i in range(n_phr))
        clips.append(Clip(f"c{c}", " ".join(tokens), tokens, tuple(phrases), duration=10.0))
    return clips, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--median", type=int, default=1, help="Th-AUC median filter window")
    args = parser.parse_args()

    clips, scores = synthetic(args.clips)
    t0 = time.perf_counter()
    inputs = build_pair_inputs(clips, scores, grid=DEFAULT_GRID)
    _ = inputs.scores
    t1 = time.perf_counter()
    d = metrics.deltas(inputs)
    t2 = time.perf_counter()
    p_whole = metrics.psds(inputs, pair_deltas=d)
    p_short = metrics.psds(inputs.short(), pair_deltas=d)
    t3 = time.perf_counter()
    th_inputs, d_th = inputs, d
    if args.median != 1:
        th_inputs = inputs.map_scores(lambda s: median_filter(s, args.median))
        d_th = metrics.deltas(th_inputs)
    a_whole = metrics.th_auc_sed(th_inputs, pair_deltas=d_th)
    a_short = metrics.th_auc_sed(th_inputs.short(), pair_deltas=d_th)
    t4 = time.perf_counter()
    metrics.th_auc_sed(th_inputs.short())  # without shared deltas: its own sweep
    t5 = time.perf_counter()
    out = metrics.evaluate(clips, scores, median_window=args.median, grid=DEFAULT_GRID)
    t6 = time.perf_counter()
    b_whole = metrics.th_auc(th_inputs)
    b_short = metrics.th_auc(th_inputs.short())
    t7 = time.perf_counter()

    print(f"{len(clips)} clips, {len(inputs)} pairs ({len(inputs.short())} short), 250 frames")
    print(f"  build inputs + data frames       {t1 - t0:6.2f} s")
    print(f"  intersection deltas (one sweep)  {t2 - t1:6.2f} s")
    print(f"  PSDS whole + short from deltas   {t3 - t2:6.2f} s   "
          f"({100 * p_whole:.1f} / {100 * p_short:.1f})")
    print(f"  Th-AUC sed whole + short (50 thr){t4 - t3:6.2f} s   "
          f"({100 * a_whole:.1f} / {100 * a_short:.1f})"
          + ("" if args.median == 1 else "  incl. filtered sweep"))
    print(f"  Th-AUC sed short, own sweep      {t5 - t4:6.2f} s")
    print(f"  Th-AUC paper's, whole + short    {t7 - t6:6.2f} s   "
          f"({100 * b_whole:.1f} / {100 * b_short:.1f})")
    print(f"  evaluate() end to end            {t6 - t5:6.2f} s   {out}")


if __name__ == "__main__":
    main()
