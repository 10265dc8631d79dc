"""Fixtures for the web app: a tiny model, a real corpus clip, the app in-process and on a real port."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from tests.inference.tiny import make_model_dir
from wstag.inference.grounder import Grounder
from wstag.models.checkpoint import load_model, save_model

#: Words the tiny model knows (tests.inference.tiny.CAPTIONS).
PHRASES = ["a dog barks", "rain falls", "a man speaks"]
#: what the page sends with every /api request (wstag.serve.guards)
SAME_ORIGIN = {"X-Wstag": "1"}
SHARPEN = 40.0


def sharp_model_dir(folder: Path) -> Path:
    """The tiny untrained model with its word vectors scaled up.

    Untrained, it answers about 0.47 in every frame; scaling the text embeddings scales
    every logit (the text encoder is a mean of word vectors), which spreads the curves
    over [0, 1] so that a threshold drag crosses them and the segments change.
    """
    make_model_dir(folder)
    model, vocab, _ = load_model(folder)
    with torch.no_grad():
        model.text_encoder.embedding.weight.mul_(SHARPEN)
    return save_model(folder, model, vocab)


@pytest.fixture(scope="session")
def serve_model_dir(tmp_path_factory) -> Path:
    return sharp_model_dir(tmp_path_factory.mktemp("serve-model") / "model")


@pytest.fixture(scope="session")
def serve_grounder(serve_model_dir) -> Grounder:
    return Grounder.load(serve_model_dir, device="cpu", cache_size=32)


@pytest.fixture(scope="session")
def corpus_clip(tiny_corpus) -> Path:
    """A real 10 s clip of the tiny corpus (built from the real sound bank)."""
    return sorted((tiny_corpus / "test" / "audio").glob("*.flac"))[0]


@pytest.fixture(scope="session")
def client(serve_grounder, tiny_corpus):
    from fastapi.testclient import TestClient

    from wstag.serve import create_app

    with TestClient(create_app(serve_grounder, corpus=tiny_corpus), headers=SAME_ORIGIN) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(serve_grounder, tiny_corpus):
    """The app served by uvicorn on a free loopback port, in a thread: its base URL."""
    import uvicorn

    from wstag.serve import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(serve_grounder, corpus=tiny_corpus), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
