"""Without chromium the browser test skips with the reason locally, and fails in CI."""

from __future__ import annotations

import pytest

from tests.serve import browser


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(browser, "find", lambda names: None if "chromium" in names else "/usr/bin/chromedriver")


def test_a_missing_browser_skips_with_the_reason_locally(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"chromium is not installed \(apt-get install -y chromium"):
        browser.require()


def test_a_missing_browser_fails_in_ci(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI, but chromium is not installed"):
        browser.require()
