"""Sound bank building blocks: active spans, duplicates, take groups, splits."""

from pathlib import Path

import numpy as np
import pytest

from wstag.scapes.bank import active_span, find_duplicates, source_group, split_groups
from wstag.scapes.classtable import ResolvedFile, SourceSpec


def test_active_span_hand_values():
    sr_frame = 320
    audio = np.zeros(100 * sr_frame, np.float32)
    audio[20 * sr_frame: 30 * sr_frame] = 1.0  # peak frames 20..29
    audio[40 * sr_frame: 41 * sr_frame] = 0.04  # -28 dB: inside the 30 dB span
    audio[60 * sr_frame: 61 * sr_frame] = 0.02  # -34 dB: outside
    assert active_span(audio) == (20 * sr_frame, 41 * sr_frame)
    assert active_span(audio, drop_db=40.0) == (20 * sr_frame, 61 * sr_frame)


def test_active_span_of_a_tiny_signal_is_everything():
    assert active_span(np.ones(100, np.float32)) == (0, 100)


def test_duplicates_found_by_content_not_by_name():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(8000).astype(np.float32)
    shifted = np.concatenate([np.zeros(500, np.float32), 0.5 * a])  # same sound, later, quieter
    other = rng.standard_normal(8000).astype(np.float32)
    assert find_duplicates([a, other, shifted]) == {2}
    assert find_duplicates([a, other]) == set()


def _file(source, pattern=None):
    pkg, rel = source.split(":", 1)
    return ResolvedFile("c", source, Path(rel), SourceSpec(pkg, rel, group_pattern=pattern))


def test_numbered_takes_form_one_group():
    g = [source_group(_file(f"openclonk-data:Sound.ocg/Lightning.ocg/Thunder{i}.ogg")) for i in range(1, 6)]
    assert len(set(g)) == 1
    assert source_group(_file("minetest-data:s/default_break_glass.1.ogg")) == source_group(
        _file("minetest-data:s/default_break_glass.3.ogg"))
    assert source_group(_file("scratch:a/Dog1.wav")) != source_group(_file("scratch:a/Cat.wav"))


def test_group_pattern_overrides_the_take_rule():
    pat = r"_desc_([a-z]+)\.ogg$"
    assert source_group(_file("tux:s/dog_desc_fr.ogg", pat)) == source_group(_file("tux:s/cat_desc_fr.ogg", pat))
    assert source_group(_file("tux:s/dog_desc_fr.ogg", pat)) != source_group(_file("tux:s/dog_desc_es.ogg", pat))


@pytest.mark.parametrize("n,expect", [(1, (1, 0, 0)), (2, (1, 0, 1)), (3, (1, 1, 1)), (10, (7, 1, 2)), (20, (14, 2, 4))])
def test_split_groups_proportions(n, expect):
    splits = split_groups({f"g{i}": 1 for i in range(n)}, salt="dog")
    counts = tuple(list(splits.values()).count(s) for s in ("train", "val", "test"))
    assert counts == expect


def test_split_groups_is_deterministic_and_the_largest_group_trains():
    sizes = {f"g{i}": 1 for i in range(10)}
    assert split_groups(sizes, salt="x") == split_groups(dict(sizes), salt="x")
    for salt in ("a", "b", "c", "d"):
        assert split_groups({"keyboard": 160, "scratch": 1}, salt=salt) == {"keyboard": "train", "scratch": "test"}
