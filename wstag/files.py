"""Write files so that a crash never leaves a half-written output looking complete.

Everything wstag writes (labels, manifests, caches, checkpoints' side files) goes to a
temporary name in the same folder and is renamed into place when complete. Reading a
shipped data file or the user's replacement of it, with one error for a missing one, lives
here too (``read_shipped_or_file``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
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


def write_json(path: str | os.PathLike, value, indent: int | None = 1) -> Path:
    """``value`` as JSON at ``path``, atomically."""
    with atomic_open(path, encoding="utf-8") as fh:
        json.dump(value, fh, indent=indent)
        fh.write("\n")
    return Path(path)


def _previous(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def recover_folder(target: str | os.PathLike) -> None:
    """Undo a ``swap_folder`` cut between its two renames: put the previous folder back.

    Cut there, ``target`` is missing and its previous content waits in ``.NAME.old``; a
    later run would otherwise never find it. With ``target`` in place, ``.NAME.old`` is
    what a finished swap did not get to delete.
    """
    target = Path(target)
    old = _previous(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old)
        else:
            os.replace(old, target)


def swap_folder(staged: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put the finished folder ``staged`` at ``target``, replacing a folder there whole.

    Two renames on one file system; at every moment either the old or the new folder is
    at ``target``, or (cut between the renames) the old one waits in ``.NAME.old`` for
    ``recover_folder``. The old folder is deleted only once the new one is in place.
    """
    staged, target = Path(staged), Path(target)
    recover_folder(target)
    old = _previous(target)
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    if old.exists():
        shutil.rmtree(old)


def read_shipped_or_file(path: str | os.PathLike | None, package: str, name: str, what: str) -> tuple[str, str]:
    """(text, where): the package data file ``name`` of ``package`` when ``path`` is None, else ``path``.

    ``where`` names the file for error messages; a missing ``path`` is refused as "``what`` not found".
    """
    from importlib import resources

    from wstag.errors import ConfigError

    if path is None:
        return resources.files(package).joinpath(name).read_text(encoding="utf-8"), f"{package.replace('.', '/')}/{name}"
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    return path.read_text(encoding="utf-8"), str(path)
