"""`wstag serve` response times: a 10 s clip with 3 phrases, first query and repeated.

The app runs under uvicorn on a loopback port (real HTTP), with the model loaded first.
For each of ``--clips`` corpus clips with at least 3 label phrases:

1. API: the first ``POST /api/ground`` (the audio encoder runs), the spectrogram PNG,
   then the same query again and a query with other phrases (cached embeddings).
2. Page (headless Chromium, when installed): choose the clip, type its phrases, click
   Ground and wait until the plot is drawn, spectrogram included; the page's own
   timing (``#timing``, click to drawn), first and repeated.

Medians are printed. ``--screenshot FILE`` saves the page after the last clip.

Usage: python benchmarks/bench_serve.py [--model default|DIR] [--corpus DIR] [--clips 10] [--screenshot FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.serve.browser: the same headless Chromium as the tests

from tests.serve import browser  # noqa: E402
from wstag.errors import QueryError  # noqa: E402
from wstag.inference.grounder import Grounder  # noqa: E402
from wstag.serve import create_app  # noqa: E402
from wstag.serve.guards import ORIGIN_HEADER  # noqa: E402

CORPUS = ROOT / "runs/demo/corpus"
#: what the page's own fetch calls send (wstag/serve/guards.py refuses /api requests without it)
API_HEADERS = {ORIGIN_HEADER: "1"}
OTHER_PHRASES = ["a dog barks", "rain falls", "a man speaks"]


def start_server(app):
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_api(base: str, clips: list[dict]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"first": [], "spectrogram": [], "repeated": [], "other phrases": []}
    with httpx.Client(base_url=base, headers=API_HEADERS, timeout=120) as http:
        for clip in clips:
            query = {"recording": clip["id"], "phrases": clip["phrases"][:3]}
            seconds, r = timed(lambda: http.post("/api/ground", json=query))
            assert r.status_code == 200 and r.json()["encoded"], r.text
            times["first"].append(seconds)
            seconds, r = timed(lambda: http.get(clip["spectrogram_url"]))
            assert r.status_code == 200, r.text
            times["spectrogram"].append(seconds)
            seconds, r = timed(lambda: http.post("/api/ground", json=query))
            assert r.status_code == 200 and not r.json()["encoded"], r.text
            times["repeated"].append(seconds)
            other = {"recording": clip["id"], "phrases": OTHER_PHRASES}
            seconds, r = timed(lambda: http.post("/api/ground", json=other))
            if r.status_code == 200:  # a model whose vocabulary lacks these words refuses them
                times["other phrases"].append(seconds)
    return times


def bench_page(base: str, clips: list[dict], screenshot: Path | None) -> dict[str, list[float]]:
    from selenium.webdriver.support.ui import Select

    times: dict[str, list[float]] = {"first": [], "repeated": []}
    driver = browser.start_chromium(1280, 1150)
    try:
        driver.get(base)
        wait(driver, lambda: driver.execute_script("return state.clips.length > 0"))
        for clip in clips:
            Select(driver.find_element("id", "clip")).select_by_value(clip["id"])
            box = driver.find_element("id", "phrases")
            box.clear()
            box.send_keys("\n".join(clip["phrases"][:3]))
            for key in ("first", "repeated"):
                driver.execute_script("document.getElementById('timing').dataset.ms = '';")
                driver.find_element("id", "ground").click()
                ms = wait(driver, lambda: driver.find_element("id", "timing").get_attribute("data-ms"))
                wait(driver, lambda: driver.find_element("id", "plot").get_attribute("data-state") == "ready")
                times[key].append(float(ms) / 1000)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
            print(f"screenshot: {screenshot}")
    finally:
        driver.quit()
    return times


def wait(driver, condition, timeout: float = 120.0):
    """Selenium's WebDriverWait on ``condition()``, polling every 20 ms so the timings stay fine-grained."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(lambda _: condition(),
                                                                     message="the page did not answer in time")


def report(name: str, times: dict[str, list[float]]) -> None:
    for key, values in times.items():
        if values:
            print(f"{name:5s} {key:14s} median {statistics.median(values) * 1000:7.0f} ms  "
                  f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})")


def answerable(grounder: Grounder, phrases: list[str]) -> bool:
    """Whether the model answers every phrase: a word-embedding model refuses one with no word it knows
    (its card says how many of a corpus's phrases), and a refusal is not a response time."""
    try:
        for phrase in phrases:
            grounder.check_phrase(phrase)
    except QueryError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="a model folder, or a shipped model's name")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()

    start = time.perf_counter()
    grounder = Grounder.load(args.model, device=args.device, cache_size=64)
    print(f"model {grounder.model_dir} loaded in {time.perf_counter() - start:.1f} s; {os.cpu_count()} CPUs, "
          f"torch threads {__import__('torch').get_num_threads()}, device {grounder.device}")
    server, base = start_server(create_app(grounder, corpus=args.corpus))
    try:
        answer = httpx.get(f"{base}/api/clips", params={"split": "test"}, headers=API_HEADERS, timeout=60)
        if answer.status_code != 200:
            raise SystemExit(f"GET /api/clips: HTTP {answer.status_code}: {answer.text[:300]}")
        listed = answer.json()["clips"]
        usable = [c for c in listed if len(c["phrases"]) >= 3 and (c["duration"] or 10.0) == 10.0
                  and answerable(grounder, c["phrases"][:3])]
        api_clips, page_clips = usable[: args.clips], usable[args.clips: 2 * args.clips]
        if len(page_clips) < args.clips:
            raise SystemExit(f"{args.corpus}: fewer than {2 * args.clips} test clips with 3 phrases")
        print(f"{len(api_clips)} + {len(page_clips)} clips of 10 s from {args.corpus}, 3 phrases each")
        report("API", bench_api(base, api_clips))
        why = browser.missing()
        if args.no_browser or why:
            print(f"page: skipped ({'--no-browser' if args.no_browser else why})")
        else:
            report("page", bench_page(base, page_clips, args.screenshot))
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
