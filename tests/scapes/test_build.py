"""The tiny corpus built from the real sound bank: formats, statistics, determinism."""

import csv
import json

import pytest
import soundfile as sf

from wstag.data.audiogrounding import read_v2
from wstag.errors import ConfigError
from wstag.scapes.build import COMPLETE_MARKER, build_corpus, preset_sizes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(sound_bank, tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    return build_corpus(sound_bank, "tiny", out, seed=3)


def test_tiny_corpus_layout_and_labels(tiny):
    sizes = preset_sizes("tiny")
    for split, n in sizes.items():
        folder = tiny.path / split
        clips = read_v2(folder / "labels.json", require_segments=True)
        assert len(clips) == n
        with open(folder / "captions.csv") as fh:
            rows = list(csv.DictReader(fh))
        assert [r["caption"] for r in rows] == [c.caption for c in clips]
        assert set(rows[0]) == {"audiocap_id", "youtube_id", "start_time", "caption"}
        weak = read_v2(folder / "weak.json")
        assert all(p.segments is None for c in weak for p in c.phrases)
        for c in clips[:5]:
            info = sf.info(folder / "audio" / c.audio_id)
            assert (info.samplerate, info.channels, info.frames) == (32000, 1, 320000)
            assert info.format == "FLAC"
            assert all(0 <= s.onset < s.offset <= 10.0 for p in c.phrases for s in p.segments)
    assert (tiny.path / COMPLETE_MARKER).is_file()


def test_tiny_corpus_statistics_are_sane(tiny):
    test = tiny.stats["test"]
    assert test["clips"] == preset_sizes("tiny")["test"]
    assert test["phrases"] >= test["clips"]
    assert 0.2 <= test["short_share"] <= 0.85
    assert test["clips_with_2plus_events"] >= 0.5


def test_same_seed_same_hash_and_bytes(sound_bank, tiny, tmp_path):
    again = build_corpus(sound_bank, "tiny", tmp_path / "again", seed=3)
    assert again.content_hash == tiny.content_hash
    assert (again.path / "test" / "labels.json").read_bytes() == (tiny.path / "test" / "labels.json").read_bytes()
    name = "test_00000.flac"
    assert (again.path / "test" / "audio" / name).read_bytes() == (tiny.path / "test" / "audio" / name).read_bytes()


def test_other_seed_other_hash(sound_bank, tiny, tmp_path):
    assert build_corpus(sound_bank, "tiny", tmp_path / "s4", seed=4).content_hash != tiny.content_hash


def test_existing_corpus_is_reused_or_refused(sound_bank, tiny):
    assert build_corpus(sound_bank, "tiny", tiny.path, seed=3).reused
    with pytest.raises(ConfigError, match="different corpus"):
        build_corpus(sound_bank, "tiny", tiny.path, seed=5)


def test_unknown_preset_is_a_clear_error(sound_bank, tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        build_corpus(sound_bank, "huge", tmp_path / "x")


def test_force_never_deletes_a_folder_that_is_not_a_corpus(sound_bank, tmp_path):
    music = tmp_path / "Music"
    music.mkdir()
    (music / "song.flac").write_bytes(b"precious")
    with pytest.raises(ConfigError, match="only a corpus it wrote, even with --force"):
        build_corpus(sound_bank, "tiny", music, seed=3, force=True)
    assert (music / "song.flac").read_bytes() == b"precious"


def test_a_diagnostic_corpus_mixes_every_split_from_the_training_recordings(sound_bank, tiny, tmp_path, monkeypatch):
    """--recordings-from train: the same training clips (same draws), but val and test are new scenes
    of the training recordings; recorded in corpus.json, and a corpus of the other kind is not reused."""
    import wstag.scapes.build as build

    asked = []
    real = build.split_recordings
    monkeypatch.setattr(build, "split_recordings", lambda bank, split: asked.append(split) or real(bank, split))
    seen = build_corpus(sound_bank, "tiny", tmp_path / "seen", seed=3, recordings_from="train")
    assert asked == ["train", "train", "train"]
    assert seen.recordings_from == "train" and seen.content_hash != tiny.content_hash
    assert json.loads((seen.path / COMPLETE_MARKER).read_text())["recordings_from"] == "train"
    assert (seen.path / "train" / "labels.json").read_bytes() == (tiny.path / "train" / "labels.json").read_bytes()
    assert (seen.path / "test" / "labels.json").read_bytes() != (tiny.path / "test" / "labels.json").read_bytes()
    assert build_corpus(sound_bank, "tiny", seen.path, seed=3, recordings_from="train").reused
    with pytest.raises(ConfigError, match="different corpus .*recordings from train"):
        build_corpus(sound_bank, "tiny", seen.path, seed=3)
    with pytest.raises(ConfigError, match="different corpus"):
        build_corpus(sound_bank, "tiny", tiny.path, seed=3, recordings_from="train")
    with pytest.raises(ConfigError, match="recordings_from must be one of train, val, test, not 'all'"):
        build_corpus(sound_bank, "tiny", tmp_path / "x", seed=3, recordings_from="all")


def test_event_takes_change_only_the_training_audio(sound_bank, tiny, tmp_path):
    """--event-takes: the same scenes and captions; the training audio differs, val and test are
    byte-identical to the corpus without takes; recorded in corpus.json and checked on reuse."""
    from wstag.scapes.takes import TakeConfig

    taken = build_corpus(sound_bank, "tiny", tmp_path / "takes", seed=3, event_takes=TakeConfig())
    assert taken.content_hash != tiny.content_hash
    assert json.loads((taken.path / COMPLETE_MARKER).read_text())["event_takes"]["semitones"] == 2.0
    for split in ("train", "val", "test"):
        assert (taken.path / split / "labels.json").read_bytes() == (tiny.path / split / "labels.json").read_bytes()
        same = [(taken.path / split / "audio" / f.name).read_bytes() == f.read_bytes()
                for f in sorted((tiny.path / split / "audio").iterdir())]
        assert all(same) if split != "train" else not any(same), split
    assert build_corpus(sound_bank, "tiny", taken.path, seed=3, event_takes=TakeConfig()).reused
    with pytest.raises(ConfigError, match="different corpus .*training events as takes"):
        build_corpus(sound_bank, "tiny", taken.path, seed=3)


def test_train_groups_mix_the_training_clips_from_fewer_sources_only(sound_bank, tiny, tmp_path, monkeypatch):
    """--train-groups 1: each class's training clips come from its largest source group; val and test
    are byte-identical to the corpus without it; recorded in corpus.json and checked on reuse."""
    import wstag.scapes.build as build

    kept = []
    real = build.limit_groups
    monkeypatch.setattr(build, "limit_groups", lambda recs, n: kept.extend(real(recs, n)) or real(recs, n))
    fewer = build_corpus(sound_bank, "tiny", tmp_path / "fewer", seed=3, train_groups=1)
    groups = {}
    for rec in kept:
        groups.setdefault(rec.class_name, set()).add(rec.group)
    assert kept and all(len(g) == 1 for g in groups.values())
    assert set(groups) == {r.class_name for r in sound_bank.in_split("train")}  # no class lost
    assert json.loads((fewer.path / COMPLETE_MARKER).read_text())["train_groups"] == 1
    for split in ("val", "test"):
        assert (fewer.path / split / "labels.json").read_bytes() == (tiny.path / split / "labels.json").read_bytes()
        assert all((fewer.path / split / "audio" / f.name).read_bytes() == f.read_bytes()
                   for f in (tiny.path / split / "audio").iterdir())
    assert build_corpus(sound_bank, "tiny", fewer.path, seed=3, train_groups=1).reused
    with pytest.raises(ConfigError, match="different corpus .*1 training source groups per class"):
        build_corpus(sound_bank, "tiny", fewer.path, seed=3)
    with pytest.raises(ConfigError, match="train_groups must be at least 1, not 0"):
        build_corpus(sound_bank, "tiny", tmp_path / "x", seed=3, train_groups=0)
