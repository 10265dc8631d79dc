"""Log-mel throughput on CPU: 10 s clips per second, batch 32 (printed, not asserted).

    python benchmarks/bench_logmel.py [--batch 32] [--repeats 5] [--threads N]

Tells how much of an epoch's time the front end costs and whether caching features
is worth it.
"""

from __future__ import annotations

import argparse
import time

import torch

from wstag.audio.features import LogMel
from wstag.audio.frames import SAMPLE_RATE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    module = LogMel().eval()
    audio = torch.randn(args.batch, int(args.seconds * SAMPLE_RATE)) * 0.1  # (B, n)
    with torch.inference_mode():
        module(audio)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            module(audio)
            times.append(time.perf_counter() - t0)
    best, mean = min(times), sum(times) / len(times)
    print(
        f"log-mel on CPU ({torch.get_num_threads()} threads), batch {args.batch} x "
        f"{args.seconds:g} s: {args.batch / best:.0f} clips/s best, "
        f"{args.batch / mean:.0f} clips/s mean ({best * 1000:.0f} ms per batch best, "
        f"{args.batch * args.seconds / best:.0f}x real time)"
    )


if __name__ == "__main__":
    main()
