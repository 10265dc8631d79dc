"""Soundscape composition: segments, levels and captions of a composed clip."""

import numpy as np
import pytest

from wstag.scapes.bank import SAMPLE_RATE, Recording
from wstag.scapes.captions import write_caption
from wstag.scapes.classtable import SoundClass, SourceSpec
from wstag.scapes.mixing import Composer, MixConfig, merge_segments, render
from wstag.text.tokenize import tokenize


def _cls(name, role, phrases):
    return SoundClass(name, "animals", role, tuple(phrases), (), (), (SourceSpec("p", "x"),), ())


def _rec(name, cls, dur, on, off, rms_db=-20.0):
    return Recording(
        id=f"{cls}/{name}", class_name=cls, group=f"g-{name}", split="train", source=f"p:{name}",
        package="p", licence="CC0", attribution="", original_sample_rate=44100, original_channels=1,
        duration=dur, active_onset=on, active_offset=off, active_rms_db=rms_db, gender=None, path=name,
    )


CLASSES = {
    "dog": _cls("dog", "event", ["a dog barks", "a dog barking", "dogs bark", "barking"]),
    "bell": _cls("bell", "event", ["a bell rings", "a bell ringing", "bells ring", "ringing and chiming"]),
    "cat": _cls("cat", "event", ["a cat meows", "a cat meowing", "cats meow", "meowing"]),
    "rain": _cls("rain", "background", ["rain falls", "rain falling", "rain", "it is raining"]),
}
RECS = [
    _rec("dog1", "dog", 1.0, 0.1, 0.6), _rec("dog2", "dog", 2.0, 0.0, 1.5),
    _rec("bell1", "bell", 3.0, 0.5, 2.5), _rec("cat1", "cat", 1.2, 0.2, 1.0),
    _rec("rain1", "rain", 4.0, 0.0, 4.0, rms_db=-25.0),
]


def _fake_audio(rec):
    # constant 0.1 amplitude over the whole recording: levels are easy to check
    return np.full(int(rec.duration * SAMPLE_RATE), 0.1, dtype=np.float32)


def test_merge_segments_hand_values():
    assert merge_segments([(3.0, 4.0), (0.0, 1.0), (1.2, 2.0)]) == [(0.0, 2.0), (3.0, 4.0)]
    assert merge_segments([(0.0, 1.0), (1.2, 2.0)], gap=0.0) == [(0.0, 1.0), (1.2, 2.0)]
    assert merge_segments([(0.0, 2.0), (0.5, 1.0)], gap=0.0) == [(0.0, 2.0)]


def test_composition_is_deterministic_and_segments_match_pieces():
    comp = Composer(CLASSES, RECS, MixConfig())
    a = comp.compose(np.random.default_rng([1, 2, 3]))
    b = comp.compose(np.random.default_rng([1, 2, 3]))
    assert [(e.sound_class.name, e.segments) for e in a] == [(e.sound_class.name, e.segments) for e in b]
    for ev in a:
        if ev.is_background:
            assert ev.segments == [(0.0, 10.0)]
            continue
        spans = merge_segments([(p.clip_onset, p.clip_onset + p.length) for p in ev.pieces], gap=0.0)
        assert ev.segments == spans
        for p in ev.pieces:  # only the active span of a recording is placed
            assert p.recording.active_onset <= p.src_start
            assert p.src_start + p.length <= p.recording.active_offset + 1e-9
            assert 0 <= p.clip_onset and p.clip_onset + p.length <= 10.0 + 1e-9


def test_event_classes_are_distinct_and_never_the_bed():
    comp = Composer(CLASSES, RECS, MixConfig(p_background=1.0))
    for seed in range(30):
        events = comp.compose(np.random.default_rng(seed))
        names = [e.sound_class.name for e in events]
        assert len(names) == len(set(names))
        assert names[0] == "rain" and all(not e.is_background for e in events[1:])


def test_a_long_recording_placed_as_a_short_event_is_cropped():
    # An 8 s active span must not become an 8 s "short" event: long phrases come only
    # from beds and deliberate long events, which keeps the loudness control low.
    recs = [_rec("bell_long", "bell", 9.0, 0.5, 8.5)]
    comp = Composer({"bell": CLASSES["bell"]}, recs, MixConfig(p_background=0.0, repetitions_weights=(1.0,)))
    for seed in range(20):
        (ev,) = comp.compose(np.random.default_rng(seed))
        (piece,) = ev.pieces
        assert 1.0 <= piece.length <= MixConfig().short_max_seconds
        assert 0.5 <= piece.src_start and piece.src_start + piece.length <= 8.5 + 1e-9


def test_render_places_audio_only_inside_segments():
    cfg = MixConfig(p_background=0.0, max_peak=10.0)
    comp = Composer(CLASSES, RECS, cfg)
    events = comp.compose(np.random.default_rng(7))
    audio = render(events, _fake_audio, cfg)
    assert audio.shape == (int(10 * SAMPLE_RATE),)
    mask = np.zeros(len(audio), bool)
    for ev in events:
        for on, off in ev.segments:
            # segments are rounded to 1 ms: allow that much at each edge
            mask[max(0, int(on * SAMPLE_RATE) - 32): int(off * SAMPLE_RATE) + 32] = True
    assert np.all(audio[~mask] == 0)
    # gain: a recording at -20 dB RMS placed at -20 +- 4 dB keeps amplitude within [0.063, 0.159]
    inside = np.abs(audio[mask])
    assert inside.max() <= 0.1 * 10 ** (4 / 20) * 4 + 1e-6


def test_render_scales_down_to_max_peak():
    cfg = MixConfig(max_peak=0.05)
    events = Composer(CLASSES, RECS, cfg).compose(np.random.default_rng(3))
    assert np.max(np.abs(render(events, _fake_audio, cfg))) == pytest.approx(0.05, rel=1e-4)


def test_caption_tokens_and_phrase_spans_agree():
    comp = Composer(CLASSES, RECS, MixConfig(p_background=1.0, p_background_captioned=1.0))
    for seed in range(40):
        rng = np.random.default_rng(seed)
        events = comp.compose(rng)
        clip = write_caption(rng, events, "x.flac", 10.0)
        assert list(clip.tokens) == tokenize(clip.caption)
        for p in clip.phrases:
            assert " ".join(clip.tokens[p.start_index: p.end_index + 1]) == p.text
        assert set(clip.extra["phrase_classes"]) == {e.sound_class.name for e in events}  # bed + every event
        assert clip.extra["background"] == "rain" and clip.extra["background_captioned"]
        clip.validate()


def test_uncaptioned_bed_is_left_out_of_the_caption():
    comp = Composer(CLASSES, RECS, MixConfig(p_background=1.0, p_background_captioned=0.0))
    rng = np.random.default_rng(0)
    events = comp.compose(rng)
    clip = write_caption(rng, events, "x.flac", 10.0)
    assert "rain" not in clip.extra["phrase_classes"]
    assert "rain" in clip.extra["classes_present"]
    assert not clip.extra["background_captioned"]


def test_a_phrase_with_two_parts_is_annotated_as_the_parser_splits_it():
    comp = Composer(CLASSES, RECS, MixConfig(p_background=0.0))
    seen = False
    for seed in range(60):
        rng = np.random.default_rng(seed)
        clip = write_caption(rng, comp.compose(rng), "x.flac", 10.0)
        texts = [p.text for p in clip.phrases]
        if "ringing" in texts:
            i, j = texts.index("ringing"), texts.index("chiming")
            assert clip.phrases[i].segments == clip.phrases[j].segments
            assert clip.extra["phrase_classes"][i] == clip.extra["phrase_classes"][j] == "bell"
            seen = True
    assert seen
