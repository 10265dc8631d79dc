"""Feature packing throughput: clips per second by worker count, and AudioCaps' five captions per clip.

    python benchmarks/bench_packing.py runs/demo/corpus/test [--clips 200] [--workers 1,2] [--captions 5]

Packs the first ``--clips`` audio files of a corpus split (10 s clips for a built
corpus) into a temporary cache, once per worker count, and prints recordings packed per
second of wall time (decoding, resampling, log-mel, the HDF5 writes, the workers'
start-up). On a machine shared with other jobs that figure measures the competition
too, so the CPU time of one clip (one thread, after a warm-up) is printed first: N idle
cores pack at most N / that many clips per second. Then the same clips as an imported
AudioCaps split holds them, ``--captions`` ids linking each file: every recording is
computed once. Printed, not asserted; this machine's figures are in
results/feature_packing.md.
"""

from __future__ import annotations

import argparse
import os
import time
import tempfile
from pathlib import Path

import torch

from wstag.audio.frontend import DEFAULT_FRONT_END
from wstag.data.packing import FileFeatures, default_workers, pack_features


def cpu_ms_per_clip(paths: list[str]) -> float:
    """CPU milliseconds to decode and transform one clip on one thread, after a warm-up clip."""
    torch.set_num_threads(1)
    features = FileFeatures(DEFAULT_FRONT_END)
    features(paths[0])
    start = time.process_time()
    for p in paths:
        features(p)
    return 1000 * (time.process_time() - start) / len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", type=Path, help="A corpus split folder (with audio/), e.g. runs/demo/corpus/test")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--workers", default=None, help="comma-separated worker counts (default: 1 and every core)")
    parser.add_argument("--captions", type=int, default=5, help="ids per recording in the linked run (0: skip)")
    args = parser.parse_args()
    audio = args.split / "audio"
    names = sorted(p.name for p in audio.iterdir() if not p.name.startswith("."))[: args.clips]
    counts = [int(w) for w in args.workers.split(",")] if args.workers else sorted({1, default_workers()})
    print(f"{len(names)} clips from {audio}; {default_workers()} cores available, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    ms = cpu_ms_per_clip([str(audio / n) for n in names[:50]])
    print(f"one clip: {ms:.1f} ms of CPU = {1000 / ms:.0f} clips per core-second at most")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in counts:
            r = pack_features(audio, names, Path(tmp) / f"w{workers}.h5", workers=workers, part_size=64, front_end=DEFAULT_FRONT_END)
            print(f"workers {workers}: {r.computed} clips in {r.seconds:.1f} s = {r.clips_per_second:.1f} clips/s "
                  f"(load average {os.getloadavg()[0]:.1f})")
        if args.captions > 1:
            linked = Path(tmp) / "linked"
            linked.mkdir()
            ids = []
            for name in names:
                for k in range(args.captions):
                    os.symlink((audio / name).resolve(), linked / f"{k}_{name}")
                    ids.append(f"{k}_{name}")
            workers = max(counts)
            r = pack_features(linked, ids, Path(tmp) / "linked.h5", workers=workers, part_size=64, front_end=DEFAULT_FRONT_END)
            print(f"{args.captions} ids per recording, workers {workers}: {len(ids)} ids, {r.computed} recordings "
                  f"computed, {r.linked} linked, in {r.seconds:.1f} s = {len(ids) / r.seconds:.1f} ids/s")


if __name__ == "__main__":
    main()
