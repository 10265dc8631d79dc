"""Write files so that a crash never leaves a half-written output looking complete.

Everything wstag writes (labels, manifests, caches, checkpoints' side files) goes to a
temporary name in the same folder and is renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it into place when closed cleanly."""
    if "w" not in mode:
        raise ValueError(f"atomic_open is for writing; got mode {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def check_output_folder(out: Path) -> None:
    """Refuse (ConfigError) an output folder that is a file or lies under one: writing
    would fail only after minutes of work, and a --force must never delete a user's file."""
    from wstag.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out is a file, not a folder; choose another --out")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"{out}: cannot make the corpus folder there, {parent} is a file; choose another --out")
