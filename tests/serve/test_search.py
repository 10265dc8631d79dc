"""With an index: ranked moments across the collection, each playable and groundable by its id."""

from __future__ import annotations

import pytest

from tests.serve.conftest import SAME_ORIGIN
from wstag.index import Index
from wstag.serve import create_app


@pytest.fixture(scope="module")
def indexed(serve_model_dir, serve_grounder, tiny_corpus, tmp_path_factory):
    """An index of four real corpus clips (one in a subfolder), built with the served model."""
    audio = tmp_path_factory.mktemp("collection")
    clips = sorted((tiny_corpus / "test" / "audio").glob("*.flac"))[:4]
    (audio / "sub").mkdir()
    for k, clip in enumerate(clips):
        (audio / ("sub" if k == 3 else ".") / clip.name).symlink_to(clip)
    index = Index.build(audio, serve_model_dir, tmp_path_factory.mktemp("idx") / "collection.index", device="cpu")
    from fastapi.testclient import TestClient

    with TestClient(create_app(serve_grounder, index=index.path), headers=SAME_ORIGIN) as client:
        yield client, index


def test_search_returns_the_index_moments_each_playable(indexed):
    client, index = indexed
    r = client.get("/api/search", params={"phrase": "a dog barks", "top": 5, "threshold": 0.25})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = index.search("a dog barks", top=5, threshold=0.25)
    assert len(expected) > 0 and body["files"] == 4
    assert [(m["file"], m["onset"], m["offset"], m["score"]) for m in body["moments"]] == \
           [(m.file, m.onset, m.offset, m.score) for m in expected]
    top = body["moments"][0]
    assert top["recording"] == f"index:{top['file']}"
    audio = client.get(top["audio_url"])
    assert audio.status_code == 200 and audio.content == index.path_of(top["file"]).read_bytes()
    grounded = client.post("/api/ground", json={"recording": top["recording"], "phrases": ["a dog barks"],
                                                "threshold": 0.25})
    assert grounded.status_code == 200, grounded.text
    segments = grounded.json()["phrases"][0]["segments"]  # float32 frames here, float16 in the index
    assert any(s["onset"] < top["offset"] and top["onset"] < s["offset"] for s in segments)


def test_the_index_answers_through_the_served_model(indexed, serve_grounder):
    client, _ = indexed
    info = client.get("/api/info").json()
    assert info["index_files"] == 4 and info["index"] == "collection.index"
    assert client.app.state.recordings.index.grounder is serve_grounder  # one model in memory, not two


@pytest.mark.parametrize("params,status,words", [
    ({"phrase": ""}, 400, "empty phrase"),
    ({"phrase": "x" * 300}, 400, "at most 200"),
    ({"phrase": "a dog barks", "top": 0}, 400, "top"),
    ({"phrase": "a dog barks", "threshold": 2}, 400, "threshold"),
    ({"phrase": "a xylophone"}, 400, "knows none of its words"),
])
def test_bad_searches_are_refused_clearly(indexed, params, status, words):
    client, _ = indexed
    r = client.get("/api/search", params=params)
    assert r.status_code == status and words in r.json()["detail"], r.text
    assert client.get("/api/search", params={"phrase": "rain falls", "threshold": 0.0}).status_code == 200


@pytest.mark.parametrize("name", ["index:../../etc/passwd", "index:sub/../../etc/passwd", "index:/etc/passwd"])
def test_only_indexed_files_are_served(indexed, name):
    client, _ = indexed
    r = client.get("/api/audio", params={"recording": name})
    assert r.status_code == 404 and "unknown recording" in r.json()["detail"]
