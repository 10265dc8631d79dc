"""The JSON API: answers equal the Grounder's, cached embeddings are reused, bad input is a clear 4xx."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.serve.conftest import PHRASES, SAME_ORIGIN
from wstag.serve import create_app
from wstag.serve.app import MAX_PHRASE_CHARS, MAX_PHRASES


def corpus_id(clip) -> str:
    return f"corpus:test/{clip.name}"


def ground(client, recording, phrases=PHRASES, **options):
    return client.post("/api/ground", json={"recording": recording, "phrases": phrases, **options})


def still_serving(client, clip) -> None:
    assert client.get("/api/info").status_code == 200
    r = ground(client, corpus_id(clip), ["a dog barks"])
    assert r.status_code == 200, r.text


def test_info_states_the_limits_and_the_corpus(client, tiny_corpus):
    info = client.get("/api/info").json()
    assert info["corpus"] == tiny_corpus.name and "/" not in info["model"] and info["splits"] == ["test", "val", "train"]
    assert info["index"] is None and info["vocabulary_size"] == 8
    assert info["limits"]["formats"] == ["wav", "flac", "ogg", "mp3"]
    assert info["limits"]["max_upload_bytes"] == 20_000_000
    assert (info["limits"]["max_phrases"], info["limits"]["max_phrase_chars"]) == (MAX_PHRASES, MAX_PHRASE_CHARS)


def test_clips_list_the_split_with_captions_and_phrases(client, tiny_corpus):
    clips = client.get("/api/clips", params={"split": "test"}).json()["clips"]
    labels = json.loads((tiny_corpus / "test" / "labels.json").read_text())
    assert [c["name"] for c in clips] == [entry["audio_id"] for entry in labels]
    first = clips[0]
    assert first["id"] == f"corpus:test/{labels[0]['audio_id']}" and first["caption"] == labels[0]["caption"]
    assert first["phrases"] == [p["phrase"] for p in labels[0]["phrases"]]
    assert first["audio_url"] == f"/api/audio?recording=corpus%3Atest%2F{labels[0]['audio_id']}"
    assert client.get("/api/clips", params={"split": "../../etc"}).status_code == 404


def test_ground_equals_the_grounder_and_reuses_the_embeddings(client, serve_grounder, corpus_clip):
    r = ground(client, corpus_id(corpus_clip), threshold=0.25)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = serve_grounder.ground(corpus_clip, PHRASES, threshold=0.25)
    assert body["duration"] == 10.0 and body["hop_samples"] == 1280 and body["sample_rate"] == 32000
    assert [p["phrase"] for p in body["phrases"]] == PHRASES
    for k, p in enumerate(body["phrases"]):
        assert len(p["curve"]) == 250 and p["filtered"] is None
        np.testing.assert_array_equal(np.float32(p["curve"]), expected.scores.probabilities[:, k])  # exact
        assert [(s["onset"], s["offset"], s["peak"]) for s in p["segments"]] == \
               [(d.onset, d.offset, d.peak) for d in expected.of(PHRASES[k])]
    assert sum(len(p["segments"]) for p in body["phrases"]) > 0  # the threshold crosses a curve

    calls = serve_grounder.audio_encoder_calls
    again = ground(client, corpus_id(corpus_clip), ["rain falls", "a dog barks"], threshold=0.25).json()
    assert again["encoded"] is False and serve_grounder.audio_encoder_calls == calls
    assert again["phrases"][1]["segments"] == body["phrases"][0]["segments"]


def test_a_median_filter_sends_the_filtered_curve_it_cut(client, serve_grounder, corpus_clip):
    body = ground(client, corpus_id(corpus_clip), ["a dog barks"], threshold=0.25, median=9).json()
    expected = serve_grounder.ground(corpus_clip, ["a dog barks"], threshold=0.25, median=9)
    phrase = body["phrases"][0]
    assert body["median"] == 9 and len(phrase["filtered"]) == 250 and phrase["filtered"] != phrase["curve"]
    assert [(s["onset"], s["offset"]) for s in phrase["segments"]] == [(d.onset, d.offset) for d in expected]


def test_reference_segments_come_from_the_corpus_labels(client, tiny_corpus):
    labels = json.loads((tiny_corpus / "test" / "labels.json").read_text())
    entry = labels[0]
    phrase = entry["phrases"][0]
    body = ground(client, f"corpus:test/{entry['audio_id']}", [phrase["phrase"], "a dog barks"])
    if body.status_code == 400:  # the tiny model knows no word of that phrase: nothing to compare
        assert "knows none of its words" in body.json()["detail"]
        return
    first = body.json()["phrases"][0]
    assert [[s["onset"], s["offset"]] for s in first["reference"]] == phrase["segments"]


def test_unknown_words_are_named_not_silently_dropped(client, corpus_clip):
    body = ground(client, corpus_id(corpus_clip), ["a dog barks loudly"]).json()
    assert body["phrases"][0]["ignored_words"] == ["loudly"]
    assert any("loudly" in w for w in body["warnings"])


def test_an_uploaded_clip_is_encoded_once_and_served_back(client, serve_grounder, corpus_clip):
    data = corpus_clip.read_bytes()
    r = client.post("/api/uploads", files={"file": ("my clip.flac", data, "audio/flac")})
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["kind"] == "upload" and rec["name"] == "my clip.flac" and rec["duration"] == 10.0
    calls = serve_grounder.audio_encoder_calls
    body = ground(client, rec["id"], PHRASES, threshold=0.25).json()
    assert body["encoded"] is False and serve_grounder.audio_encoder_calls == calls  # encoded at upload
    audio = client.get(rec["audio_url"])
    assert audio.status_code == 200 and audio.content == data and audio.headers["content-type"] == "audio/flac"
    part = client.get(rec["audio_url"], headers={"Range": "bytes=100-199"})  # the audio element seeks this way
    assert part.status_code == 206 and part.content == data[100:200]
    again = client.post("/api/uploads", files={"file": ("again.flac", data, "audio/flac")}).json()
    assert again["id"] == rec["id"]  # the same bytes are stored once


@pytest.mark.parametrize("fmt,ext,content_type", [("WAV", "wav", "audio/wav"), ("OGG", "ogg", "audio/ogg"),
                                                    ("MP3", "mp3", "audio/mpeg")])
def test_each_accepted_format_uploads(client, corpus_clip, tmp_path, fmt, ext, content_type):
    import soundfile as sf

    audio, rate = sf.read(corpus_clip, dtype="float32")
    path = tmp_path / f"clip.{ext}"
    sf.write(path, audio, rate, format=fmt)
    r = client.post("/api/uploads", files={"file": (path.name, path.read_bytes(), content_type)})
    assert r.status_code == 200, r.text
    assert r.json()["duration"] == pytest.approx(10.0, abs=0.06)  # mp3 frames pad the end a little
    assert ground(client, r.json()["id"], ["a dog barks"]).status_code == 200


def test_the_spectrogram_is_a_png_of_the_recording(client, corpus_clip):
    r = client.get("/api/spectrogram", params={"recording": corpus_id(corpus_clip)})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(r.content[16:20], "big"), int.from_bytes(r.content[20:24], "big")
    assert (width, height) == (1001, 64)  # 10 s at a 10 ms hop, 64 mel bands


# --------------------------------------------------------------------------------------- refusals
def refused(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    for w in words:
        assert w in detail, detail
    return detail


UPLOAD_REFUSALS = [
    ("not-audio.wav", b"this is a text file, not audio\n" * 40, "audio/wav", 400, ["not-audio.wav", "not an audio file"]),
    ("empty.wav", b"", "audio/wav", 400, ["empty.wav", "empty (0 bytes)"]),
    ("clip.wav", b"RIFF....WAVEfmt ", "text/plain", 415, ["content type 'text/plain'"]),
    ("clip.txt", b"RIFF....WAVEfmt ", "audio/wav", 415, ["clip.txt", "wav, flac, ogg, mp3"]),
]


@pytest.mark.parametrize("name,data,content_type,status,words", UPLOAD_REFUSALS,
                         ids=["non-audio", "empty", "content-type", "extension"])
def test_bad_uploads_are_refused_clearly(client, corpus_clip, name, data, content_type, status, words):
    detail = refused(client.post("/api/uploads", files={"file": (name, data, content_type)}), status, *words)
    assert "/tmp" not in detail  # the stored file's path is never shown, only the name the user gave
    still_serving(client, corpus_clip)


def test_a_truncated_flac_is_refused(client, corpus_clip):
    data = corpus_clip.read_bytes()
    refused(client.post("/api/uploads", files={"file": ("cut.flac", data[: len(data) // 2], "audio/flac")}),
            400, "cut.flac")
    still_serving(client, corpus_clip)


@pytest.mark.parametrize("how", ["by-declared-length", "by-bytes-read"])
def test_an_upload_over_the_size_limit_is_413(serve_grounder, corpus_clip, how):
    """Far over: refused by its declared length before it is read; just over (inside the room
    left for the multipart frame): refused when its bytes are read."""
    from fastapi.testclient import TestClient

    data = corpus_clip.read_bytes()
    assert len(data) // 2 + 64_000 < len(data)
    limit = len(data) // 2 if how == "by-declared-length" else len(data) - 1000
    with TestClient(create_app(serve_grounder, max_upload_bytes=limit), headers=SAME_ORIGIN) as small:
        detail = refused(small.post("/api/uploads", files={"file": ("big.flac", data, "audio/flac")}), 413,
                         f"limit of {limit / 1e6:.3g} MB")
        if how == "by-bytes-read":
            assert detail.startswith(f"big.flac: {len(data) / 1e6:.3g} MB is over")
        assert small.get("/api/info").status_code == 200
        garbage = small.post("/api/uploads", files={"file": ("small.flac", b"x" * 10, "audio/flac")})
        assert garbage.status_code == 400  # the server still reads uploads


def test_a_wrong_request_type_is_one_line(client, corpus_clip):
    refused(client.post("/api/uploads", content=b"raw bytes", headers={"Content-Type": "audio/wav"}), 422, "file")
    refused(client.post("/api/ground", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    refused(client.post("/api/ground", json={"recording": corpus_id(corpus_clip), "phrases": "a dog barks",
                                             "threshold": "high"}), 422, "phrases", "threshold")
    still_serving(client, corpus_clip)


TRAVERSALS = ["../../etc/passwd", "corpus:../../etc/passwd", "corpus:test/../../../../etc/passwd",
              "upload:../../etc/passwd", "index:../../etc/passwd", "/etc/passwd", "corpus:test/%2e%2e/x"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_in_a_clip_name_is_an_unknown_recording(client, corpus_clip, name):
    for r in (ground(client, name), client.get("/api/audio", params={"recording": name}),
              client.get("/api/spectrogram", params={"recording": name})):
        refused(r, 404, "unknown recording")
        assert b"root:" not in r.content
    still_serving(client, corpus_clip)


def test_static_files_stay_inside_the_page_folder(client):
    assert client.get("/static/app.js").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/../../errors.py"):
        r = client.get(path)
        assert r.status_code == 404 and b"def create_app" not in r.content and b"class " not in r.content


PHRASE_REFUSALS = [
    ([""], 400, ["empty phrase"]),
    (["   "], 400, ["empty phrase"]),
    (["dog" * 80], 400, ["phrase 1 is 240 characters long", f"at most {MAX_PHRASE_CHARS}"]),
    ([], 400, ["no phrase given"]),
    ([f"a dog barks {i}" for i in range(MAX_PHRASES + 1)], 400, [f"at most {MAX_PHRASES}"]),
    (["a dog barks", "a dog barks"], 400, ["given twice"]),
    (["a xylophone glissando"], 400, ["knows none of its words", "xylophone"]),
]


@pytest.mark.parametrize("phrases,status,words", PHRASE_REFUSALS,
                         ids=["empty", "blank", "overlong", "none", "too-many", "repeated", "unknown-words"])
def test_bad_phrases_are_refused_clearly(client, serve_grounder, corpus_clip, phrases, status, words):
    calls = serve_grounder.audio_encoder_calls
    refused(ground(client, corpus_id(corpus_clip), phrases), status, *words)
    assert serve_grounder.audio_encoder_calls == calls
    still_serving(client, corpus_clip)


@pytest.mark.parametrize("options,words", [({"threshold": 1.5}, ["threshold", "[0, 1]"]),
                                           ({"median": 4}, ["median", "odd"]), ({"median": 0}, ["median"])])
def test_bad_options_are_refused_clearly(client, corpus_clip, options, words):
    refused(ground(client, corpus_id(corpus_clip), ["a dog barks"], **options), 400, *words)
    still_serving(client, corpus_clip)


def test_search_without_an_index_says_how_to_get_one(client):
    refused(client.get("/api/search", params={"phrase": "a dog barks"}), 404, "--index")


def test_the_openapi_schema_types_the_api_and_no_cdn_page_is_served(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/ground", "/api/uploads", "/api/clips", "/api/audio", "/api/spectrogram", "/api/search",
            "/api/info"} <= set(schema["paths"])
    assert {"GroundRequest", "GroundResult", "PhraseResult", "Segment", "ErrorBody"} <= set(schema["components"]["schemas"])
    assert client.get("/docs").status_code == 404  # Swagger UI would load its scripts from a CDN
    page = client.get("/").text
    assert "<svg id=\"plot\"" in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page and "https://" not in client.get("/static/app.js").text
