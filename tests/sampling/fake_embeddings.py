"""A phrase embedder for tests: one axis per sound class, a small offset per wording."""

import json
from pathlib import Path

import numpy as np

WORDINGS = {
    "dog": ("a dog barks", "dogs bark"),
    "car": ("a car passes", "cars pass by"),
    "rain": ("rain falls", "heavy rain"),
    "bird": ("a bird sings", "birds chirp"),
    "bell": ("a bell rings", "bells ring"),
}
CLASS_OF = {w: c for c, ws in WORDINGS.items() for w in ws}
AXIS = {c: i for i, c in enumerate(WORDINGS)}


def fake_embed(texts):
    """Unit vectors: class axis plus a small wording offset (same class cos 0.98, other classes ~0)."""
    out = np.zeros((len(texts), len(AXIS) + 1))
    for row, t in zip(out, texts):
        row[AXIS[CLASS_OF[t]]] = 1.0
        row[-1] = 0.2 if WORDINGS[CLASS_OF[t]][0] == t else -0.2
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def write_corpus(folder: Path, clips: list[tuple[list[str], list[str]]], class_of: dict[str, str] | None = None) -> Path:
    """A benchmark-style train split: (phrases, classes_present) per clip; caption = phrases joined by 'and'.

    weak.json as ``read_weak_v2`` reads it; labels.json the same entries plus segments,
    ``phrase_classes`` and ``classes_present`` (as ``wstag data build`` writes them).
    """
    class_of = CLASS_OF if class_of is None else class_of
    weak, labels = [], []
    for i, (phrases, present) in enumerate(clips):
        tokens, spans = [], []
        for j, p in enumerate(phrases):
            if j:
                tokens.append("and")
            start = len(tokens)
            tokens += p.split()
            spans.append((start, len(tokens) - 1))
        caption = " ".join(tokens)
        entry = {"audio_id": f"train_{i:05d}.flac", "audiocap_id": str(i), "caption": caption, "tokens": caption,
                 "phrases": [{"phrase": p, "start_index": s, "end_index": e} for p, (s, e) in zip(phrases, spans)],
                 "duration": 10.0}
        weak.append(entry)
        labelled = [{**q, "segments": [[1.0, 2.0]]} for q in entry["phrases"]]
        labels.append({**entry, "phrases": labelled, "phrase_classes": [class_of[p] for p in phrases],
                       "classes_present": sorted(present)})
    (folder / "train").mkdir(parents=True, exist_ok=True)
    (folder / "train" / "weak.json").write_text(json.dumps(weak))
    (folder / "train" / "labels.json").write_text(json.dumps(labels))
    return folder
