"""AudioCaps' proportions for a preset: how often each class is drawn, and the real words that name it.

The `world` preset draws its events and beds in proportion to how often real captions name
each class, and captions them with the phrases real annotators wrote (issue 27, items 2-3).
Both come from ``audiocaps_frequencies.json``, shipped in the package because a fresh clone
has no AudioGrounding labels at build time; ``wstag experiments caption-frequencies
--preset-data`` writes it from the labels, and its ``provenance`` says from what.

Per class the file holds its phrase ``occurrences`` in the real labels (train and val),
its training ``wordings`` ([phrase, modifier, count] from the train labels: the phrase is
what the parser extracts, the modifier is what followed it in its caption, such as "in the
distance" or "loudly") and its ``held_out`` phrases (from the val labels, none of them a
training wording). A class the labels name fewer than ``FLOOR`` times is drawn at ``FLOOR``
occurrences, so every class appears; one the train labels never name keeps its template phrases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from wstag.errors import ConfigError
from wstag.files import read_shipped_or_file
from wstag.scapes.classtable import ClassTable, SoundClass
from wstag.text.phrases import extract_phrases
from wstag.text.tokenize import tokenize

DATA_FILE = "audiocaps_frequencies.json"
DATA_FORMAT = "wstag-audiocaps-frequencies"
#: Occurrences a class is drawn at when the labels name it less often (or never): with the world
#: preset's 4000 training clips, such a class still appears in 5 to 10 of them.
FLOOR = 5.0
#: Annotated phrases that name a place, not a sound: a modifier may hold them ("in the distance"),
#: and the parser then extracts them as a phrase of no class, as AudioGrounding's annotators did.
PLACE_PHRASES = frozenset({"the distance", "a distance", "the far distance", "the background", "the foreground"})
#: Words that say who makes the sound. A gendered recording of a class with gendered template phrases
#: (laughter, scream) takes the wordings of its gender (else the ungendered ones); an ungendered one,
#: only ungendered ones.
MALE_WORDS = frozenset("man men male males boy boys guy guys gentleman mans he his".split())
FEMALE_WORDS = frozenset("woman women female females girl girls lady ladies she her".split())


def wording_problem(phrase: str, modifier: str = "") -> str | None:
    """Why ``phrase`` followed by ``modifier`` cannot caption an event (None when it can).

    The phrase parser must give the phrase back whole as the first phrase (its token span is
    the annotation), the modifier may add only place phrases, and the caption's tokens must be
    the phrase's followed by the modifier's.
    """
    tokens, extra = tokenize(phrase), tokenize(modifier)
    if not tokens:
        return "an empty phrase"
    if " ".join(tokens) != phrase:
        return f"the phrase is not in its token form {' '.join(tokens)!r}"
    if modifier and " ".join(extra) != modifier:
        return f"the modifier is not in its token form {' '.join(extra)!r}"
    found = extract_phrases([*tokens, *extra])
    if not found or (found[0].text, found[0].start_index, found[0].end_index) != (phrase, 0, len(tokens) - 1):
        got = found[0].text if found else "nothing"
        return f"the phrase parser extracts {got!r}, not the phrase"
    others = [p.text for p in found[1:] if p.text not in PLACE_PHRASES]
    if others:
        return f"the modifier holds the phrase {others[0]!r}"
    return None


def gender_of(phrase: str) -> str | None:
    """``male``, ``female`` or None (no gender word, or both)."""
    words = set(tokenize(phrase))
    male, female = bool(words & MALE_WORDS), bool(words & FEMALE_WORDS)
    return "male" if male and not female else "female" if female and not male else None


@dataclass(frozen=True)
class Wording:
    """A real phrase and the modifier that followed it, with how often the train labels hold the pair."""

    phrase: str
    modifier: str
    count: int


@dataclass(frozen=True)
class Drawable:
    """Wordings and their draw probabilities (proportional to their counts)."""

    wordings: tuple[Wording, ...]
    p: np.ndarray

    @classmethod
    def of(cls, wordings: list[Wording] | tuple[Wording, ...]) -> "Drawable":
        counts = np.asarray([w.count for w in wordings], dtype=float)
        return cls(tuple(wordings), counts / counts.sum())

    def draw(self, rng: np.random.Generator) -> Wording:
        return self.wordings[int(rng.choice(len(self.wordings), p=self.p))]


@dataclass(frozen=True)
class AudioCapsFrequencies:
    """The shipped data for one class table: class weights, training wordings, held-out wordings."""

    table: str
    occurrences: Mapping[str, int]
    wordings: Mapping[str, tuple[Wording, ...]]
    held_out: Mapping[str, tuple[str, ...]]
    provenance: Mapping[str, Any]

    def weights(self, floor: float = FLOOR) -> dict[str, float]:
        """Per class, the weight it is drawn with: its occurrences, at least ``floor``."""
        return {name: max(float(n), floor) for name, n in self.occurrences.items()}

    def caption_wordings(self) -> "CaptionWordings":
        return CaptionWordings({name: ws for name, ws in self.wordings.items() if ws})


class CaptionWordings:
    """Draws a class's real wording for a placed event, weighted by its count in the train labels."""

    def __init__(self, wordings: Mapping[str, tuple[Wording, ...]]):
        self.all = {name: Drawable.of(ws) for name, ws in wordings.items()}
        self.by_gender: dict[tuple[str, str | None], Drawable] = {}
        for name, ws in wordings.items():
            for gender in (None, "male", "female"):
                chosen = [w for w in ws if gender_of(w.phrase) == gender]
                if chosen:
                    self.by_gender[name, gender] = Drawable.of(chosen)

    def draw(self, rng: np.random.Generator, sound_class: SoundClass, gender: str | None) -> tuple[str, str] | None:
        """(phrase, modifier), or None when the class keeps its template phrases for this event.

        A class whose template phrases are gendered (laughter, scream) captions a gendered
        recording with the wordings of its gender, else the ungendered ones, and an ungendered
        recording with the ungendered ones only: "a man laughs" never captions a woman.
        """
        name = sound_class.name
        if name not in self.all:
            return None
        if sound_class.phrases_male or sound_class.phrases_female:
            keys = [(name, gender), (name, None)] if gender in ("male", "female") else [(name, None)]
            found = next((self.by_gender[k] for k in keys if k in self.by_gender), None)
        else:
            found = self.all[name]
        if found is None:
            return None
        chosen = found.draw(rng)
        return chosen.phrase, chosen.modifier


def _fail(where: str, msg: str) -> None:
    raise ConfigError(f"{where}: {msg}")


def _wordings(raw: Any, where: str) -> tuple[Wording, ...]:
    if not isinstance(raw, list):
        _fail(where, "'wordings' must be a list of [phrase, modifier, count]")
    out = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str)
                and isinstance(item[2], int) and not isinstance(item[2], bool) and item[2] > 0):
            _fail(where, f"a wording must be [phrase, modifier, positive count], got {item!r}")
        problem = wording_problem(item[0], item[1])
        if problem:
            _fail(where, f"wording {item[0]!r} + {item[1]!r} cannot caption an event: {problem}")
        out.append(Wording(item[0], item[1], item[2]))
    return tuple(out)


def parse_frequencies(data: Any, table: ClassTable, where: str) -> AudioCapsFrequencies:
    """Validate the data against ``table``: every class present, counts, wordings that survive the parser."""
    if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
        _fail(where, f"not a wstag frequencies file (expected \"format\": \"{DATA_FORMAT}\")")
    if data.get("table") != table.name:
        _fail(where, f"written for class table {data.get('table')!r}, not {table.name!r}")
    classes = data.get("classes")
    if not isinstance(classes, dict):
        _fail(where, "expected 'classes': {class: {occurrences, wordings, held_out}}")
    names = [c.name for c in table.classes]
    missing, unknown = sorted(set(names) - set(classes)), sorted(set(classes) - set(names))
    if missing or unknown:
        _fail(where, f"classes differ from table {table.name!r}: missing {missing}, unknown {unknown}")
    occurrences, wordings, held_out = {}, {}, {}
    for name in names:
        raw, cwhere = classes[name], f"{where}: class {name!r}"
        if not isinstance(raw, dict) or set(raw) != {"occurrences", "wordings", "held_out"}:
            _fail(cwhere, "needs exactly 'occurrences', 'wordings' and 'held_out'")
        n = raw["occurrences"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            _fail(cwhere, f"occurrences must be a count >= 0, got {n!r}")
        if not (isinstance(raw["held_out"], list) and all(isinstance(p, str) and p for p in raw["held_out"])):
            _fail(cwhere, "'held_out' must be a list of phrases")
        occurrences[name], wordings[name] = n, _wordings(raw["wordings"], cwhere)
        held_out[name] = tuple(raw["held_out"])
    return AudioCapsFrequencies(table.name, occurrences, wordings, held_out, data.get("provenance") or {})


def load_frequencies(table: ClassTable, path: str | Path | None = None) -> AudioCapsFrequencies:
    """The shipped ``audiocaps_frequencies.json`` (or ``path``), checked against ``table``."""
    text, where = read_shipped_or_file(path, "wstag.scapes", DATA_FILE, "frequencies file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc})") from None
    return parse_frequencies(data, table, where)
