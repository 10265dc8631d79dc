"""The page end to end in a real headless Chromium: upload a corpus clip, type phrases, see the plot,
drag the threshold, and check that what the page shows is what the API answers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.serve import browser
from tests.serve.conftest import SAME_ORIGIN

pytestmark = pytest.mark.slow
PHRASES = ["a dog barks", "rain falls"]


@pytest.fixture(scope="module")
def driver():
    browser.require()
    d = browser.start_chromium()
    yield d
    d.quit()


def wait_for(driver, condition, timeout: float = 60.0, what: str = "the page"):
    """Selenium's WebDriverWait on ``condition()``, failing as a test failure that names what it waited for."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda _: condition())
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}") from None


def api_ground(base: str, recording: str, threshold: float, median: int = 1) -> dict:
    r = httpx.post(f"{base}/api/ground", json={"recording": recording, "phrases": PHRASES, "threshold": threshold,
                                               "median": median}, headers=SAME_ORIGIN, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def drag_threshold(driver, target: float) -> float:
    """Drag the slider's thumb from where it is to ``target``; the value it settled at."""
    from selenium.webdriver.common.action_chains import ActionChains

    slider = driver.find_element("id", "threshold")
    width = slider.size["width"]
    thumb = 16  # Chromium's range thumb: the track is the width less one thumb
    value = float(slider.get_property("value"))
    start = (value - 0.5) * (width - thumb)  # offsets from the slider's centre
    ActionChains(driver).move_to_element_with_offset(slider, int(round(start)), 0).click_and_hold() \
        .move_by_offset(int(round((target - value) * (width - thumb))), 0).release().perform()
    settled = float(slider.get_property("value"))
    wait_for(driver, lambda: driver.find_element("id", "plot").get_attribute("data-threshold") == str(settled),
             10, "the segments to be re-cut")
    return settled


def test_upload_ground_drag_and_agree_with_the_api(driver, live_server, corpus_clip, tmp_path):
    driver.get(live_server)
    wait_for(driver, lambda: "MB" in driver.find_element("id", "upload-note").text, what="the server's limits")
    assert "20 MB" in driver.find_element("id", "upload-note").text  # the size limit is stated

    driver.find_element("id", "upload").send_keys(str(corpus_clip))
    wait_for(driver, lambda: "uploaded" in driver.find_element("id", "recording-status").text, what="the upload")
    assert corpus_clip.name in driver.find_element("id", "recording-status").text
    recording = driver.execute_script("return state.recording.id;")
    assert recording.startswith("upload:")

    driver.find_element("id", "phrases").send_keys("\n".join(PHRASES))
    driver.find_element("id", "ground").click()
    wait_for(driver, lambda: driver.find_element("id", "plot").get_attribute("data-state") == "ready", what="the plot")
    assert driver.find_element("id", "error").get_attribute("hidden") is not None  # no error shown
    panels = driver.find_elements("css selector", "#plot .phrase-panel")
    assert [p.get_attribute("data-phrase") for p in panels] == PHRASES
    assert len(driver.find_elements("css selector", "#plot polyline.curve")) == 2
    assert driver.execute_script("return document.querySelector('#plot image').getBBox().width") > 400
    assert "ms" in driver.find_element("id", "timing").text

    # what the page shows at the starting threshold is the API's answer
    start = float(driver.find_element("id", "threshold").get_property("value"))
    before = browser.page_segments(driver)
    assert before == browser.api_segments(api_ground(live_server, recording, start))

    # drag the threshold into the curve that varies most: the segments change, and equal the API's
    curves = np.array([p["curve"] for p in api_ground(live_server, recording, start)["phrases"]])
    curve = curves[np.argmax(np.ptp(curves, axis=1))]
    settled = drag_threshold(driver, float(np.round(np.quantile(curve, 0.3), 2)))
    assert settled != start
    after = browser.page_segments(driver)
    assert after != before and len(after) > 0
    assert after == browser.api_segments(api_ground(live_server, recording, settled))
    assert browser.plotted_segments(driver) == after

    settled2 = drag_threshold(driver, settled + 0.03)
    assert settled2 > settled
    again = browser.page_segments(driver)
    assert again != after and again == browser.api_segments(api_ground(live_server, recording, settled2))

    # clicking a segment seeks the audio element to its onset
    _, onset, offset, _ = again[0]
    driver.find_elements("css selector", "#plot rect.segment")[0].click()
    wait_for(driver, lambda: onset - 0.05 <= driver.execute_script("return document.getElementById('player').currentTime")
             <= offset + 0.5, 20, "the audio to seek to the segment")

    shot = tmp_path / "serve-page.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    artifacts = os.environ.get("WSTAG_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot.name)
    print(f"screenshot: {shot}")


def test_the_page_rule_equals_the_api_at_every_threshold(driver, live_server, corpus_clip):
    """segmentsAt (the page's re-cut) on the API's curves equals the API's own segments,
    including thresholds equal to a frame's value (the rule is strict) and a median filter."""
    recording = f"corpus:test/{corpus_clip.name}"
    driver.get(live_server)
    wait_for(driver, lambda: driver.execute_script("return typeof segmentsAt === 'function' && state.info !== null"))
    for median in (1, 5):
        body = api_ground(live_server, recording, 0.5, median)
        values = np.concatenate([p["filtered"] or p["curve"] for p in body["phrases"]])
        thresholds = sorted({*np.round(np.linspace(0, 1, 41), 3).tolist(), *np.quantile(values, [0.1, 0.5, 0.9])
                             .tolist(), *values[:: max(1, len(values) // 12)].tolist()})
        compared = 0
        for t in thresholds:
            api = api_ground(live_server, recording, t, median)
            page = driver.execute_script(
                "const [result, t] = arguments; return result.phrases.flatMap(p => segmentsAt(p, t, result)"
                ".map(s => [p.phrase, s.onset, s.offset, s.peak]));", api, t)
            assert [tuple(s) for s in page] == browser.api_segments(api), f"median {median}, threshold {t}"
            compared += len(page)
        assert compared > 10  # the thresholds crossed the curves


def test_a_refused_upload_shows_its_reason(driver, live_server, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 50)
    driver.get(live_server)
    wait_for(driver, lambda: "MB" in driver.find_element("id", "upload-note").text, what="the server's limits")
    driver.find_element("id", "upload").send_keys(str(bad))
    wait_for(driver, lambda: "refused" in driver.find_element("id", "recording-status").text, what="the refusal")
    error = driver.find_element("id", "error").text
    assert "notes.wav" in error and "not an audio file" in error
