"""Collection search speed: index build (hours of audio per minute) and search (hours searched per second).

1. Build: index the first ``--files`` recordings of a corpus folder with a model folder
   (the real path: decoding, the audio encoder, float16 shards, the manifest), then
   build again (every file unchanged: the cost of a no-op update).
2. Search: a synthetic index of ``--hours`` of float16 frame embeddings at the model's
   25 frames/s, made by tiling the real frames of step 1 (so the scores look like a real
   collection's, not noise), once as 1-hour files and once as 10-second clips (the
   per-file bookkeeping), searched with a real phrase through ``Index.search``. Each
   search is run ``--repeats`` times; the median is printed. The shards are in the page
   cache (just written): this measures the scoring, not the disk.

Usage: python benchmarks/bench_index.py [--model DIR] [--corpus AUDIO_DIR] [--files 50] [--hours 200]
Search target: at least 100 hours of indexed audio per second on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from wstag.index import Index
from wstag.index.build import SHARD_BYTES
from wstag.index.manifest import MANIFEST, read_manifest

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "wstag/pretrained/default"  # the shipped model: what a user indexes with
CORPUS = ROOT / "runs/demo/corpus/test/audio"


def bench_build(model: Path, corpus: Path, n_files: int, tmp: Path) -> Index:
    audio = tmp / "audio"
    audio.mkdir()
    clips = sorted(p for p in corpus.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg", ".mp3"))[:n_files]
    if not clips:
        raise SystemExit(f"{corpus}: no recordings")
    for p in clips:
        (audio / p.name).symlink_to(p.resolve())
    start = time.perf_counter()
    index = Index.build(audio, model, tmp / "real.index", device="cpu")
    wall = time.perf_counter() - start
    r = index.build_report
    print(f"build: {r.encoded} files, {r.encoded_seconds / 60:.1f} min of audio in {wall:.1f} s (model load "
          f"included) = {r.encoded_seconds / 3600 / (wall / 60):.2f} h of audio per minute, "
          f"{r.encoded_seconds / wall:.0f}x real time")
    start = time.perf_counter()
    again = Index.build(audio, model, tmp / "real.index", device="cpu").build_report
    print(f"rebuild, nothing changed: {again.unchanged} files skipped in {time.perf_counter() - start:.2f} s "
          f"(model load included)")
    return index


def synthetic_index(real: Index, out: Path, hours: float, file_seconds: float, shard_frames: int) -> Path:
    """An index of ``hours`` made of the real index's frames tiled; files of ``file_seconds``; shards reused."""
    m = read_manifest(real.path)
    grid = m.model.frame_grid
    fps = 1 / grid.output_hop_s
    frames = np.concatenate([np.load(real.path / s)[: n] for s, n in sorted(m.shards.items())])
    total = int(hours * 3600 * fps)
    per_file = int(round(file_seconds * fps))
    out.mkdir(parents=True, exist_ok=True)
    shards = {}
    if not list(out.glob("emb-*.npy")):  # the frames, written once, in shards of ``shard_frames``
        for k, a in enumerate(range(0, total, shard_frames)):
            n = min(shard_frames, total - a)
            name = f"emb-{k:06d}.npy"
            with open(out / name, "wb") as fh:
                header = {"descr": "<f2", "fortran_order": False, "shape": (n, frames.shape[1])}
                np.lib.format.write_array_header_1_0(fh, header)
                written = 0
                while written < n:
                    piece = frames[: n - written]
                    fh.write(piece.tobytes())
                    written += len(piece)
    for p in sorted(out.glob("emb-*.npy")):
        shards[p.name] = int(np.load(p, mmap_mode="r").shape[0])
    files = []
    for name, n in sorted(shards.items()):
        for a in range(0, n, per_file):
            k = min(per_file, n - a)
            files.append({"file": f"{name[:-4]}/{a // per_file:07d}.flac", "shard": name, "offset": a,
                          "n_frames": k, "duration": k / fps, "size": 0, "mtime_ns": 0, "silent": False})
    manifest = {"format": "wstag-index", "version": 1, "dtype": "float16", "audio_dir": str(out / "audio"),
                "model": json.loads((real.path / MANIFEST).read_text())["model"], "next_shard": len(shards),
                "shards": shards, "files": files, "failed": []}
    (out / MANIFEST).write_text(json.dumps(manifest))
    return out


def bench_search(index: Index, phrase: str, repeats: int, label: str, threads: int) -> None:
    torch.set_num_threads(threads)
    times, moments = [], None
    for _ in range(repeats):
        moments = index.search(phrase, top=20)
        times.append(index.last_search_seconds)
    t = statistics.median(times)
    print(f"search {label}, {threads} thread(s): {index.hours:.0f} h ({len(index.manifest.files)} files, "
          f"{index.manifest.n_frames / 1e6:.1f} M frames) in {t:.2f} s (median of {repeats}; "
          f"min {min(times):.2f}) = {index.hours / t:.0f} h/s; "
          f"top score {moments[0].score if moments else float('nan'):.3f}, {len(moments)} moments")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--hours", type=float, default=200.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--phrase", default="a dog barks")
    ap.add_argument("--threads", type=lambda v: [int(x) for x in v.split(",")],
                    default=[torch.get_num_threads(), 1], help="torch threads to search with, e.g. 2,1")
    ap.add_argument("--tmp", type=Path, default=None, help="Scratch folder (default: a temporary one).")
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        real = bench_build(args.model, args.corpus, args.files, tmp)
        start = time.perf_counter()
        shard_frames = SHARD_BYTES // (2 * real.manifest.model.embed_dim)  # as a build would write them
        synthetic_index(real, tmp / "synthetic", args.hours, 3600.0, shard_frames=shard_frames)
        print(f"(wrote {args.hours:.0f} h of synthetic float16 frames in {time.perf_counter() - start:.1f} s)")
        grounder = real.grounder
        for threads in args.threads:
            bench_search(Index.open(tmp / "synthetic", model=grounder), args.phrase, args.repeats, "1-hour files",
                         threads)
        synthetic_index(real, tmp / "synthetic", args.hours, 10.0, shard_frames=0)  # same shards, 10 s files
        for threads in args.threads:
            bench_search(Index.open(tmp / "synthetic", model=grounder), args.phrase, args.repeats,
                         "10-second clips", threads)
    print(f"peak RSS of the whole benchmark: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
