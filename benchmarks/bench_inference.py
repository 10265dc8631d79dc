"""Inference speed of a model folder: 10 s clips in batches, and a second query on cached audio.

Prints clips/s and the real-time factor for the audio side (log-mel + CRNN), and the
time of a second query on the same recording, which must not run the audio encoder
again. Usage: python benchmarks/bench_inference.py MODEL_DIR [--batch 32] [--batches 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from wstag.inference.grounder import Grounder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = Grounder(args.model_dir)
    rng = np.random.default_rng(0)
    clips = [(0.1 * rng.standard_normal(320_000)).astype(np.float32) for _ in range(args.batch)]
    g.embed_waveforms(clips[:2])  # warm-up
    start = time.perf_counter()
    for _ in range(args.batches):
        g.embed_waveforms(clips)
    secs = time.perf_counter() - start
    n = args.batch * args.batches
    print(f"audio side, batch {args.batch} x 10 s, {args.threads} threads: {n / secs:.1f} clips/s, "
          f"{n * 10 / secs:.0f}x real time")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.flac"
        sf.write(path, clips[0], 32000)
        t0 = time.perf_counter()
        g.ground(path, ["a dog barks"])
        t1 = time.perf_counter()
        calls = g.audio_encoder_calls
        g.ground(path, ["a man speaks", "rain falls", "a bell rings"])
        t2 = time.perf_counter()
        print(f"first query on a file: {1000 * (t1 - t0):.1f} ms; second query (3 phrases): "
              f"{1000 * (t2 - t1):.1f} ms; audio encoder re-run: {g.audio_encoder_calls != calls}")


if __name__ == "__main__":
    main()
