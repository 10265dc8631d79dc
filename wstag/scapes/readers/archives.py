"""Unpack the game archives (``.ocg``, ``.rcc``, ``.cat``) that hold package audio.

One entry point, ``extract_archive``, picks the reader by suffix and writes the audio
and text members (credits such as OpenClonk's ``authors.txt``) under
``dest_dir/<archive file name>/<member path>``, each file atomically. For a ``.cat``
it also writes ``index.tsv`` (index, file name, title): the titles are the only
record of each clip's Freesound source, author and licence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

from wstag.errors import FetchError
from wstag.files import atomic_open, atomic_path
from wstag.scapes.readers._common import AUDIO_SUFFIXES, TEXT_SUFFIXES, has_suffix, safe_member_path
from wstag.scapes.readers.cat import CatEntry, iter_cat
from wstag.scapes.readers.ocg import iter_ocg
from wstag.scapes.readers.rcc import iter_rcc

MEMBER_SUFFIXES: tuple[str, ...] = AUDIO_SUFFIXES + TEXT_SUFFIXES
CAT_INDEX_NAME = "index.tsv"


def _iter_cat_members(path: Path) -> Iterator[tuple[str, bytes]]:
    for entry in iter_cat(path):
        yield entry.file_name, entry.wav


_READERS: dict[str, Callable[[Path], Iterator[tuple[str, bytes]]]] = {
    ".ocg": iter_ocg,
    ".rcc": iter_rcc,
    ".cat": _iter_cat_members,
}


def iter_archive(path: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member path, bytes)`` of every member, whatever the archive type."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise FetchError(
            f"{path}: unknown archive type {path.suffix!r} (expected one of {sorted(_READERS)})"
        )
    return reader(path)


def _tsv_field(text: str) -> str:
    return " ".join(text.split())  # titles must not break the TSV with tabs or newlines


def _write_cat_index(entries: list[CatEntry], out: Path) -> None:
    with atomic_open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("index\tfile_name\ttitle\n")
        for entry in entries:
            fh.write(f"{entry.index}\t{entry.file_name}\t{_tsv_field(entry.title)}\n")


def extract_archive(path: str | os.PathLike, dest_dir: str | os.PathLike) -> list[Path]:
    """Write the audio and text members under ``dest_dir/<archive name>/``; return the paths.

    The whole archive is parsed and checked before anything is written, so a corrupt
    archive raises ``FetchError`` and leaves no partial output folder.
    """
    path = Path(path)
    root = Path(dest_dir) / path.name
    if path.suffix.lower() == ".cat":
        entries = list(iter_cat(path))
        members = [(e.file_name, e.wav) for e in entries]
    else:
        entries = []
        members = [(n, d) for n, d in iter_archive(path) if has_suffix(n, MEMBER_SUFFIXES)]
    written: list[Path] = []
    for name, data in members:
        out = root.joinpath(*safe_member_path(name, path).parts)
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
        written.append(out)
    if entries:
        _write_cat_index(entries, root / CAT_INDEX_NAME)
        written.append(root / CAT_INDEX_NAME)
    return written
