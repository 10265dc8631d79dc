"""Held-out wordings of a corpus: per class, phrases no training caption uses.

Open-vocabulary grounding is measured by asking for a test clip's sound in words the
model never read in training. The shipped set is ``wstag/scapes/wordings.yaml`` (beside
the class table); a corpus build copies its classes' wordings into ``wordings.json``
(``wstag.scapes.wordings.write_corpus_wordings``, outside the corpus hash), so an
evaluation reads the set its corpus was built with; a corpus built before that reads
the shipped file. This module reads them; the benchmark writes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from wstag.errors import ConfigError
from wstag.files import read_shipped_or_file
from wstag.text.queries import is_function_word  # the rule that refuses a phrase with no known sound word
from wstag.text.tokenize import tokenize

WORDINGS_FILE = "wordings.json"
_FORMAT = "wstag-wordings"
MIN_WORDINGS = 2

Wordings = dict[str, tuple[str, ...]]


def load_wordings(path: str | Path | None = None) -> Wordings:
    """class name -> its held-out wordings, from the shipped ``wordings.yaml`` (or ``path``)."""
    text, where = read_shipped_or_file(path, "wstag.scapes", "wordings.yaml", "wordings file")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("wordings"), dict):
        raise ConfigError(f"{where}: expected a mapping with 'wordings: {{class: [phrases]}}'")
    return _validated(data["wordings"], where)


def _validated(raw: Mapping[str, Any], where: str) -> Wordings:
    out: Wordings = {}
    for name, phrases in raw.items():
        if (not isinstance(phrases, list) or len(phrases) < MIN_WORDINGS
                or not all(isinstance(p, str) and tokenize(p) for p in phrases)):
            raise ConfigError(f"{where}: class {name!r} needs a list of at least {MIN_WORDINGS} non-empty wordings")
        out[str(name)] = tuple(p.strip() for p in phrases)
    return out


def seen_words(wording: str, vocabulary: Iterable[str]) -> list[str]:
    """The words of ``wording`` that name something and occur in ``vocabulary`` (should be none)."""
    known = set(vocabulary)
    return [t for t in dict.fromkeys(tokenize(wording)) if t in known and not is_function_word(t)]


def corpus_wordings(corpus_dir: str | Path) -> Wordings:
    """The held-out wordings of a corpus: its ``wordings.json``, else the shipped ``wordings.yaml``."""
    path = Path(corpus_dir) / WORDINGS_FILE
    if not path.is_file():
        return load_wordings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("wordings"), dict):
        raise ConfigError(f"{path}: not a wstag wordings file (expected {{\"format\": \"{_FORMAT}\", \"wordings\": ...}})")
    return _validated(data["wordings"], str(path))
