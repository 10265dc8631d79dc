"""The word vocabulary of the text encoder (paper V-B, SPEC 1).

Built once from the training captions and saved beside the model (``vocab.json``), so a
phrase maps to the same indices at training and at query time. Index 0 is ``<pad>``
(the embedding's padding row), index 1 is ``<unk>``: a query word never seen in
training maps there instead of failing, and ``unknown_words`` lets a caller warn about
it. Word order is by count (descending) then alphabetical, so the same captions always
give the same file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from wstag.errors import ConfigError, QueryError
from wstag.files import atomic_open
from wstag.text.tokenize import tokenize

PAD = "<pad>"
UNK = "<unk>"
SPECIALS = (PAD, UNK)
_FORMAT = "wstag-vocabulary"
_VERSION = 1


class Vocabulary:
    """Words <-> indices; index 0 is ``<pad>``, index 1 is ``<unk>``."""

    pad_index = 0
    unk_index = 1

    def __init__(self, words: Sequence[str]) -> None:
        """``words``: the vocabulary without the two special tokens, in index order."""
        words = list(words)
        bad = [w for w in words if not isinstance(w, str) or not w]
        if bad:
            raise ValueError(f"vocabulary words must be non-empty strings, got {bad[:3]!r}")
        specials = [w for w in words if w in SPECIALS]
        if specials:
            raise ValueError(f"vocabulary words must not include {specials}: they are added")
        self.itos: list[str] = [*SPECIALS, *words]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dupes = sorted(w for w, c in Counter(self.itos).items() if c > 1)
            raise ValueError(f"vocabulary has duplicate words: {dupes[:5]}")

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> "Vocabulary":
        """Count the tokens of ``texts`` (training captions); keep words seen ``min_count``+ times."""
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenize(text))
        for special in SPECIALS:
            counts.pop(special, None)
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: object) -> bool:
        return word in self.stoi and word not in SPECIALS

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.itos == other.itos

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} entries)"

    @property
    def words(self) -> list[str]:
        """The words, without ``<pad>`` and ``<unk>``."""
        return self.itos[len(SPECIALS):]

    # -- encoding
    def encode_tokens(self, tokens: Sequence[str]) -> list[int]:
        """Indices of already-tokenised words (e.g. a phrase's span of caption tokens)."""
        if len(tokens) == 0:
            raise QueryError("empty phrase: it has no words to look up")
        return [self.stoi.get(t, self.unk_index) if t not in SPECIALS else self.unk_index for t in tokens]

    def encode(self, phrase: str) -> list[int]:
        """Tokenise ``phrase`` and map its words to indices; unseen words -> ``<unk>``."""
        tokens = tokenize(phrase)
        if not tokens:
            raise QueryError(f"empty phrase {phrase!r}: it has no words to look up")
        return self.encode_tokens(tokens)

    def unknown_words(self, phrase: str) -> list[str]:
        """Words of ``phrase`` not in the vocabulary, in order, each once."""
        tokens = tokenize(phrase)
        if not tokens:
            raise QueryError(f"empty phrase {phrase!r}: it has no words to look up")
        return list(dict.fromkeys(t for t in tokens if t not in self))

    # -- files
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": _VERSION, "words": self.words}

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically (temp file, then rename) and return the path."""
        path = Path(path)
        _write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=0) + "\n")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read a file written by ``save``; ConfigError naming the file if missing or corrupt."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"vocabulary file {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"vocabulary file {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("words"), list):
            raise ConfigError(f"vocabulary file {path} is not a wstag vocabulary (expected "
                              f'{{"format": "{_FORMAT}", "words": [...]}})')
        if data.get("version") != _VERSION:
            raise ConfigError(f"vocabulary file {path} has version {data.get('version')!r}, "
                              f"this wstag reads version {_VERSION}")
        try:
            return cls(data["words"])
        except ValueError as exc:
            raise ConfigError(f"vocabulary file {path} is invalid: {exc}") from None


def _write_text_atomic(path: Path, text: str) -> None:
    with atomic_open(path, encoding="utf-8") as fh:
        fh.write(text)
