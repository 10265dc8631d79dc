"""`wstag serve`: options checked before anything loads, and a real server on the loopback address."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from tests.serve.conftest import SAME_ORIGIN, free_port
from wstag.cli.main import app
from wstag.cli.serve import _is_loopback

runner = CliRunner()


@pytest.mark.parametrize("args,words", [
    (["--corpus", "/nonexistent"], "not a corpus folder"),
    (["--index", "/nonexistent"], "not an index folder"),
    (["--port", "0"], "--port"),
    (["--max-upload-mb", "0"], "--max-upload-mb"),
])
def test_bad_options_are_one_line(serve_model_dir, args, words):
    res = runner.invoke(app, ["serve", str(serve_model_dir), *args])
    assert res.exit_code == 2, res.output
    assert words in res.output and "Traceback" not in res.output


def test_a_missing_model_is_one_line(tmp_path):
    res = runner.invoke(app, ["serve", str(tmp_path / "no-model")])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output


def test_loopback_addresses():
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.5") and not _is_loopback("example.org")


def test_serve_answers_on_the_loopback_address(serve_model_dir, tiny_corpus):
    port = free_port()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "wstag.cli.main", "serve", str(serve_model_dir), "--corpus",
                             str(tiny_corpus), "--port", str(port), "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/api/info", headers=SAME_ORIGIN, timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError(f"wstag serve did not start: {proc.communicate()[0]}")
                time.sleep(0.3)
        assert info.status_code == 200 and info.json()["model"] == serve_model_dir.name  # a name, not a path
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "wstag" in page.text
        assert httpx.get(f"http://localhost:{port}/api/info", headers=SAME_ORIGIN, timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=5).status_code == 403  # no proof of origin
        rebound = httpx.get(f"http://127.0.0.1:{port}/api/info", headers={"Host": "evil.example", **SAME_ORIGIN},
                            timeout=5)
        assert rebound.status_code == 400  # another site's name pointed at this address is not answered
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in output and "Traceback" not in output
