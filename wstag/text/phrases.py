"""Rule-based extraction of sound-event phrases from a caption (paper IV, Alg. 1-2 line 1).

Phrase-level WSTAG trains on the phrases of each caption, and is evaluated on phrases
that human annotators marked in AudioGrounding. The annotators' convention, read off
AudioGrounding v1 (see :mod:`wstag.data.parser_agreement`), is simple: a phrase is a maximal
run of content words. Connectives ("and", "followed by", "while", "as", "then", ...),
prepositions, pronouns, numerals, adverbs of manner or place ("loudly", "nearby"),
punctuation and possessive clitics are never part of a phrase; they separate phrases.
"a man speaks loudly in the background , followed by two dogs barking" gives
"a man speaks" and "dogs barking".

The rules are word lists (module constants below) plus three small steps:
split on the separator words, trim trailing modifiers ("blows hard", "is present"),
and drop runs that describe no sound ("the background", a lone "the").

What the v1 annotators did, and so we do: every "and" splits, even inside an event
("barking and howling"; none of 3,088 "and"s is inside a human phrase); a preposition's
object is its own phrase ("in the distance" gives "the distance"); "briefly" and
"several times" stay in the phrase. Quirks not modelled: "an adult female speaks" is
annotated "an adult" + "female speaks", "a train horn blows" often "a train" +
"horn blows". Agreement: 94.8 % of train and 91.6 % of val human phrases exactly,
99.3 % / 99.6 % inside a parser phrase.
"""

from __future__ import annotations

from typing import Sequence

from wstag.records import Phrase
from wstag.text.tokenize import tokenize

#: Words that join clauses or events: always a phrase boundary, never in a phrase.
CONNECTIVES = frozenset(
    "and or but & then while as followed with before after when during until than like "
    "also alongside amid amidst among together which that who whom whose if because "
    "whilst meanwhile plus".split()
)

#: Prepositions and verb particles: boundaries ("speaking in a foreign language" gives
#: "speaking" and "a foreign language"; "revs up" gives "revs").
PREPOSITIONS = frozenset(
    "by in of on to at into onto from over under through throughout against for near "
    "across about between above below behind beneath beside besides via without within "
    "toward towards upon around along up down off out away back past inside outside "
    "underneath beyond".split()
)

#: Pronouns and possessives: the annotators kept only the nouns they stand beside.
PRONOUNS = frozenset(
    "it its itself they them their theirs themselves he him his himself she her hers "
    "herself we us our you your i me my each all both this these those there what".split()
)

#: Number words: "two men speak" is annotated "men speak".
NUMERALS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty hundred".split()
)

#: Adverbs not ending in -ly (those are caught by the suffix rule), and "present"
#: ("a hum is present" is annotated "a hum").
ADVERBS = frozenset(
    "very again once twice thrice nearby present far farther further later still just "
    "somewhat really not only well super most afar soon now even quite too rather almost"
    .split()
)

#: Words of five letters or more ending in -ly that are not adverbs, or that the
#: annotators kept anyway ("a whistle blows briefly").
LY_KEPT = frozenset(
    "briefly butterfly dragonfly firefly reply family belly jelly assembly supply rally "
    "bully early silly curly jolly lovely elderly friendly monthly weekly daily chilly "
    "hilly bubbly wobbly".split()
)

#: Clitics the tokeniser splits off ("a man's voice" is annotated "a man" and "voice").
#: Punctuation tokens (no letter or digit) are separators too.
CLITICS = frozenset({"'s", "n't", "'re", "'ve", "'ll", "'d", "'m"})

#: Modals split ("birds can be heard" gives "birds" and "be heard"); auxiliaries stay
#: inside a phrase ("a dog is barking") and are only trimmed from its end.
MODALS = frozenset("can could may might will would should must".split())

#: Words dropped from the end of a phrase but kept inside one: "wind blows hard" vs
#: "a hard surface", "a dog is barking" vs "a whining sound is present".
TRAILING_MODIFIERS = frozenset(
    "hard fast idle loud louder quiet quieter closer close little more high low "
    "is are was were be being been".split()
)

#: Whole runs that name no sound: "in the background" is not an event.
NON_EVENT_RUNS = frozenset({("the", "background")})

#: Determiners: trimmed from a phrase's end ("tires squeal a little"), so a run made
#: only of them disappears.
DETERMINERS = frozenset("a an the some any another other several multiple many few".split())


def is_separator(token: str) -> bool:
    """True if ``token`` can never be part of a phrase."""
    if token in LY_KEPT:
        return False
    return (
        token in CONNECTIVES
        or token in PREPOSITIONS
        or token in PRONOUNS
        or token in NUMERALS
        or token in ADVERBS
        or token in MODALS
        or token in CLITICS
        or token.isdigit()
        or (len(token) > 4 and token.endswith("ly"))
        or not any(c.isalnum() for c in token)
    )


def _trim(tokens: Sequence[str], start: int, end: int) -> tuple[int, int] | None:
    """Shrink the inclusive run [start, end]; None if nothing acoustic is left."""
    while end >= start and (tokens[end] in TRAILING_MODIFIERS or tokens[end] in DETERMINERS):
        end -= 1
    if end < start:
        return None
    if tuple(tokens[start : end + 1]) in NON_EVENT_RUNS:
        return None
    return start, end


def extract_phrases(caption_or_tokens: str | Sequence[str]) -> list[Phrase]:
    """The sound-event phrases of a caption, in caption order, without segments.

    Give a caption string (tokenised with :func:`wstag.text.tokenize.tokenize`) or its
    tokens; ``start_index``/``end_index`` are inclusive indices into those tokens.
    """
    if isinstance(caption_or_tokens, str):
        tokens = tokenize(caption_or_tokens)
    else:
        tokens = [t.lower() for t in caption_or_tokens]
    phrases = []
    start = None
    for i, tok in enumerate([*tokens, ","]):
        if not is_separator(tok):
            if start is None:
                start = i
            continue
        if start is not None:
            span = _trim(tokens, start, i - 1)
            if span is not None:
                s, e = span
                phrases.append(Phrase(" ".join(tokens[s : e + 1]), s, e))
            start = None
    return phrases
