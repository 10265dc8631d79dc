"""Grounding an hour-long recording: wall time and peak memory of the streamed path.

Writes a long FLAC (the clips of a corpus split laid end to end, repeated until it
lasts ``--minutes``), then grounds two phrases in it with a model folder through
``Grounder`` (30 s blocks with 4 s overlap). Peak resident memory stays bounded by the
block size plus the frame embeddings of the whole file (about 15 MB per 10 minutes with
the CPU model), not by the file's length in samples (an hour at 32 kHz is 460 MB as float32).
Usage: python benchmarks/bench_long_file.py MODEL_DIR CORPUS_DIR [--minutes 60]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from wstag.inference.grounder import Grounder


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_long_file(corpus: Path, path: Path, minutes: float, split: str = "test") -> float:
    """Concatenate the split's clips (cycled) into one FLAC of ``minutes``; return its seconds."""
    clips = sorted((corpus / split / "audio").glob("*.flac"))
    if not clips:
        raise SystemExit(f"{corpus}/{split}/audio holds no .flac clips")
    sr = sf.info(str(clips[0])).samplerate
    target = int(minutes * 60 * sr)
    written = 0
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, format="FLAC") as out:
        k = 0
        while written < target:
            audio, _ = sf.read(str(clips[k % len(clips)]), dtype="float32")
            audio = audio[: target - written]
            out.write(audio)
            written += len(audio)
            k += 1
    return written / sr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.flac"
        seconds = write_long_file(args.corpus_dir, path, args.minutes)
        rss_before = _peak_rss_mb()
        g = Grounder(args.model_dir, threads=args.threads)
        start = time.perf_counter()
        results = g.ground(path, ["a dog barks", "a man speaks"])
        wall = time.perf_counter() - start
        start = time.perf_counter()
        g.ground(path, ["a bell rings"])
        second = time.perf_counter() - start
    n_segments = len(results)  # detections, all phrases
    print(f"file: {seconds / 60:.1f} min of 32 kHz audio ({seconds * 32000 * 4 / 2**20:.0f} MB as float32)")
    print(f"first query (encoder + 2 phrases): {wall:.1f} s = {seconds / wall:.0f}x real time, {n_segments} segments")
    print(f"second query (cached embeddings): {second * 1000:.1f} ms")
    print(f"peak RSS: {_peak_rss_mb():.0f} MB (after writing the file: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
