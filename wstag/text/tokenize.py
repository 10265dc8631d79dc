"""Caption tokeniser matching the AudioGrounding convention.

Phrase token spans (``start_index``/``end_index``) index into a caption's tokens, so the
tokens we produce must be the ones AudioGrounding's annotators indexed. Their ``tokens``
column is NLTK Treebank tokenisation of the lower-cased caption: commas, ``;`` and
``&`` are tokens, clitics are split off (``man's`` -> ``man 's``, ``sports'`` ->
``sports '``), hyphenated words stay whole (``high-pitched``). The Treebank tokeniser
is pure regular expressions (no downloaded NLTK data), unlike ``word_tokenize``.
It reproduces every caption of AudioGrounding v1 train and val exactly.

AudioCaps captions also carry sentence punctuation and capitals, which AudioGrounding
dropped; we drop them too (periods, ``!``, ``?``, quotes, brackets).
"""

from __future__ import annotations

import functools

from nltk.tokenize import TreebankWordTokenizer

_TREEBANK = TreebankWordTokenizer()

#: Tokens that carry no words: sentence ends, quotes (Treebank writes `` and ''), brackets.
DROPPED_TOKENS = frozenset({".", "..", "...", "!", "?", "``", "''", '"', "(", ")", "[", "]", "{", "}"})


def tokenize(caption: str) -> list[str]:
    """Lower-case and split ``caption`` into AudioGrounding-style tokens."""
    return list(_tokenize(caption))


@functools.lru_cache(maxsize=1 << 16)
def _tokenize(caption: str) -> tuple[str, ...]:
    # Cached: readers tokenise the same short phrases ("a man speaks") thousands of times.
    tokens = []
    for tok in _TREEBANK.tokenize(caption.lower()):
        if tok in DROPPED_TOKENS:
            continue
        # Treebank only splits the caption's final period; "barks. a dog" keeps "barks.".
        tokens.append(tok.rstrip(".") or tok)
    return tuple(tokens)
