import copy
import json

import pytest

from wstag.data.audiogrounding import convert_v1_to_v2, read_v1, read_v2, read_weak_v2, write_v2
from wstag.errors import LabelError
from wstag.records import Clip, Phrase, Segment


def _clip(**kw) -> Clip:
    tokens = ("a", "dog", "barks", "while", "a", "man", "speaks")
    base = dict(
        audio_id="a.wav",
        caption="A dog barks while a man speaks.",
        tokens=tokens,
        phrases=(
            Phrase("a dog barks", 0, 2, (Segment(0.5, 1.25), Segment(3.0, 4.0))),
            Phrase("a man speaks", 4, 6, ()),
        ),
        audiocap_id="17",
        duration=10.0,
    )
    base.update(kw)
    return Clip(**base)


STRONG = [_clip(), _clip(audio_id="b.wav", audiocap_id=None, duration=None, extra={"source": "synthetic"})]
WEAK = [c.weak() for c in STRONG]


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("clips", [STRONG, WEAK, [STRONG[0], WEAK[1]], []], ids=["strong", "weak", "mixed", "empty"])
def test_v2_round_trip(tmp_path, clips):
    path = tmp_path / "labels.json"
    write_v2(clips, path)
    back = read_v2(path)
    assert back == clips
    assert [c.extra for c in back] == [c.extra for c in clips]
    assert not list(tmp_path.glob("*.partial"))  # the atomic write left nothing behind


def test_v2_file_layout(tmp_path):
    path = tmp_path / "labels.json"
    write_v2(STRONG, path)
    entries = json.loads(path.read_text())
    assert entries[0] == {
        "audio_id": "a.wav",
        "audiocap_id": "17",
        "caption": "A dog barks while a man speaks.",
        "tokens": "a dog barks while a man speaks",
        "phrases": [
            {"phrase": "a dog barks", "start_index": 0, "end_index": 2, "segments": [[0.5, 1.25], [3.0, 4.0]]},
            {"phrase": "a man speaks", "start_index": 4, "end_index": 6, "segments": []},
        ],
        "duration": 10.0,
    }
    assert "audiocap_id" not in entries[1] and "duration" not in entries[1]
    assert entries[1]["source"] == "synthetic"


def test_require_segments_and_weak_reading(tmp_path):
    strong, weak = tmp_path / "strong.json", tmp_path / "weak.json"
    write_v2(STRONG, strong)
    write_v2(WEAK, weak)
    assert read_v2(strong, require_segments=True) == STRONG
    assert read_weak_v2(strong) == WEAK
    assert read_v2(strong, require_segments=False) == WEAK
    assert read_v2(weak) == WEAK
    with pytest.raises(LabelError, match=r"weak\.json.*'a dog barks'.*no 'segments'"):
        read_v2(weak, require_segments=True)


def test_audiocap_id_may_be_an_integer(tmp_path):
    path = tmp_path / "labels.json"
    write_v2(WEAK[:1], path)
    entries = json.loads(path.read_text())
    entries[0]["audiocap_id"] = 17
    path.write_text(json.dumps(entries))
    assert read_v2(path)[0].audiocap_id == "17"


# ----------------------------------------------------------------------------- v1 (real files)


@pytest.fixture(scope="module")
def v1_clips(audiogrounding_v1_dir):
    return {split: read_v1(audiogrounding_v1_dir / f"{split}.json") for split in ("train", "val")}


def test_v1_counts(v1_clips):
    train, val = v1_clips["train"], v1_clips["val"]
    assert (len(train), sum(len(c.phrases) for c in train)) == (4489, 12373)
    # val: 31 clips, 5 captions each, a few repeated captions by different annotators
    assert (len(val), sum(len(c.phrases) for c in val)) == (155, 451)
    assert len({c.audio_id for c in val}) == 31
    assert all(c.is_strong and c.duration is None for c in train + val)


def test_v1_hand_checked_clip(v1_clips):
    (clip,) = [c for c in v1_clips["train"] if c.audio_id == "1OIm8vLHCwo_19.000_29.000.wav"]
    assert clip.caption == "an adult female speaks and a cat meows"
    assert clip.audiocap_id == "5989"
    assert [(p.text, p.start_index, p.end_index) for p in clip.phrases] == [
        ("an adult", 0, 1), ("female speaks", 2, 3), ("a cat meows", 5, 7)]
    assert clip.phrases[0].segments == (
        Segment(0.95763, 1.99071), Segment(5.32792, 6.0534), Segment(6.8195, 7.95705))


def test_v1_possessive_span(v1_clips):
    (clip,) = [c for c in v1_clips["train"] if c.caption == "a vehicle's engine is starting"]
    assert clip.tokens == ("a", "vehicle", "'s", "engine", "is", "starting")
    assert [(p.text, p.start_index, p.end_index) for p in clip.phrases] == [
        ("a vehicle", 0, 1), ("engine is starting", 3, 5)]


def test_v1_repeated_caption_stays_two_clips(v1_clips):
    same = [c for c in v1_clips["val"] if c.audio_id == "sYj4hpDUZDQ_30.000_40.000.wav"
            and c.caption == "a dog barks and whimpers"]
    assert sorted(c.audiocap_id for c in same) == ["107644", "108471"]
    assert same[0].phrases[0].segments != same[1].phrases[0].segments


def test_convert_v1_to_v2(tmp_path, audiogrounding_v1_dir, v1_clips):
    out = tmp_path / "val_v2.json"
    clips = convert_v1_to_v2(audiogrounding_v1_dir / "val.json", out)
    assert clips == v1_clips["val"]
    assert read_v2(out, require_segments=True) == v1_clips["val"]
    first = json.loads(out.read_text())[0]
    assert first["audio_id"] == "vJ7JPEFhyLA_16.000_26.000.wav"
    assert first["tokens"] == "water flows as men speak and yell"
    assert first["phrases"][0] == {"phrase": "water flows", "start_index": 0, "end_index": 1,
                                   "segments": [[1e-05, 9.549]]}


# ----------------------------------------------------------------------------- bad v2 input


def _good_entry() -> dict:
    return {
        "audio_id": "a.wav",
        "caption": "a dog barks",
        "tokens": "a dog barks",
        "phrases": [{"phrase": "a dog barks", "start_index": 0, "end_index": 2, "segments": [[1.0, 2.0]]}],
        "duration": 10.0,
    }


def _edit(fn):
    entry = copy.deepcopy(_good_entry())
    fn(entry)
    return json.dumps([entry])


BAD_V2 = {
    "not_json": ("hello", r"not valid JSON"),
    "truncated": (json.dumps([_good_entry()])[:-20], r"ends early"),
    "truncated_in_string": (json.dumps([_good_entry()])[:40], r"ends early"),
    "empty_file": ("", r"empty"),
    "top_level_object": (json.dumps(_good_entry()), r"expected a JSON list"),
    "entry_not_object": (json.dumps(["a.wav"]), r"entry 0 must be an object"),
    "missing_tokens": (_edit(lambda e: e.pop("tokens")), r"'a\.wav'.*missing key 'tokens'"),
    "missing_phrase_index": (_edit(lambda e: e["phrases"][0].pop("end_index")), r"no 'end_index'"),
    "caption_not_string": (_edit(lambda e: e.update(caption=3)), r"'caption' must be a string"),
    "phrases_not_list": (_edit(lambda e: e.update(phrases="a dog")), r"'phrases' must be a list"),
    "index_not_int": (_edit(lambda e: e["phrases"][0].update(start_index="0")), r"'start_index' must be an integer"),
    "duration_not_number": (_edit(lambda e: e.update(duration="10")), r"'duration' must be a number"),
    "segment_shape": (_edit(lambda e: e["phrases"][0].update(segments=[[1.0]])), r"\[onset, offset\]"),
    "segment_not_number": (_edit(lambda e: e["phrases"][0].update(segments=[["1", 2]])), r"\[onset, offset\]"),
    "onset_after_offset": (_edit(lambda e: e["phrases"][0].update(segments=[[3.0, 2.0]])), r"after its offset"),
    "negative_onset": (_edit(lambda e: e["phrases"][0].update(segments=[[-1.0, 2.0]])), r"negative"),
    "past_the_clip": (_edit(lambda e: e["phrases"][0].update(segments=[[1.0, 10.5]])), r"past the clip's end"),
    "span_outside_tokens": (_edit(lambda e: e["phrases"][0].update(end_index=3)), r"outside the caption's 3 tokens"),
    "text_mismatch": (_edit(lambda e: e["phrases"][0].update(phrase="a cat meows")), r"does not match its token span"),
}


@pytest.mark.parametrize("name", list(BAD_V2))
def test_bad_v2_raises_one_line_naming_the_file(tmp_path, name):
    text, pattern = BAD_V2[name]
    path = tmp_path / "labels.json"  # a neutral name: the pattern must match the problem
    path.write_text(text)
    with pytest.raises(LabelError, match=pattern) as info:
        read_v2(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(LabelError, match=r"nowhere\.json: no such file"):
        read_v2(tmp_path / "nowhere.json")
    with pytest.raises(LabelError, match=r"nowhere\.json: no such file"):
        read_v1(tmp_path / "nowhere.json")


def test_segments_slightly_past_the_end_are_tolerated(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(_edit(lambda e: e["phrases"][0].update(segments=[[1.0, 10.02]])))
    assert read_v2(path)[0].phrases[0].segments == (Segment(1.0, 10.02),)


def test_text_mismatch_can_warn(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(BAD_V2["text_mismatch"][0])
    with pytest.warns(UserWarning, match="does not match"):
        (clip,) = read_v2(path, text_mismatch="warn")
    assert clip.phrases[0].text == "a cat meows"


def test_phrase_text_may_differ_in_spacing_and_case(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps([{
        "audio_id": "a.wav", "caption": "A man's voice", "tokens": "a man 's voice",
        "phrases": [{"phrase": "A man's voice", "start_index": 0, "end_index": 3}],
    }]))
    assert read_v2(path)[0].phrases[0].text == "A man's voice"


def test_write_refuses_invalid_clips(tmp_path):
    bad = _clip(phrases=(Phrase("a dog barks", 0, 2, (Segment(2.0, 1.0),)),))
    with pytest.raises(LabelError, match=r"out\.json.*after its offset"):
        write_v2([bad], tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


# ----------------------------------------------------------------------------- bad v1 input


def _v1_text(edit=None) -> str:
    data = {
        "audiocap_id": {"0": 1, "1": 1},
        "filename": {"0": "a.wav", "1": "a.wav"},
        "caption": {"0": "a dog barks and a man speaks", "1": "a dog barks and a man speaks"},
        "tokens": {"0": ["a", "dog", "barks", "and", "a", "man", "speaks"],
                   "1": ["a", "dog", "barks", "and", "a", "man", "speaks"]},
        "soundtag": {"0": "a dog barks", "1": "a man speaks"},
        "start_word": {"0": 0, "1": 4},
        "timestamps": {"0": [[0.0, 1.0]], "1": [[2.0, 3.0], [4.0, 5.0]]},
    }
    if edit:
        edit(data)
    return json.dumps(data)


def test_v1_small_file(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(_v1_text())
    (clip,) = read_v1(path)
    assert clip.audiocap_id == "1"
    assert [(p.text, p.start_index, p.end_index, len(p.segments)) for p in clip.phrases] == [
        ("a dog barks", 0, 2, 1), ("a man speaks", 4, 6, 2)]


BAD_V1 = {
    "list": (json.dumps([1, 2]), r"expected a pandas 'columns' JSON object"),
    "missing_column": (_v1_text(lambda d: d.pop("soundtag")), r"column 'soundtag' is missing"),
    "column_not_object": (_v1_text(lambda d: d.update(start_word=[0, 4])), r"column 'start_word' must map"),
    "missing_row": (_v1_text(lambda d: d["timestamps"].pop("1")), r"row 1.*'timestamps' has no value"),
    "start_not_int": (_v1_text(lambda d: d["start_word"].update({"1": "4"})), r"row 1.*'start_word' must be an integer"),
    "tokens_not_list": (_v1_text(lambda d: d["tokens"].update({"0": "a dog barks"})), r"'tokens' must be a list"),
    "soundtag_elsewhere": (_v1_text(lambda d: d["start_word"].update({"1": 3})), r"soundtag 'a man speaks' is not at token 3"),
    "timestamps_shape": (_v1_text(lambda d: d["timestamps"].update({"0": [1.0, 2.0]})), r"\[onset, offset\]"),
    "onset_after_offset": (_v1_text(lambda d: d["timestamps"].update({"0": [[2.0, 1.0]]})), r"after its offset"),
    "truncated": (_v1_text()[:-30], r"ends early"),
}


@pytest.mark.parametrize("name", list(BAD_V1))
def test_bad_v1_raises_one_line_naming_the_file(tmp_path, name):
    text, pattern = BAD_V1[name]
    path = tmp_path / "labels.json"
    path.write_text(text)
    with pytest.raises(LabelError, match=pattern) as info:
        read_v1(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
