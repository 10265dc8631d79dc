"""`wstag serve`: the web page to try a model (wstag.serve), run with uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import typer

from wstag.cli.common import handle_errors, log

MAX_CONNECTIONS = 256  # connections at once (uvicorn: 503 beyond); the model queue is bounded apart (serve/guards.py)


@handle_errors
def serve(
    model: str = typer.Argument("default", help="A model folder, or a shipped model's name (default)."),
    corpus: Optional[Path] = typer.Option(None, help="A corpus folder (from `wstag data build`) whose clips "
                                                     "the page offers."),
    index: Optional[Path] = typer.Option(None, help="An index folder (from `wstag index build`): the page gets "
                                                    "a search box over its recordings."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; the loopback address keeps the page on "
                                               "this machine."),
    port: int = typer.Option(8000, help="TCP port."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    max_upload_mb: float = typer.Option(20.0, help="Largest upload accepted, in MB."),
) -> None:
    """A web page: pick a corpus clip or upload a recording, type phrases, see and hear where they sound.

    A local tool. What it protects against: other web sites the browser visits (every /api
    request needs the page's X-Wstag header or a same-origin browser request; the Host must
    be this machine's name), requests that would exhaust memory (bodies counted as they
    arrive, uploads of at most --max-upload-mb and 600 s, 8 channels and 192 kHz, median
    windows of at most 501 frames, at most 8 requests waiting for the model and 256
    connections: beyond, 503), and files outside the corpus and index folders. What it
    does not: it has no accounts or TLS; --host other than the loopback address lets
    anyone who can reach this machine use it, a choice left to you.
    """
    from wstag.data.corpus import Corpus
    from wstag.errors import ConfigError

    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {port}")
    if not 0 < max_upload_mb <= 2000:
        raise ConfigError(f"--max-upload-mb must be in (0, 2000], got {max_upload_mb}")
    if corpus is not None and not Corpus(corpus).is_complete:
        raise ConfigError(f"--corpus {corpus}: not a corpus folder (no corpus.json); build one with `wstag data build`")
    if index is not None and not (index / "manifest.json").is_file():
        raise ConfigError(f"--index {index}: not an index folder (no manifest.json); build one with "
                          f"`wstag index build`")
    loopback = _is_loopback(host)
    if not loopback:
        log(f"warning: listening on {host}: anyone who can reach this machine can use the page and upload files")

    import uvicorn

    from wstag.inference.grounder import Grounder
    from wstag.serve import create_app

    grounder = Grounder.load(model, device=device, cache_size=32)
    app = create_app(grounder, corpus=corpus, index=index, max_upload_bytes=int(max_upload_mb * 1e6),
                     allowed_hosts=[host, "127.0.0.1", "localhost", "::1", "[::1]"] if loopback else None)
    shown = f"[{host}]" if ":" in host else host
    log(f"wstag serve: http://{shown}:{port}/  (model {grounder.model_dir}; Ctrl-C stops)")
    # a bounded number of connections at once (uvicorn answers 503 beyond it) and short idle keep-alives
    uvicorn.run(app, host=host, port=port, log_level="warning", limit_concurrency=MAX_CONNECTIONS,
                timeout_keep_alive=5)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
