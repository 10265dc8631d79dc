"""Requests the server must refuse before it reads them (issue 25): other sites, unbounded bodies, a full queue."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from tests.serve.conftest import SAME_ORIGIN
from wstag.serve import create_app
from wstag.serve.app import without_paths
from wstag.serve.guards import RequestGuard, host_name, same_origin


@pytest.fixture(scope="module")
def bare(serve_grounder, tiny_corpus):
    """A client that sends what a browser on another site would: no proof of origin."""
    with TestClient(create_app(serve_grounder, corpus=tiny_corpus)) as c:
        yield c


def test_a_cross_site_form_post_is_refused(bare, corpus_clip) -> None:
    with corpus_clip.open("rb") as fh:
        r = bare.post("/api/uploads", files={"file": (corpus_clip.name, fh, "audio/flac")},
                      headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert r.status_code == 403 and "another site" in r.json()["detail"]


def test_a_cross_site_get_is_refused_even_with_the_header(bare) -> None:
    for path in ("/api/search?phrase=dog", "/api/spectrogram?recording=x", "/api/info"):
        r = bare.get(path, headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403, path
    assert bare.get("/api/info", headers={"Sec-Fetch-Site": "same-site", **SAME_ORIGIN}).status_code == 403


def test_a_request_without_proof_of_origin_is_refused_and_told_how(bare) -> None:
    r = bare.get("/api/info")
    assert r.status_code == 403 and "X-Wstag" in r.json()["detail"].replace("x-wstag", "X-Wstag")


def test_the_pages_own_requests_pass(bare) -> None:
    assert bare.get("/api/info", headers=SAME_ORIGIN).status_code == 200  # its fetch calls
    assert bare.get("/api/info", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200  # its <img>, <audio>
    assert bare.get("/").status_code == 200  # the page itself needs nothing


def test_a_chunked_upload_without_length_is_cut_at_the_limit(serve_grounder) -> None:
    limit = 50_000
    with TestClient(create_app(serve_grounder, max_upload_bytes=limit), headers=SAME_ORIGIN) as c:
        def chunks():
            for _ in range(100):  # 1.6 MB, no Content-Length
                yield b"x" * 16_000
        r = c.post("/api/uploads", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "over the limit" in r.json()["detail"]


def test_a_ground_body_has_a_limit_too(client) -> None:
    big = {"recording": "x" * 200_000, "phrases": ["a dog barks"]}
    r = client.post("/api/ground", json=big)
    assert r.status_code == 413
    r = client.post("/api/ground", content=iter([b'{"recording": "', b"x" * 100_000, b'"}']),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_a_full_queue_answers_503_with_retry_after() -> None:
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard = RequestGuard(slow_app, body_limits={}, model_routes=frozenset({"/api/ground"}), max_waiting=2)
    answers: list[dict] = []

    async def call():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            answers.append(message)

        scope = {"type": "http", "path": "/api/ground", "method": "POST", "headers": [(b"x-wstag", b"1")]}
        await guard(scope, receive, send)

    async def main():
        tasks = [asyncio.create_task(call()) for _ in range(3)]
        await asyncio.sleep(0.05)
        busy = [m for m in answers if m["type"] == "http.response.start"]
        release.set()
        await asyncio.gather(*tasks)
        return busy

    busy = asyncio.run(main())
    assert [m["status"] for m in busy] == [503]
    assert (b"retry-after", b"2") in busy[0]["headers"]
    statuses = sorted(m["status"] for m in answers if m["type"] == "http.response.start")
    assert statuses == [200, 200, 503] and guard._waiting == 0


def test_ipv6_loopback_host_headers_are_understood(serve_grounder) -> None:
    assert host_name("[::1]:8000") == "::1" and host_name("::1") == "::1" and host_name("LocalHost:80") == "localhost"
    app = create_app(serve_grounder, allowed_hosts=["::1", "127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://[::1]:8000", headers=SAME_ORIGIN) as c:
        assert c.get("/api/info").status_code == 200
        assert c.get("/api/info", headers={"Host": "evil.example:8000"}).status_code == 400


def test_same_origin_rules_by_hand() -> None:
    assert same_origin({b"x-wstag": b"1"}) is None
    assert same_origin({b"sec-fetch-site": b"same-origin"}) is None
    assert same_origin({b"sec-fetch-site": b"cross-site", b"x-wstag": b"1"}) is not None
    assert same_origin({b"sec-fetch-site": b"none"}) is not None  # typed in the address bar: the page, not /api
    assert same_origin({}) is not None


def test_messages_name_files_not_paths() -> None:
    assert without_paths("cannot read /tmp/wstag-serve-1/ab12.flac: truncated") == "cannot read ab12.flac: truncated"
    assert without_paths("no model in C:\\Users\\me\\m\\config.json") == "no model in config.json"


def test_an_internal_error_does_not_leak_its_text(serve_grounder) -> None:
    app = create_app(serve_grounder)

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("/home/secret/path exploded")

    with TestClient(app, headers=SAME_ORIGIN, raise_server_exceptions=False) as c:
        r = c.get("/api/boom")
    assert r.status_code == 500 and "secret" not in r.text and "RuntimeError" in r.json()["detail"]


def test_a_huge_median_window_is_refused_in_one_line(client, corpus_clip) -> None:
    recording = f"corpus:test/{corpus_clip.name}"
    r = client.post("/api/ground", json={"recording": recording, "phrases": ["a dog barks"], "median": 99999})
    assert r.status_code in (400, 422) and "at most" in r.json()["detail"]


def test_an_upload_with_too_many_channels_is_refused_from_its_header(client, tmp_path) -> None:
    import numpy as np
    import soundfile as sf

    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((3200, 9), dtype=np.float32), 32000)
    with path.open("rb") as fh:
        r = client.post("/api/uploads", files={"file": ("many.wav", fh, "audio/wav")})
    assert r.status_code == 422 and "9 channels" in r.json()["detail"]


def test_an_upload_named_wav_that_holds_flac_is_refused(serve_grounder, corpus_clip) -> None:
    with TestClient(create_app(serve_grounder), headers=SAME_ORIGIN) as fresh:  # no earlier upload of these bytes
        r = fresh.post("/api/uploads", files={"file": ("clip.wav", corpus_clip.read_bytes(), "audio/wav")})
    assert r.status_code == 415 and "holds FLAC" in r.json()["detail"]


def test_a_foreign_corpus_cannot_point_at_files_outside_it(serve_grounder, tiny_corpus, tmp_path) -> None:
    import json
    import shutil

    corpus = tmp_path / "foreign"
    shutil.copytree(tiny_corpus, corpus)
    secret = tmp_path / "secret.flac"
    shutil.copyfile(next((corpus / "test" / "audio").glob("*.flac")), secret)
    labels = corpus / "test" / "labels.json"
    clips = json.loads(labels.read_text())
    clips[0]["audio_id"] = "../../secret.flac"
    labels.write_text(json.dumps(clips))
    with TestClient(create_app(serve_grounder, corpus=corpus), headers=SAME_ORIGIN) as c:
        listed = [clip["id"] for clip in c.get("/api/clips", params={"split": "test"}).json()["clips"]]
        assert not any("secret" in rid for rid in listed)
        assert c.get("/api/audio", params={"recording": "corpus:test/../../secret.flac"}).status_code == 404


def test_within_judges_names() -> None:
    from pathlib import Path

    from wstag.serve.recordings import within

    assert within(Path("/a/audio"), Path("/a/audio/x.flac")) and within(Path("/a/audio"), Path("/a/audio/s/x.wav"))
    assert not within(Path("/a/audio"), Path("/a/audio/../../etc/passwd"))
    assert not within(Path("/a/audio"), Path("/etc/passwd")) and not within(Path("/a/audio"), Path("/a/audio"))


def test_grounding_a_recording_of_hours_on_the_page_is_refused(serve_grounder, corpus_clip) -> None:
    from wstag.serve import answers
    from wstag.serve.app import default_limits
    from wstag.serve.recordings import Entry, Refused

    long_file = Entry("index:talk.flac", "index", "talk.flac", corpus_clip, duration=7200.0)
    with pytest.raises(Refused) as refused:
        answers.ground(serve_grounder, long_file, ["a dog barks"], 0.5, 1, default_limits())
    assert refused.value.status == 413 and "7200 s is too long" in refused.value.message


def test_uploads_are_kept_within_a_byte_budget(tmp_path, monkeypatch) -> None:
    from wstag.serve import recordings as R

    monkeypatch.setattr(R, "MAX_UPLOADS_BYTES", 250)
    uploads = R.Uploads(tmp_path, max_bytes=1000)
    entries = [uploads.add(bytes([i]) * 100, f"f{i}.wav", "audio/wav")[0] for i in range(4)]
    kept = [e for e in entries if uploads.get(e.id.split(":")[1]) is not None]
    assert kept == entries[2:] and sorted(p.name for p in tmp_path.iterdir()) == sorted(e.path.name for e in kept)
    uploads.discard(kept[0])
    assert uploads._bytes == 100


def test_a_warning_from_another_thread_does_not_reach_this_answer(serve_grounder, corpus_clip, monkeypatch) -> None:
    import warnings

    from wstag.serve import answers
    from wstag.serve.app import default_limits
    from wstag.serve.recordings import Entry

    real = serve_grounder.encode

    def encode_while_another_request_warns(path):
        warnings.warn("/tmp/wstag-serve-1/other-users-file.flac: the recording is silent")  # another thread's
        return real(path)

    monkeypatch.setattr(serve_grounder, "encode", encode_while_another_request_warns)
    entry = Entry("corpus:test/x", "corpus", corpus_clip.name, corpus_clip, duration=10.0)
    result = answers.ground(serve_grounder, entry, ["a dog barks", "a zebra barks"], 0.5, 1, default_limits())
    assert not any("other-users-file" in w for w in result.warnings)
    assert any("zebra" in w for w in result.warnings)  # this request's own warning stays
