"""The corpus folder: the one module that knows its layout.

::

    CORPUS/
      corpus.json           written last: its presence marks a complete corpus (sizes, hashes, provenance)
      wordings.json         held-out query wordings (the embedded benchmark; wstag.data.wordings)
      train/ val/ test/
        audio/              the clips
        weak.json           weak labels (caption phrases, no segments): all that WSTAG training reads
        labels.json         strong labels (segments), for evaluation and SSTAG
        captions.csv        AudioCaps columns

Both writers (``wstag data build``, the importers) fill a temporary folder and end with
``finish_corpus``: the content hash over the label files, the ``corpus.json`` marker,
and a folder swap that never leaves a moment without a complete corpus.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wstag.errors import ConfigError
from wstag.files import swap_folder, write_json

CORPUS_INFO = "corpus.json"
LABELS = "labels.json"
WEAK = "weak.json"
CAPTIONS = "captions.csv"
AUDIO = "audio"
SPLITS = ("train", "val", "test")
#: the label files of a split that the content hash covers, in this order
HASHED_FILES = (LABELS, CAPTIONS, WEAK)


class Corpus:
    """A corpus folder: its splits' files, and its ``corpus.json`` when complete."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)

    def split(self, name: str) -> Path:
        return self.folder / name

    def labels(self, split: str) -> Path:
        return self.folder / split / LABELS

    def weak(self, split: str) -> Path:
        return self.folder / split / WEAK

    def audio(self, split: str) -> Path:
        return self.folder / split / AUDIO

    @property
    def info_path(self) -> Path:
        return self.folder / CORPUS_INFO

    @property
    def is_complete(self) -> bool:
        return self.info_path.is_file()

    def info(self) -> dict[str, Any] | None:
        """``corpus.json`` as a dict (None when the folder holds no complete corpus)."""
        if not self.is_complete:
            return None
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{self.info_path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{self.info_path}: expected a JSON object")
        return data

    @property
    def content_hash(self) -> str | None:
        info = self.info()
        return None if info is None else info.get("content_hash")


def hash_label_files(h, folder: str | os.PathLike) -> None:
    """Feed ``folder``'s split label files (those present) to the hash ``h``, in the fixed order."""
    for split in SPLITS:
        for name in HASHED_FILES:
            path = Path(folder) / split / name
            if path.is_file():
                h.update(path.read_bytes())


def finish_corpus(staged: str | os.PathLike, out: str | os.PathLike, info: dict[str, Any]) -> None:
    """Mark the finished corpus in ``staged`` complete and put it at ``out`` (replacing one there whole)."""
    write_json(Path(staged) / CORPUS_INFO, info)
    swap_folder(staged, out)
