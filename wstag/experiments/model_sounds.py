"""What a shipped model can hear: the sound classes its training captions named, where each sits
in the AudioSet ontology, and the wordings it was trained on.

A model trained on an embedded benchmark corpus learnt exactly the classes that corpus's train
captions name, in the words its annotators (or templates) used. The card keeps that list so a
user can see, before grounding a recording, which sounds the model has heard of ("an animal"
lists the classes under AudioSet's *Animal*), and which wordings it knows best; an
open-vocabulary model answers other wordings too, but it has not heard other sounds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from wstag.errors import ConfigError

#: Wordings shown per class in MODEL_CARD.md and by `wstag model sounds` (card.json keeps all).
SHOWN_WORDINGS = 5


def training_sounds(data_dir: Path, preset: str | None) -> list[dict[str, Any]]:
    """Each class the train captions of ``data_dir`` name: its AudioSet label and path, the number
    of training clips whose caption names it, and its wordings with their counts (most used first).

    Classes come from the corpus's ``phrase_classes`` (written by ``wstag data build``); the AudioSet
    labels from the class table of the corpus's preset. Sorted by clips, most named first.
    """
    from wstag.data.audiogrounding import read_v2
    from wstag.experiments.frame_diagnosis import phrases_by_class

    path = Path(data_dir) / "train" / "labels.json"
    clips = read_v2(path)
    for clip in clips:
        classes = clip.extra.get("phrase_classes")
        if classes is None or len(classes) != len(clip.phrases):
            raise ConfigError(f"{path}: clip {clip.audio_id!r} has no phrase_classes matching its phrases "
                              "(not a corpus from `wstag data build`)")
    wordings = {name: Counter(" ".join(t.lower().split()) for t in texts)
                for name, texts in phrases_by_class(clips).items()}
    named_in = Counter(c for clip in clips for c in set(clip.extra["phrase_classes"]) if c)
    labels = _audioset_labels(preset)
    out = []
    for name in sorted(named_in, key=lambda c: (-named_in[c], c)):
        audioset_id, audioset_path = labels.get(name, (None, None))
        out.append({
            "name": name,
            "audioset_id": audioset_id,
            "audioset_path": audioset_path,
            "training_clips": named_in[name],
            "wordings": [[w, n] for w, n in sorted(wordings[name].items(), key=lambda kv: (-kv[1], kv[0]))],
        })
    return out


def _audioset_labels(preset: str | None) -> dict[str, tuple[str, str]]:
    """class name -> (AudioSet id, "label < parents ..."), from the preset's class table."""
    if preset is None:
        return {}
    from wstag.scapes.build import preset_table
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.ontology import path_text

    table = load_class_table(name=preset_table(preset))
    return {c.name: (c.audioset.id, path_text(c)) for c in table.classes if c.audioset is not None}


def sounds_under(sounds: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The sounds whose AudioSet label is ``key`` (a name such as "Animal", or an id) or lies below it."""
    from wstag.scapes.ontology import find_node, is_under

    target = find_node(key).id
    return [s for s in sounds if s["audioset_id"] is not None and is_under(s["audioset_id"], target)]


def shown_wordings(sound: dict[str, Any], limit: int = SHOWN_WORDINGS) -> str:
    """'"a dog barks" (120), "dogs bark" (40), ... and 12 more': the most used wordings first."""
    words = sound["wordings"]
    text = ", ".join(f'"{w}" ({n})' for w, n in words[:limit])
    return text + (f", and {len(words) - limit} more" if len(words) > limit else "")


def render_sounds_table(sounds: list[dict[str, Any]]) -> str:
    """The markdown table of MODEL_CARD.md and the README block."""
    rows = "".join(
        f"| {s['name']} | {s['audioset_path'] or '(no AudioSet label)'} | {s['training_clips']} | "
        f"{shown_wordings(s).replace('|', '/')} |\n" for s in sounds)
    return ("| sound class | AudioSet label < its parents | training clips naming it | wordings it was trained on "
            "(clips) |\n|---|---|---|---|\n" + rows)
