"""The world class table: it extends the base table without touching what small is built from.

Every figure so far is on `small` (corpus c4c3189763fd63c7, bank e0283b36bebece2f). The bank
is the hash of its manifest rows, which come from the base table's hash-relevant fields; the
cache reuses a bank while `table_fingerprint` (the table's repr) is unchanged. These tests pin
both without rebuilding anything: the base class list, a digest of every hash-relevant field,
and the fingerprint the existing bank was stamped with.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace

import pytest

from wstag.scapes.bank import bank_folder
from wstag.scapes.build import PRESETS, preset_table
from wstag.scapes.classtable import AudioSetLabel, load_class_table
from wstag.scapes.fetch import DEBIAN_PACKAGES, WORLD_PACKAGES, _extract_zip_audio, default_cache_dir
from wstag.scapes.ontology import ancestors, check_table, class_path, classes_under, find_node, load_ontology, path_text
from wstag.scapes.pipeline import table_fingerprint

BASE = load_class_table()
WORLD = load_class_table(name="world")

BASE_CLASSES = [
    "dog_bark", "cat_meow", "cow_moo", "horse_neigh", "sheep_bleat", "pig_oink", "duck_quack", "birdsong",
    "bird_squawk", "insect_buzz", "vehicle_engine", "traffic", "train", "aircraft", "vehicle_horn", "rain",
    "thunder", "wind", "flowing_water", "water_splash", "bubbling", "fire_crackle", "explosion", "gunshot",
    "hiss_sizzle", "glass_break", "door_close", "door_open", "typing", "appliance_motor", "metal_clang", "siren",
    "bell_ring", "hammering", "power_tool", "machinery", "speech", "laughter", "scream", "footsteps",
    "crowd_chatter", "crowd_cheering", "singing", "guitar", "wind_instrument", "drums", "cymbal",
]
#: the `table` stamp of the bank every small figure was built from (cache bank/table.json)
BASE_FINGERPRINT = "fb0a67f52bcb8ff1"
#: sha256 of the hash-relevant fields below, as of the bank e0283b36bebece2f
BASE_FIELDS_DIGEST = "a937dfa32af23b482a21268ad3e5d3b42dff356542b46d47d7cfd5aec2666f0c"
RESERVED = {
    "widelands-data", "megaglest-data", "wesnoth-1.16-data", "warzone2100-data", "freeciv-data", "hedgewars-data",
    "pingus-data", "supertux-data", "simutrans-pak64", "tuxmath-data", "stormbaancoureur-data", "7kaa-data",
    "cube2-data", "ktuberling-data", "hydrogen-drumkits", "hydrogen-drumkits-effects",
}


def _hash_fields(table) -> str:
    """Everything of the table that reaches a manifest row or a clip: classes, sources, packages."""
    classes = [
        [c.name, c.group, c.role, list(c.phrases), list(c.phrases_male), list(c.phrases_female), list(c.exclude),
         [[s.package, s.pattern, s.gender, s.span, s.group_pattern, s.max_files] for s in c.sources]]
        for c in table.classes
    ]
    packages = {n: [p.origin, p.licence, p.attribution, p.version] for n, p in table.packages.items()}
    return hashlib.sha256(json.dumps([classes, packages], sort_keys=True).encode()).hexdigest()


def test_base_table_is_pinned():
    assert [c.name for c in BASE.classes] == BASE_CLASSES
    assert table_fingerprint(BASE) == BASE_FINGERPRINT  # the existing bank is reused, never rebuilt
    assert _hash_fields(BASE) == BASE_FIELDS_DIGEST
    assert bank_folder(BASE) == "bank" and BASE.name == "base"


def test_old_presets_use_the_base_table_and_a_world_epoch_is_at_most_three_small_ones():
    assert {p: preset_table(p) for p in ("tiny", "small", "full")} == {"tiny": "base", "small": "base", "full": "base"}
    assert preset_table("world") == "world"
    assert PRESETS["world"]["train"] <= 3 * PRESETS["small"]["train"]
    assert PRESETS["small"] == {"train": 2000, "val": 200, "test": 400}


def test_audioset_label_is_outside_repr_and_equality():
    cls = BASE.classes[0]
    bare = replace(cls, audioset=None)
    assert repr(bare) == repr(cls) and bare == cls
    assert replace(cls, audioset=AudioSetLabel("/m/0jbk", "Animal")) == cls


def test_world_table_extends_the_base_unchanged():
    assert WORLD.name == "world" and bank_folder(WORLD) == "bank-world"
    assert WORLD.classes[: len(BASE.classes)] == BASE.classes
    assert [repr(c) for c in WORLD.classes[: len(BASE.classes)]] == [repr(c) for c in BASE.classes]
    assert {n: p for n, p in WORLD.packages.items() if n in BASE.packages} == BASE.packages
    assert len(WORLD.classes) >= 80
    assert len({c.name for c in WORLD.classes}) == len(WORLD.classes)


def test_world_sources_avoid_the_reserved_packages_and_are_fetchable():
    used = {s.package for c in WORLD.classes for s in c.sources}
    assert not used & RESERVED
    assert not set(WORLD_PACKAGES) & RESERVED
    debian = {n for n, p in WORLD.packages.items() if p.origin == "debian"}
    assert debian <= set(DEBIAN_PACKAGES) | set(WORLD_PACKAGES)
    assert not set(WORLD_PACKAGES) & set(DEBIAN_PACKAGES)  # the base fetch never downloads them


def test_every_class_has_a_valid_audioset_label():
    assert check_table(WORLD) == []
    assert all(c.audioset for c in BASE.classes)
    # each class's own label is one of AudioSet's 527 clip labels (checked against the PyPI file)
    assert all(load_ontology()[c.audioset.id].in_audioset_527 for c in WORLD.classes)


def test_ontology_parents_and_children():
    assert [n.name for n in ancestors("/m/05tny_")] == ["Dog", "Domestic animals, pets", "Animal"]
    assert {n.name for n in ancestors("/m/07q0h5t")} >= {"Goat", "Sheep", "Livestock, farm animals, working animals",
                                                         "Animal"}
    assert find_node("animal").id == "/m/0jbk" and find_node("/m/07yv9").name == "Vehicle"
    roots = {n.id for n in load_ontology().values() if not n.parent_ids}
    assert {find_node(r).id for r in ("Animal", "Music", "Human sounds", "Natural sounds", "Sounds of things")} <= roots
    for c in WORLD.classes:  # every path ends at a root
        assert class_path(c)[-1].id in roots, c.name
    animals = {c.name for c in classes_under(WORLD, "Animal")}
    assert {"dog_bark", "birdsong", "rooster_crow", "whale_call"} <= animals and "siren" not in animals
    assert "tire_squeal" in {c.name for c in classes_under(WORLD, "Vehicle")}
    assert {c.name for c in classes_under(WORLD, "Speech")} == {"speech", "male_speech", "female_speech"}
    by = WORLD.by_name()
    assert path_text(by["sheep_bleat"]) == "Bleat < Goat / Sheep < Livestock, farm animals, working animals < Animal"
    assert path_text(by["dog_bark"]) == "Bark < Dog < Domestic animals, pets < Animal"
    with pytest.raises(Exception, match="not an AudioSet label"):
        find_node("Unicorn")


def test_zip_audio_extraction_keeps_the_audio_folder_only(tmp_path):
    z = tmp_path / "public.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("audio/actor/cow.ogg", b"ogg")
        zf.writestr("audio/readme.txt", b"text")
        zf.writestr("art/tex.png", b"png")
        zf.writestr("other/x.ogg", b"ogg")
    out = _extract_zip_audio(z, tmp_path, "audio/")
    assert out == [tmp_path / "public.zip" / "audio" / "actor" / "cow.ogg"]
    assert out[0].read_bytes() == b"ogg" and (tmp_path / "public.zip").is_dir()


def _manifest(folder: str) -> dict | None:
    path = default_cache_dir() / folder / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def test_world_bank_keeps_the_base_rows_and_counts():
    """On a machine where both banks were built: the base bank is still the one the table stamps, the
    world bank's base rows are the base bank's (same recordings, groups and splits), and every class
    has >= 5 recordings from >= 2 groups.

    The decoded measurements (duration, active span, level) are compared only where the decoder
    agrees: one Scratch MP3 with a corrupt frame (Vocals/Oooo-badada.mp3, libmpg123 "dequantization
    failed") measures -9.37 dB today and -9.03 dB in the cached base bank, built earlier; every other
    row is identical field for field.
    """
    base, world = _manifest("bank"), _manifest("bank-world")
    if base is None or world is None:
        pytest.skip("needs `wstag data fetch` and `wstag data fetch --table world` in the cache")
    stamp = json.loads((default_cache_dir() / "bank" / "table.json").read_text())
    assert stamp["table"] == table_fingerprint(BASE)  # the cached base bank is reused as it is
    names = set(BASE_CLASSES)
    rows = [r for r in world["recordings"] if r["class_name"] in names]
    structural = ("id", "class_name", "group", "split", "source", "package", "licence", "attribution", "gender", "path")
    assert [{k: r[k] for k in structural} for r in rows] == [{k: r[k] for k in structural} for r in base["recordings"]]
    differing = [r["source"] for r, b in zip(rows, base["recordings"]) if r != b]
    assert differing in ([], ["scratch:usr/share/scratch/Media/Sounds/Vocals/Oooo-badada.mp3"])
    for c in WORLD.classes[len(BASE.classes):]:
        recs = [r for r in world["recordings"] if r["class_name"] == c.name]
        assert len(recs) >= 5 and len({r["group"] for r in recs}) >= 2, c.name


def test_cli_lists_classes_under_a_parent():
    from typer.testing import CliRunner

    from wstag.cli.data import app

    res = CliRunner().invoke(app, ["classes", "--table", "world", "--under", "Vehicle"])
    assert res.exit_code == 0, res.output
    assert "tire_squeal" in res.output and "Vehicle < Sounds of things" in res.output and "dog_bark" not in res.output
    assert "6 of " in res.output
    res = CliRunner().invoke(app, ["classes"])
    assert res.exit_code == 0 and f"{len(BASE_CLASSES)} of {len(BASE_CLASSES)} classes (base table)" in res.output


def test_a_world_bank_builds_a_corpus_with_the_new_classes(tmp_path):
    """With the world bank in the cache: a tiny-sized corpus from it holds new classes; the held-out
    wordings file keeps the base classes' (the new classes have none yet: issue 27, item 3)."""
    from wstag.scapes.bank import load_bank
    from wstag.scapes.build import build_corpus

    if _manifest("bank-world") is None:
        pytest.skip("needs `wstag data fetch --table world` in the cache")
    bank = load_bank(default_cache_dir(), WORLD)
    info = build_corpus(bank, "tiny", tmp_path / "c", seed=0, workers=1)
    classes = set()
    for split in ("train", "val", "test"):
        for clip in json.loads((tmp_path / "c" / split / "labels.json").read_text()):
            classes.update(clip["phrase_classes"])
    wordings = json.loads((tmp_path / "c" / "wordings.json").read_text())["wordings"]
    assert set(wordings) == set(BASE_CLASSES)
    assert classes - set(BASE_CLASSES)  # 88 clips of 83 uniformly drawn classes: new ones among them
    assert info.bank_hash == bank.content_hash
