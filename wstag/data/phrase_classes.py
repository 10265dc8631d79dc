"""Each training phrase's true sound class, as only the embedded benchmark knows it.

A corpus built by `wstag data build` records in ``labels.json`` the class of every
caption phrase (``phrase_classes``) and every class audible in a clip
(``classes_present``, an uncaptioned background included). Training never reads them;
the diagnostic samplers (``class_oracle``, ``all_classes``), the diagnostic class text
encoder and the sampling study do. Weak phrases can differ from the labelled ones by a
modifier, so each weak phrase takes the class of the labelled phrase it overlaps most.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from wstag.data.audiogrounding import load_json, read_weak_v2
from wstag.data.corpus import LABELS, WEAK
from wstag.errors import LabelError
from wstag.records import Clip

#: Class of a phrase that names no sound class ("briefly", "several times").
NO_CLASS = None


@dataclass(frozen=True)
class TrainPool:
    """The training clips with phrases, each phrase's true class, and each clip's audible classes."""

    clips: list[Clip]  # clips with at least one phrase, in weak.json order (as PhraseLevelDataset keeps them)
    phrase_classes: list[list[str | None]]  # per clip, per phrase (weak order); None: no sound class
    present: list[frozenset[str]]  # per clip: every audible class, uncaptioned background included

    @property
    def pool(self) -> list[str]:
        """Every phrase occurrence, as ``make_sampler`` builds the pool."""
        return [p.text for c in self.clips for p in c.phrases]

    def text_classes(self) -> dict[str, Counter]:
        """Phrase text -> Counter of its true classes over its occurrences."""
        out: dict[str, Counter] = defaultdict(Counter)
        for clip, classes in zip(self.clips, self.phrase_classes):
            for p, k in zip(clip.phrases, classes):
                out[p.text][k] += 1
        return dict(out)

    def majority_classes(self) -> dict[str, str | None]:
        """Phrase text -> its most common true class (a real class before NO_CLASS)."""
        return {t: majority_class(c) for t, c in self.text_classes().items()}


def _span_class(phrase, labelled: Sequence[tuple[int, int, str]]) -> str | None:
    """The class of the labelled phrase whose token span overlaps ``phrase`` most.

    Weak phrases can differ from the labelled ones by a modifier ("a dog barks briefly"
    against "a dog barks"); a phrase overlapping none ("several times") has no class.
    """
    best, best_overlap = NO_CLASS, 0
    for start, end, cls in labelled:
        overlap = min(phrase.end_index, end) - max(phrase.start_index, start) + 1
        if overlap > best_overlap:
            best, best_overlap = cls, overlap
    return best


def load_train_pool(data_dir: Path, split: str = "train") -> TrainPool:
    """The split's weak clips (what training reads) with the classes of its labels.json."""
    folder = Path(data_dir) / split
    clips = read_weak_v2(folder / WEAK)
    labels = load_json(folder / LABELS)
    if not isinstance(labels, list) or len(labels) != len(clips):
        raise LabelError(f"{folder / 'labels.json'}: expected a list of {len(clips)} entries like weak.json")
    kept, classes, present = [], [], []
    for clip, entry in zip(clips, labels):
        if entry.get("audio_id") != clip.audio_id or "phrase_classes" not in entry or "classes_present" not in entry:
            raise LabelError(f"{folder / 'labels.json'}: entry for {clip.audio_id} lacks phrase_classes/"
                             f"classes_present or is out of order (a benchmark corpus built by `wstag data build`?)")
        if not clip.phrases:
            continue
        labelled = [(q["start_index"], q["end_index"], k) for q, k in zip(entry["phrases"], entry["phrase_classes"])]
        kept.append(clip)
        classes.append([_span_class(p, labelled) for p in clip.phrases])
        present.append(frozenset(entry["classes_present"]))
    return TrainPool(kept, classes, present)


def majority_class(counter: Counter) -> Any:
    """The most common class of a text, preferring a real class to NO_CLASS."""
    real = [(v, k) for k, v in counter.items() if k is not NO_CLASS]
    return max(real, key=lambda x: (x[0], str(x[1])))[1] if real else NO_CLASS


def phrase_classes(data_dir: Path) -> dict[str, str | None]:
    """Each training phrase text's majority true class, from the corpus's ``train/labels.json``."""
    return load_train_pool(Path(data_dir)).majority_classes()
