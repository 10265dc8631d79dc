"""Where each sound class sits in the AudioSet ontology: its label, the label's parents, and back.

Every class of the shipped tables names its nearest AudioSet label (``audioset:`` in
classes.yaml / classes_world.yaml: display name and /m/ id). The labels' parents up to the
ontology's roots come from ``audioset_ontology.json``, a hand-written subset of AudioSet's
ontology.json (its ``source`` field says what was checked against what). So a user can ask
for a parent ("Animal", "Vehicle") and get the classes under it, and labels carry over to
AudioSet-based tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from wstag.errors import ConfigError
from wstag.scapes.classtable import ClassTable, SoundClass

ONTOLOGY_FILE = "audioset_ontology.json"


@dataclass(frozen=True)
class OntologyNode:
    id: str
    name: str
    parent_ids: tuple[str, ...]
    child_ids: tuple[str, ...]
    in_audioset_527: bool  # one of the 527 labels AudioSet clips are labelled with


@lru_cache(maxsize=1)
def load_ontology() -> dict[str, OntologyNode]:
    """id -> node, from the shipped subset (children given; parents derived)."""
    data = json.loads(resources.files("wstag.scapes").joinpath(ONTOLOGY_FILE).read_text(encoding="utf-8"))
    raw = {n["id"]: n for n in data["nodes"]}
    parents: dict[str, list[str]] = {i: [] for i in raw}
    for node in raw.values():
        for child in node["child_ids"]:
            if child not in raw:
                raise ConfigError(f"{ONTOLOGY_FILE}: {node['id']} names child {child}, which is not in the file")
            parents[child].append(node["id"])
    return {i: OntologyNode(i, n["name"], tuple(parents[i]), tuple(n["child_ids"]), bool(n["in_audioset_527"]))
            for i, n in raw.items()}


def find_node(key: str) -> OntologyNode:
    """A node by id (``/m/0jbk``) or display name (``Animal``, case-insensitive)."""
    onto = load_ontology()
    if key in onto:
        return onto[key]
    hits = [n for n in onto.values() if n.name.lower() == key.strip().lower()]
    if not hits:
        raise ConfigError(f"{key!r} is not an AudioSet label of the shipped ontology subset")
    return hits[0]


def ancestors(label_id: str) -> list[OntologyNode]:
    """The label's parents, grandparents ... up to the roots (nearest first, each once)."""
    onto = load_ontology()
    if label_id not in onto:
        raise ConfigError(f"{label_id} is not in {ONTOLOGY_FILE}")
    out: list[OntologyNode] = []
    frontier = list(onto[label_id].parent_ids)
    seen: set[str] = set()
    while frontier:
        nxt: list[str] = []
        for pid in frontier:
            if pid in seen:
                continue
            seen.add(pid)
            out.append(onto[pid])
            nxt.extend(onto[pid].parent_ids)
        frontier = nxt
    return out


def class_path(cls: SoundClass) -> list[OntologyNode]:
    """The class's own label followed by its ancestors; empty when the class has no label."""
    if cls.audioset is None:
        return []
    return [load_ontology()[cls.audioset.id], *ancestors(cls.audioset.id)]


def path_text(cls: SoundClass) -> str:
    """"Bleat < Goat / Sheep < Livestock, ... < Animal": the label, then each level of parents."""
    if cls.audioset is None:
        return "(no AudioSet label)"
    onto = load_ontology()
    levels, level, seen = [[cls.audioset.id]], list(onto[cls.audioset.id].parent_ids), {cls.audioset.id}
    while level:
        level = [i for i in dict.fromkeys(level) if i not in seen]
        if not level:
            break
        seen.update(level)
        levels.append(level)
        level = [p for i in level for p in onto[i].parent_ids]
    return " < ".join(" / ".join(onto[i].name for i in lv) for lv in levels)


def is_under(label_id: str, target_id: str) -> bool:
    """Whether the label ``label_id`` is ``target_id`` or lies below it."""
    return label_id == target_id or any(n.id == target_id for n in ancestors(label_id))


def classes_under(table: ClassTable, key: str) -> list[SoundClass]:
    """The table's classes whose label is ``key`` (id or name) or lies below it: "Animal", "Vehicle"."""
    target = find_node(key).id
    return [c for c in table.classes if c.audioset is not None and is_under(c.audioset.id, target)]


def check_table(table: ClassTable) -> list[str]:
    """Problems with a table's labels: missing labels, unknown ids, names that differ from the ontology."""
    onto = load_ontology()
    problems = []
    for c in table.classes:
        if c.audioset is None:
            problems.append(f"{c.name}: no audioset label")
        elif c.audioset.id not in onto:
            problems.append(f"{c.name}: {c.audioset.id} is not in {ONTOLOGY_FILE}")
        elif onto[c.audioset.id].name != c.audioset.name:
            problems.append(f"{c.name}: {c.audioset.id} is {onto[c.audioset.id].name!r}, not {c.audioset.name!r}")
    return problems
