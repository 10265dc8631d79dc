"""Held-out wordings on the benchmark's side: the words captions may hold, and the corpus copy.

The wordings themselves live beside the class table (``wordings.yaml``), not in it: the
sound bank is rebuilt whenever the table changes, and nothing here changes a corpus.
Reading them (shipped or a corpus's ``wordings.json``) is ``wstag.data.wordings``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from wstag.data.wordings import _FORMAT, MIN_WORDINGS, WORDINGS_FILE, Wordings, load_wordings
from wstag.errors import ConfigError
from wstag.files import atomic_open
from wstag.scapes import captions
from wstag.scapes.classtable import ClassTable
from wstag.scapes.frequencies import AudioCapsFrequencies
from wstag.text.tokenize import tokenize

#: The shipped held-out wordings of each class table: wordings.yaml (base classes), then the world's new ones.
TABLE_WORDINGS: dict[str, tuple[str, ...]] = {
    "base": ("wordings.yaml",),
    "world": ("wordings.yaml", "wordings_world.yaml"),
}


def caption_words(table: ClassTable, frequencies: AudioCapsFrequencies | None = None) -> frozenset[str]:
    """Every token a caption built from ``table`` can hold: its phrases, connectives and modifiers,
    and with ``frequencies`` (the world preset) every real wording and its modifier."""
    pieces = [p for c in table.classes for p in (*c.phrases, *c.phrases_male, *c.phrases_female)]
    pieces += [*captions.SEQUENTIAL, *captions.OVERLAPPING, *captions.BED_JOIN, *captions.MODIFIERS,
               *captions.REPEAT_MODIFIERS, *captions.BED_MODIFIERS]
    if frequencies is not None:
        pieces += [t for ws in frequencies.wordings.values() for w in ws for t in (w.phrase, w.modifier)]
    return frozenset(t for p in pieces for t in tokenize(p))


def table_wordings(table: ClassTable) -> Wordings:
    """The shipped held-out wordings of ``table``'s files (TABLE_WORDINGS), merged in order."""
    out: Wordings = {}
    for name in TABLE_WORDINGS.get(table.name, ("wordings.yaml",)):
        if name == "wordings.yaml":
            out.update(load_wordings())
        else:
            with resources.as_file(resources.files("wstag.scapes").joinpath(name)) as path:
                out.update(load_wordings(path))
    return out


def write_corpus_wordings(corpus_dir: str | Path, table: ClassTable, wordings: Wordings | None = None,
                          missing_ok: bool = False) -> Path:
    """Write the wordings of ``table``'s classes into ``corpus_dir/wordings.json``.

    A class without any is refused, unless ``missing_ok`` (then it is left out of the file).
    """
    wordings = load_wordings() if wordings is None else wordings
    missing = [c.name for c in table.classes if c.name not in wordings]
    if missing and not missing_ok:
        raise ConfigError(f"wordings.yaml has no held-out wordings for classes {missing}")
    path = Path(corpus_dir) / WORDINGS_FILE
    with atomic_open(path) as fh:
        json.dump({"format": _FORMAT, "wordings": {c.name: list(wordings[c.name]) for c in table.classes
                                                   if c.name in wordings}},
                  fh, indent=1, ensure_ascii=False)
    return path


def held_out_wordings(table: ClassTable, frequencies: AudioCapsFrequencies,
                      shipped: Wordings | None = None) -> Wordings:
    """Per class, the val labels' phrases no training caption uses, else the shipped held-out wordings.

    A class with fewer than MIN_WORDINGS real held-out phrases is completed from the shipped
    ones (``table_wordings``); a class that still has fewer is left out (wordings.json cannot hold it).
    """
    shipped = table_wordings(table) if shipped is None else shipped
    out: Wordings = {}
    for c in table.classes:
        real = tuple(frequencies.held_out.get(c.name, ()))
        if len(real) < MIN_WORDINGS:
            real += tuple(w for w in shipped.get(c.name, ()) if w not in real)
        if len(real) >= MIN_WORDINGS:
            out[c.name] = real
    return out
