import json

import pytest

from wstag.data.audiocaps import CaptionRow, write_captions_csv
from wstag.data.audiogrounding import read_v1, read_weak_v2
from wstag.data.weak_labels import audiogrounding_audio_id, captions_to_weak_clips, write_weak_labels
from wstag.errors import LabelError

ROWS = [
    CaptionRow("5989", "1OIm8vLHCwo", 19.0, "An adult female speaks and a cat meows."),
    CaptionRow("2", "xyz", 0.0, "A dog barks loudly in the background, followed by a man's voice."),
]


def test_captions_to_weak_clips():
    clips = captions_to_weak_clips(ROWS)
    assert [c.audio_id for c in clips] == ["1OIm8vLHCwo_19.000_29.000.wav", "xyz_0.000_10.000.wav"]
    assert clips[0].caption == ROWS[0].caption and clips[0].audiocap_id == "5989"
    assert clips[0].tokens == ("an", "adult", "female", "speaks", "and", "a", "cat", "meows")
    assert [(p.text, p.start_index, p.end_index) for p in clips[0].phrases] == [
        ("an adult female speaks", 0, 3), ("a cat meows", 5, 7)]
    assert [p.text for p in clips[1].phrases] == ["a dog barks", "a man", "voice"]
    assert not any(p.has_segments for c in clips for p in c.phrases)


def test_audio_id_matches_audiogrounding_file_names(audiogrounding_v1_dir):
    clips = read_v1(audiogrounding_v1_dir / "val.json")
    clip = clips[0]
    youtube_id, start, _ = clip.audio_id.rsplit("_", 2)
    row = CaptionRow(clip.audiocap_id, youtube_id, float(start), clip.caption)
    assert audiogrounding_audio_id(row) == clip.audio_id


def test_custom_audio_id():
    clips = captions_to_weak_clips(ROWS[:1], audio_id_fn=lambda r: f"{r.audiocap_id}.flac")
    assert clips[0].audio_id == "5989.flac"


def test_caption_without_phrases_is_named():
    rows = [*ROWS, CaptionRow("77", "q", 0.0, "And then, in the background.")]
    with pytest.raises(LabelError, match=r"captions\.csv: no phrase.*'77'.*in the background"):
        captions_to_weak_clips(rows, source="captions.csv")
    skipped = []
    clips = captions_to_weak_clips(rows, skip_empty=True, skipped=skipped)
    assert len(clips) == 2 and skipped == ["And then, in the background."]


def test_write_weak_labels_round_trip(tmp_path):
    csv_path, json_path = tmp_path / "captions.csv", tmp_path / "weak.json"
    rows = [*ROWS, CaptionRow("77", "q", 0.0, "and then")]
    write_captions_csv(rows, csv_path)
    with pytest.raises(LabelError, match=r"captions\.csv.*'77'"):
        write_weak_labels(csv_path, json_path)
    assert not json_path.exists()
    summary = write_weak_labels(csv_path, json_path, skip_empty=True)
    assert (summary.captions, summary.clips, summary.phrases, summary.skipped) == (3, 2, 5, ("and then",))
    assert read_weak_v2(json_path) == captions_to_weak_clips(ROWS)
    assert all("segments" not in p for e in json.loads(json_path.read_text()) for p in e["phrases"])


def test_real_captions_all_give_phrases(audiogrounding_v1_dir):
    clips = read_v1(audiogrounding_v1_dir / "val.json")
    rows = [CaptionRow(c.audiocap_id, c.audio_id[:11], 0.0, c.caption) for c in clips]
    weak = captions_to_weak_clips(rows)
    assert len(weak) == len(clips)
    assert all(w.tokens == c.tokens for w, c in zip(weak, clips))
