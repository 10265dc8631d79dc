"""Seen versus unseen wordings: the same test pairs, asked in words training never used.

Every evaluated pair (clip, phrase of class c) is scored twice: with its own phrase
(seen: the wordings training captions use) and with one of class c's held-out wordings
(``wstag/scapes/wordings.yaml``), chosen per pair by a seeded draw. Both are scored
against the pair's true segments, so the two PSDS figures differ only in the wording.
This is the wrong-query control's substitution with a phrase of the right class.

A word-embedding model refuses a wording with no known word that names a sound (the
``Grounder``'s rule), and a refused pair has no scores: both figures are then computed
on the answered pairs only, and how many were refused is reported. (Scoring a refusal
as all-zero frames would not be "no detection": PSDS sweeps the threshold down to the
lowest score, where a constant curve detects the whole clip and earns the long events.)
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from wstag.errors import ConfigError
from wstag.evaluation.pairs import evaluation_pairs
from wstag.records import Clip
from wstag.seeding import stable_rng
from wstag.text.queries import unknown_words_or_refused
from wstag.text.vocabulary import Vocabulary


def _draw(seed: int, pid: str, n: int) -> int:
    # Stable across runs and Python versions (hash() is salted per process).
    return int(stable_rng(seed, pid).integers(n))


def unseen_wording_queries(
    clips: Iterable[Clip], wordings: Mapping[str, Sequence[str]], seed: int = 0,
) -> dict[str, str]:
    """pair id -> a held-out wording of the pair's class, the same for a seed whatever the clip order.

    The class comes from the clip's ``phrase_classes`` (embedded benchmark corpora); a
    corpus without them, or a class without wordings, is refused in one line.
    """
    out = {}
    for pid, clip, idx in evaluation_pairs(clips):
        classes = clip.extra.get("phrase_classes")
        if not classes or idx >= len(classes):
            raise ConfigError(f"clip {clip.audio_id} has no phrase classes: seen/unseen wordings need a corpus "
                              f"built by `wstag data build` (its labels name each phrase's class)")
        options = wordings.get(classes[idx])
        if not options:
            raise ConfigError(f"no held-out wording for class {classes[idx]!r} (pair {pid})")
        out[pid] = options[_draw(seed, pid, len(options))]
    return out


def refused_wordings(vocab: Vocabulary, texts: Iterable[str]) -> set[str]:
    """The texts a word-embedding model refuses: no known word that names a sound."""
    return {text for text in set(texts) if unknown_words_or_refused(vocab, text) is None}


def answered_pairs(queries: Mapping[str, str], refused: set[str]) -> list[str]:
    """The pair ids whose query was not refused, in ``queries``' order."""
    return [pid for pid, text in queries.items() if text not in refused]
