"""Reading, streaming and writing audio: real files on disk, every bad input."""

from __future__ import annotations

import os
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf

from wstag.audio.io import (
    AudioInfo,
    audio_info,
    iter_audio_blocks,
    load_audio,
    validate_waveform,
    write_flac,
)
from wstag.errors import AudioError


def _sine(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[spec.argmax()])


def _raises(path, fn, *args, match: str | None = None) -> str:
    """Assert fn raises AudioError with a one-line message naming ``path``."""
    with pytest.raises(AudioError) as info:
        fn(*args)
    msg = str(info.value)
    assert str(path) in msg
    assert "\n" not in msg
    if match:
        assert match in msg, msg
    return msg


@pytest.fixture()
def stereo44(tmp_path):
    """2 s stereo at 44.1 kHz: 1 kHz on the left, silence on the right."""
    left = _sine(1000, 2.0, 44100)
    return np.stack([left, np.zeros_like(left)], axis=1)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_stereo_44k_reads_as_mono_32k(tmp_path, stereo44, fmt):
    path = tmp_path / f"tone.{fmt}"
    sf.write(path, stereo44, 44100)
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == 64000  # 2 s at 32 kHz
    assert _peak_hz(audio, 32000) == pytest.approx(1000, abs=1)
    # downmix is the mean: a 0.5-amplitude tone with a silent channel -> 0.25
    mid = audio[8000:-8000]
    assert np.abs(mid).max() == pytest.approx(0.25, abs=0.02)


def test_same_rate_is_bit_exact_float_wav(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, 32000).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, x, 32000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path), x)


def test_many_channels_and_other_rate(tmp_path):
    x = np.stack([_sine(440, 1.0, 16000)] * 3 + [np.zeros(16000, np.float32)], axis=1)
    path = tmp_path / "quad.wav"
    sf.write(path, x, 16000)
    audio = load_audio(path, sample_rate=8000)
    assert len(audio) == 8000
    assert _peak_hz(audio, 8000) == pytest.approx(440, abs=1)
    assert np.abs(audio[1000:-1000]).max() == pytest.approx(0.375, abs=0.01)


def test_audio_info(tmp_path, stereo44):
    path = tmp_path / "tone.flac"
    sf.write(path, stereo44, 44100)
    info = audio_info(path)
    assert info == AudioInfo(44100, 2, 88200, "FLAC", "PCM_16")
    assert info.duration == pytest.approx(2.0)


def test_wav_with_trailing_chunk_and_streaming_header_is_fine(tmp_path):
    x = _sine(440, 1.0, 32000)
    path = tmp_path / "a.wav"
    sf.write(path, x, 32000, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    extra = raw + b"LIST" + struct.pack("<I", 4) + b"INFO"  # metadata after the data
    extra[4:8] = struct.pack("<I", len(extra) - 8)
    (tmp_path / "list.wav").write_bytes(extra)
    assert len(load_audio(tmp_path / "list.wav")) == 32000
    i = raw.find(b"data")
    raw[i + 4 : i + 8] = struct.pack("<I", 0xFFFFFFFF)  # size unknown (streamed)
    (tmp_path / "stream.wav").write_bytes(raw)
    assert len(load_audio(tmp_path / "stream.wav")) == 32000


# ----------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    _raises(path, load_audio, path, match="not found")
    _raises(path, audio_info, path, match="not found")
    _raises(path, lambda p: list(iter_audio_blocks(p, 1.0)), path, match="not found")


def test_directory(tmp_path):
    path = tmp_path / "dir.wav"
    path.mkdir()
    _raises(path, load_audio, path, match="directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    _raises(path, load_audio, path, match="empty")


@pytest.mark.parametrize("name", ["notes.wav", "noise.flac", "x.mp3", "y.ogg"])
def test_non_audio_file(tmp_path, name):
    path = tmp_path / name
    path.write_text("this is a text file, not audio\n" * 20)
    _raises(path, load_audio, path)
    _raises(path, audio_info, path)


def test_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _sine(440, 1.0, 32000), 32000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    msg = _raises(path, load_audio, path, match="truncated")
    assert "32000" in msg  # the header's promise
    _raises(path, audio_info, path, match="truncated")
    _raises(path, lambda p: list(iter_audio_blocks(p, 0.25)), path, match="truncated")


@pytest.mark.parametrize("fmt", ["flac", "ogg"])
def test_truncated_compressed(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt}"
    sf.write(path, np.random.default_rng(1).uniform(-0.5, 0.5, 64000), 32000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raises(path, load_audio, path, match="truncated")
        _raises(path, lambda p: list(iter_audio_blocks(p, 0.5)), path, match="truncated")


def test_zero_length_audio(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, np.float32), 32000)
    assert path.stat().st_size > 0
    _raises(path, load_audio, path, match="no audio samples")
    _raises(path, lambda p: list(iter_audio_blocks(p, 1.0)), path, match="no audio samples")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    x = _sine(440, 1.0, 32000)
    x[16000] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, x, 32000, subtype="FLOAT")
    msg = _raises(path, load_audio, path, match="NaN or infinite")
    assert "0.500 s" in msg
    _raises(path, lambda p: list(iter_audio_blocks(p, 0.25)), path, match="NaN or infinite")


def test_non_finite_sample_position_when_streaming(tmp_path):
    x = np.zeros(44100 * 4, np.float32)
    x[44100 * 3] = np.nan  # past the first read chunk
    path = tmp_path / "late.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    _raises(path, lambda p: list(iter_audio_blocks(p, 1.0)), path, match="(3.000 s)")


def test_validate_waveform():
    assert validate_waveform(np.ones(3, np.float64), "x").dtype == np.float32
    with pytest.raises(AudioError, match="clip_7: expected a 1-D"):
        validate_waveform(np.ones((2, 3)), "clip_7")
    with pytest.raises(AudioError, match="clip_7: contains no audio"):
        validate_waveform(np.ones(0), "clip_7")
    with pytest.raises(AudioError, match="1 NaN or infinite samples, first at sample 2"):
        validate_waveform(np.array([0.0, 1.0, np.nan]), "clip_7")


# ----------------------------------------------------------------------------- streaming


@pytest.fixture()
def long_file(tmp_path):
    """7.3 s of stereo noise at 44.1 kHz (several read chunks)."""
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (int(7.3 * 44100), 2)).astype(np.float32)
    path = tmp_path / "long.flac"
    sf.write(path, x, 44100)
    return path


def test_blocks_concatenate_to_load_audio(long_file):
    whole = load_audio(long_file)
    blocks = list(iter_audio_blocks(long_file, block_seconds=2.0))
    assert [b.start for b in blocks] == [0, 64000, 128000, 192000]
    assert [len(b.audio) for b in blocks] == [64000, 64000, 64000, len(whole) - 192000]
    np.testing.assert_allclose(np.concatenate([b.audio for b in blocks]), whole, atol=1e-6)
    assert blocks[1].start_seconds == 2.0


def test_overlapping_blocks(long_file):
    whole = load_audio(long_file)
    blocks = list(iter_audio_blocks(long_file, block_seconds=3.0, overlap_seconds=1.0))
    # hop 2 s: starts 0, 2, 4 s; block at 4 s runs to 7 s; the 0.3 s after it is new
    assert [b.start_seconds for b in blocks] == [0.0, 2.0, 4.0, 6.0]
    for b in blocks:
        np.testing.assert_allclose(b.audio, whole[b.start : b.start + 96000], atol=1e-6)
    assert blocks[-1].start + len(blocks[-1].audio) == len(whole)


def test_no_tail_block_when_overlap_covers_the_end(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros(32000 * 5, np.float32) + 0.1, 32000)
    blocks = list(iter_audio_blocks(path, block_seconds=3.0, overlap_seconds=1.0))
    assert [(b.start, len(b.audio)) for b in blocks] == [(0, 96000), (64000, 96000)]


def test_short_file_gives_one_block(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, _sine(440, 0.5, 32000), 32000)
    blocks = list(iter_audio_blocks(path, block_seconds=10.0, overlap_seconds=2.0))
    assert len(blocks) == 1 and len(blocks[0].audio) == 16000


def test_block_arguments(long_file):
    with pytest.raises(ValueError, match="overlap_seconds"):
        next(iter_audio_blocks(long_file, 1.0, overlap_seconds=1.0))
    with pytest.raises(ValueError, match="block_seconds"):
        next(iter_audio_blocks(long_file, 0.0))


# ----------------------------------------------------------------------------- writing


def test_write_flac_round_trip(tmp_path):
    x = _sine(440, 1.0, 32000)
    path = write_flac(tmp_path / "sub" / "out.flac", x, 32000)
    info = sf.info(path)
    got = (info.format, info.subtype, info.samplerate, info.frames)
    assert got == ("FLAC", "PCM_16", 32000, 32000)
    np.testing.assert_allclose(load_audio(path), x, atol=1 / 32768)
    assert os.listdir(path.parent) == ["out.flac"]  # no temporary left behind


def test_write_flac_clips_and_validates(tmp_path):
    path = write_flac(tmp_path / "loud.flac", np.array([0.0, 1.5, -2.0, 0.5]), 16000)
    got = sf.read(path)[0]
    assert got[1] == pytest.approx(1.0, abs=1e-4) and got[2] == -1.0  # clipped, not wrapped
    with pytest.raises(AudioError, match="bad.flac"):
        write_flac(tmp_path / "bad.flac", np.array([0.0, np.nan]), 16000)
    assert not (tmp_path / "bad.flac").exists()
    assert sorted(os.listdir(tmp_path)) == ["loud.flac"]


def test_mp3_header_warnings_of_libmpg123_do_not_reach_the_terminal(tmp_path, capfd) -> None:
    """libmpg123 prints an empty ID3v2 tag's warning to fd 2 itself; the file still loads."""
    import numpy as np
    import soundfile as sf

    from wstag.audio.io import load_audio

    clean = tmp_path / "clean.mp3"
    sf.write(clean, (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 16000,
             format="MP3")
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + clean.read_bytes())  # a tag of length 0
    audio = load_audio(tagged, 16000)
    assert abs(len(audio) - 16000) < 2000 and np.isfinite(audio).all()
    captured = capfd.readouterr()
    assert "ID3" not in captured.err and "ID3" not in captured.out


def test_overlapping_stderr_silencing_restores_fd2(tmp_path):
    """Two threads silencing fd 2 at once (two MP3 requests) leave it as it was, not on /dev/null."""
    import os
    import threading

    from wstag.audio.io import _native_stderr_silenced

    before = os.fstat(2)
    inside, release = threading.Event(), threading.Event()

    def first():
        with _native_stderr_silenced():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    inside.wait(5)
    with _native_stderr_silenced():  # enters while the first is inside, leaves after it
        release.set()
        t.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
