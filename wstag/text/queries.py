"""Checking a phrase's words before a model answers it (text only, no model).

The word-embedding text encoder knows only the words of its training captions; an
unknown word would map to ``<unk>``, a row that training never updates (the vocabulary
keeps every caption word), so its answer is noise. A phrase therefore keeps only its
known words (with a warning naming the others), and a phrase with no known word that
names a sound ("a xylophone glissando": only "a" is known) is refused rather than
answered with confident-looking detections. An open-vocabulary (MiniLM) text encoder
reads every word: only a phrase without a word that names a sound is refused.
The same rule decides which held-out wordings the benchmark may use (``wstag.scapes.wordings``).
"""

from __future__ import annotations

import warnings

from wstag.errors import QueryError
from wstag.text.phrases import DETERMINERS, is_separator
from wstag.text.tokenize import tokenize
from wstag.text.vocabulary import Vocabulary

#: Auxiliaries: inside training phrases ("a dog is barking") but naming no sound.
AUXILIARIES = frozenset("is are was were be being been".split())


def is_function_word(word: str) -> bool:
    """True for words that name no sound (articles, prepositions, connectives, auxiliaries)."""
    return word in DETERMINERS or word in AUXILIARIES or is_separator(word)


def phrase_token_ids(vocab: Vocabulary, phrase: str, vocab_hint: str = "") -> tuple[list[int], list[str]]:
    """(ids of the known words of ``phrase``, the unknown words): warn or refuse as above.

    ``vocab_hint`` (e.g. "see MODEL/vocab.json") ends the refusal message.
    """
    if not isinstance(phrase, str) or not phrase.strip():
        raise QueryError("empty phrase: give words describing a sound, e.g. 'a dog barks'")
    tokens = tokenize(phrase)
    if not tokens:
        raise QueryError(f"empty phrase {phrase!r}: it has no words to look up")
    known = [t for t in tokens if t in vocab]
    unknown = list(dict.fromkeys(t for t in tokens if t not in vocab))
    if all(is_function_word(t) for t in known):
        what = (f"the model knows none of its words that name a sound (unknown: {', '.join(unknown)})"
                if unknown else "it has no word that names a sound")
        hint = f"; {vocab_hint}" if vocab_hint else ""
        raise QueryError(f"phrase {phrase!r}: {what}{hint}")
    if unknown:
        warnings.warn(f"phrase {phrase!r}: ignored the words the model does not know: {', '.join(unknown)}",
                      stacklevel=3)
    return vocab.encode_tokens(known), unknown


def unknown_words_or_refused(vocab: Vocabulary, phrase: str) -> list[str] | None:
    """The words of ``phrase`` the model does not know, or None where it refuses the phrase: the rule
    of ``phrase_token_ids`` without its warning, for counting over many phrases."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return phrase_token_ids(vocab, phrase)[1]
        except QueryError:
            return None


def check_open_phrase(phrase: str) -> list[str]:
    """For an open-vocabulary text encoder, which reads every word: refuse only a phrase
    without a word that names a sound; return the ignored words (none)."""
    if not isinstance(phrase, str) or not phrase.strip():
        raise QueryError("empty phrase: give words describing a sound, e.g. 'a dog barks'")
    tokens = tokenize(phrase)
    if not tokens:
        raise QueryError(f"empty phrase {phrase!r}: it has no words to look up")
    if all(is_function_word(t) for t in tokens):
        raise QueryError(f"phrase {phrase!r}: it has no word that names a sound")
    return []
