"""Load test of `wstag serve` on loopback: 100 concurrent uploads, then 100 concurrent ground requests.

Starts the server in its own process (the shipped `default` model unless --model), then
fires ``--clients`` requests at once from threads, each client retrying after the
``Retry-After`` a 503 gives (at most ``--deadline`` seconds), while one more client asks
for the page and ``/api/info`` every 0.2 s throughout. Prints and writes (``--out``,
JSON and markdown) the answers by status code, p50 / p95 latency of each client's final
answer, the page's worst latency, whether every client got its answer, and the server's
peak resident memory (VmHWM from /proc).

    python benchmarks/bench_serve_load.py --out results/web/load
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

HEADERS = {"X-Wstag": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clips(folder: Path, n: int, seconds: float = 10.0, rate: int = 32000) -> list[Path]:
    """``n`` distinct 10 s FLAC files (noise bursts over a hum: different bytes, so no upload is a repeat)."""
    out = []
    t = np.arange(int(seconds * rate)) / rate
    for i in range(n):
        rng = np.random.default_rng(i)
        x = 0.05 * np.sin(2 * np.pi * (100 + i) * t) + 0.02 * rng.standard_normal(len(t))
        for onset in rng.uniform(0, seconds - 1, 3):
            k = int(onset * rate)
            x[k:k + rate // 2] += 0.3 * rng.standard_normal(rate // 2)
        path = folder / f"clip{i:03d}.flac"
        sf.write(path, x.astype(np.float32), rate)
        out.append(path)
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_clients(base: str, job, n: int, deadline: float) -> list[dict]:
    """``n`` clients at once; each retries after 503 + Retry-After until an answer or the deadline."""
    start_gate = threading.Barrier(n)

    def client(i: int) -> dict:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=deadline) as c:
            start_gate.wait()
            t0 = time.perf_counter()
            statuses = []
            while True:
                r = job(c, i)
                statuses.append(r.status_code)
                if r.status_code != 503 or time.perf_counter() - t0 > deadline:
                    return {"statuses": statuses, "final": r.status_code, "seconds": time.perf_counter() - t0,
                            "body": r.json() if r.headers.get("content-type", "").startswith("application/json")
                            else None}
                time.sleep(float(r.headers.get("retry-after", "1")))

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(client, range(n)))


def summarise(name: str, answers: list[dict]) -> dict:
    seconds = sorted(a["seconds"] for a in answers)
    every = Counter(s for a in answers for s in a["statuses"])
    return {"phase": name, "clients": len(answers), "final_status": dict(Counter(a["final"] for a in answers)),
            "all_answers_by_status": dict(every), "p50_s": round(statistics.median(seconds), 3),
            "p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 3), "max_s": round(seconds[-1], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--deadline", type=float, default=300.0, help="seconds a client keeps retrying")
    ap.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md")
    ap.add_argument("--note", default="", help="a line on the conditions (e.g. what else ran), kept in OUT.md")
    args = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    server = subprocess.Popen([sys.executable, "-m", "wstag.cli.main", "serve", args.model, "--port", str(port),
                               "--device", "cpu"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    page_worst, page_failures, stop = [0.0], [0], threading.Event()
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/info", headers=HEADERS, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")

        def watch_page():
            with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as c:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    ok = c.get("/").status_code == 200 and c.get("/api/info").status_code == 200
                    page_worst[0] = max(page_worst[0], time.perf_counter() - t0)
                    page_failures[0] += not ok
                    time.sleep(0.2)

        watcher = threading.Thread(target=watch_page, daemon=True)
        watcher.start()
        with tempfile.TemporaryDirectory() as tmp:
            files = clips(Path(tmp), args.clients)

            def upload(c, i):
                with files[i].open("rb") as fh:
                    return c.post("/api/uploads", files={"file": (files[i].name, fh, "audio/flac")})

            t0 = time.perf_counter()
            uploads = run_clients(base, upload, args.clients, args.deadline)
            upload_wall = time.perf_counter() - t0
        ids = [a["body"]["id"] for a in uploads if a["final"] == 200]
        stored = sum(httpx.get(f"{base}/api/audio", params={"recording": rid}, headers=HEADERS,
                               timeout=30).status_code == 200 for rid in ids)

        def ground(c, i):
            return c.post("/api/ground", json={"recording": ids[i % len(ids)],
                                               "phrases": ["a dog barks", "rain falls", "a man speaks"]})

        t0 = time.perf_counter()
        grounds = run_clients(base, ground, args.clients, args.deadline)
        ground_wall = time.perf_counter() - t0
        stop.set()
        watcher.join(5)
        result = {
            "model": args.model, "clients": args.clients, "clip_seconds": 10.0,
            "phases": [summarise("upload", uploads), summarise("ground", grounds)],
            "upload_wall_s": round(upload_wall, 1), "ground_wall_s": round(ground_wall, 1),
            "uploads_stored_and_served": f"{stored} of {len(ids)}",
            "page_worst_latency_s": round(page_worst[0], 3), "page_failures": page_failures[0],
            "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1), "cpus": os.cpu_count(), "note": args.note,
        }
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        rows = "\n".join(f"| {p['phase']} | {p['clients']} | {p['final_status']} | {p['all_answers_by_status']} | "
                         f"{p['p50_s']} | {p['p95_s']} | {p['max_s']} |" for p in result["phases"])
        args.out.with_suffix(".md").write_text(f"""# `wstag serve` under load ({args.clients} clients at once, loopback)

`python benchmarks/bench_serve_load.py --out {args.out}` on {os.cpu_count()} CPU cores, model `{args.model}`.
Each client retries after the `Retry-After` of a 503 until it gets its answer; latency is to
that final answer.

| phase | clients | final answers by status | every answer by status | p50 s | p95 s | max s |
|---|---|---|---|---|---|---|
{rows}

- Uploads stored and served back afterwards: {result['uploads_stored_and_served']}.
- The page (`/` and `/api/info`, every 0.2 s throughout): worst latency {result['page_worst_latency_s']} s,
  {result['page_failures']} failed answers.
- Server peak resident memory: {result['server_peak_rss_mb']} MB.
{f"- {args.note}" if args.note else ""}
""")


if __name__ == "__main__":
    main()
