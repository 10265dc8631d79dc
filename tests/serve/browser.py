"""Headless Chromium for the page tests and the serve benchmark: Debian's chromium and chromium-driver.

Selenium is pointed at the system binaries, so it never downloads a browser or a
driver. Where they are missing a test skips with the reason, except in CI (``CI=true``),
where ``.ci/run`` installs them and their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = ("chromedriver",)
INSTALL = "apt-get install -y chromium chromium-driver"


def find(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements.txt)"
    if find(CHROMIUM) is None:
        return f"chromium is not installed ({INSTALL})"
    if find(DRIVER) is None:
        return f"chromedriver is not installed ({INSTALL})"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require() -> None:
    """Skip the calling test when no browser is here, with the reason; in CI, fail it instead."""
    import pytest

    why = missing()
    if why is None:
        return
    if in_ci():
        pytest.fail(f"the browser test must run in CI, but {why}; .ci/run installs it with apt")
    pytest.skip(f"no headless browser: {why}")


def start_chromium(width: int = 1280, height: int = 1100):
    """A headless Chromium driven by the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = find(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=find(DRIVER)), options=options)


def page_segments(driver) -> list[tuple[str, float, float, float]]:
    """The segments the page shows in its table: (phrase, onset, offset, peak), exact values."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#segments tbody tr.segment-row')]"
        ".map(r => [r.dataset.phrase, r.dataset.onset, r.dataset.offset, r.dataset.peak]);")
    return [(p, float(a), float(b), float(c)) for p, a, b, c in rows]


def plotted_segments(driver) -> list[tuple[str, float, float, float]]:
    """The same, read from the plot's orange bars."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#plot rect.segment')]"
        ".map(r => [r.dataset.phrase, r.dataset.onset, r.dataset.offset, r.dataset.peak]);")
    return [(p, float(a), float(b), float(c)) for p, a, b, c in rows]


def api_segments(body: dict) -> list[tuple[str, float, float, float]]:
    """The segments of a /api/ground answer, in the page's order (phrase order, then time)."""
    return [(p["phrase"], s["onset"], s["offset"], s["peak"]) for p in body["phrases"] for s in p["segments"]]
