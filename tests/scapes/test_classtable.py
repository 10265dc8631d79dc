"""The curated class table: the shipped one is valid; bad tables fail with clear errors."""

import copy

import pytest

from wstag.errors import ConfigError
from wstag.scapes.classtable import MIN_PHRASES, load_class_table, parse_class_table

GOOD = {
    "version": 1,
    "packages": {"scratch": {"origin": "debian", "licence": "CC-BY-SA-3.0", "attribution": "MIT Scratch"}},
    "classes": [{
        "name": "dog", "group": "animals", "role": "event",
        "phrases": ["a dog barks", "a dog barking", "dogs bark", "barking"],
        "sources": ["scratch:usr/share/scratch/Media/Sounds/Animal/Dog*.wav",
                    {"path": "scratch:x/Laugh-male1.wav", "gender": "male", "span": [0.0, 1.5]}],
    }],
}


def test_good_table_parses():
    table = parse_class_table(GOOD)
    dog = table.classes[0]
    assert dog.is_event and not dog.is_background
    assert dog.sources[1].gender == "male" and dog.sources[1].span == (0.0, 1.5)
    assert dog.phrases_for("male") == dog.phrases  # no gendered variants: neutral phrases


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["classes"][0].update(group="aliens"), "group must be one of"),
    (lambda d: d["classes"][0].update(role="sometimes"), "role must be one of"),
    (lambda d: d["classes"][0].update(phrases=["a dog barks"]), f"at least {MIN_PHRASES} phrases"),
    (lambda d: d["classes"][0].update(sources=[]), "non-empty 'sources'"),
    (lambda d: d["classes"][0].update(colour="red"), "unknown keys"),
    (lambda d: d["classes"][0]["sources"].append("nopackage:x.wav"), "not in 'packages'"),
    (lambda d: d["classes"][0]["sources"].append("no-colon.wav"), "package:relative/path"),
    (lambda d: d["classes"][0]["sources"].append({"path": "scratch:x", "gender": "robot"}), "gender must be"),
    (lambda d: d["classes"][0]["sources"].append({"path": "scratch:x", "span": [2, 1]}), "span must be"),
    (lambda d: d["classes"][0]["sources"].append({"path": "scratch:x", "group_pattern": "no-group"}), "capture group"),
    (lambda d: d["classes"].append(copy.deepcopy(d["classes"][0])), "duplicate class name"),
    (lambda d: d.pop("packages"), "expected a mapping"),
])
def test_bad_tables_name_the_class_and_problem(mutate, message):
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ConfigError, match=message):
        parse_class_table(data, "t.yaml")


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_class_table(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("classes: [\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_class_table(bad)


def test_shipped_table_meets_the_curation_targets():
    table = load_class_table()
    assert len(table.classes) >= 35
    assert all(len(c.phrases) >= 4 for c in table.classes)
    assert sum(c.is_background for c in table.classes) >= 6
    assert any(c.name == "speech" for c in table.classes)
    assert any(s.gender for c in table.classes for s in c.sources)
