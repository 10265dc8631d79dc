"""Read and write audio files, turning every bad input into one clear ``AudioError``.

Everything wstag hears goes through ``load_audio`` (whole clips) or ``iter_audio_blocks``
(hour-long recordings, bounded memory): both return float32 mono at the model's rate,
downmixed by the mean over channels and resampled with soxr 'HQ'. libsndfile's own
exceptions never escape; each error names the file and says what is wrong with it.

Truncated files are the subtle case. libsndfile quietly shortens a WAV whose data chunk
runs past the end of the file, so we read the RIFF header ourselves; it likewise takes
an Ogg file's length from its last complete page, so we check that the last page is
whole. FLAC and MP3 either raise while decoding or deliver fewer frames than their
header promised, and we compare the two. MP3 headers may only estimate the length, so
a small shortfall is allowed there: an MP3 that lost only its last 1 % (at least four
MPEG frames, 0.1 s at 44.1 kHz) goes unnoticed.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import soundfile as sf
import soxr

from wstag.audio.frames import SAMPLE_RATE
from wstag.errors import AudioError
from wstag.files import atomic_path

DEFAULT_SAMPLE_RATE = SAMPLE_RATE  # SPEC 1
RESAMPLE_QUALITY = "HQ"
#: Frames read from disk per call while streaming (1.5 s at 44.1 kHz).
_READ_FRAMES = 1 << 16
#: Formats whose header frame count is an estimate, with the shortfall tolerated.
_ESTIMATED_LENGTH = {"MP3"}


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, without decoding the samples."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


class AudioBlock(NamedTuple):
    """One block of a streamed file: ``audio`` starts ``start`` samples into the file."""

    start: int  # in samples at ``sample_rate``
    audio: np.ndarray  # (n,) float32
    sample_rate: int

    @property
    def start_seconds(self) -> float:
        return self.start / self.sample_rate


# ----------------------------------------------------------------------------- checks


def validate_waveform(
    audio: np.ndarray, name: str, *, sample_rate: int | None = None, offset: int = 0
) -> np.ndarray:
    """Check a waveform is 1-D, non-empty and finite; return it as float32.

    ``name`` (a file name, or a description) goes into the message, so the user knows
    which input is bad; ``sample_rate``, when given, lets it say where in seconds, and
    ``offset`` is the file position of ``audio[0]`` when checking a streamed block.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise AudioError(f"{name}: expected a 1-D (mono) waveform, got shape {audio.shape}")
    if audio.size == 0:
        raise AudioError(f"{name}: contains no audio samples (zero-length)")
    if not np.issubdtype(audio.dtype, np.number) or np.iscomplexobj(audio):
        raise AudioError(f"{name}: expected real-valued samples, got dtype {audio.dtype}")
    audio = audio.astype(np.float32, copy=False)
    finite = np.isfinite(audio)
    if not finite.all():
        first = offset + int(np.argmin(finite))
        where = f"sample {first}"
        if sample_rate:
            where += f" ({first / sample_rate:.3f} s)"
        n_bad = int(audio.size - finite.sum())
        raise AudioError(f"{name}: contains {n_bad} NaN or infinite samples, first at {where}")
    return audio


def _check_path(path: Path) -> None:
    """Fail early, with a plain message, on what libsndfile would report obscurely."""
    if not path.exists():
        raise AudioError(f"{path}: audio file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")


def _sndfile_problem(path: Path, err: Exception) -> AudioError:
    """Turn a soundfile/libsndfile exception into one line naming the file."""
    detail = getattr(err, "error_string", "") or str(err)
    detail = " ".join(detail.split()).rstrip(".")
    low = detail.lower()
    if "not recognised" in low or "unknown format" in low:
        return AudioError(f"{path}: not an audio file soundfile can read ({detail})")
    if "not a regular file" in low:  # libsndfile's words when mpg123 finds no stream
        return AudioError(f"{path}: not a readable audio file (no valid audio stream found)")
    return AudioError(f"{path}: unreadable, truncated or corrupt audio file ({detail})")


_silence_lock = threading.Lock()
_silence_state = {"depth": 0, "saved": None}


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration.

    libmpg123, inside libsndfile, prints header warnings ("ID3v2: unrealistic small tag
    lengh 0, skipping") straight to fd 2, past Python's warnings; the file still reads,
    and a real problem still raises. Where fd 2 is closed, nothing is redirected.

    The descriptor belongs to the whole process, so overlapping uses (two threads of the
    server opening MP3s) share one redirection: the first saves fd 2, the last puts it
    back. Without the count, the second would save /dev/null and restore it for good.
    """
    fd = 2  # what the C library writes to, whatever ``sys.stderr`` is
    with _silence_lock:
        if _silence_state["depth"] == 0:
            try:
                saved = os.dup(fd)
            except OSError:
                saved = None
            if saved is not None:
                sys.stderr.flush()
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), fd)
            _silence_state["saved"] = saved
        _silence_state["depth"] += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_state["depth"] -= 1
            saved = _silence_state["saved"]
            if _silence_state["depth"] == 0 and saved is not None:
                os.dup2(saved, fd)
                os.close(saved)
                _silence_state["saved"] = None


def _open(path: Path) -> sf.SoundFile:
    _check_path(path)
    quiet = _native_stderr_silenced() if path.suffix.lower() == ".mp3" else contextlib.nullcontext()
    try:
        with quiet:
            return sf.SoundFile(str(path))
    except (sf.SoundFileError, RuntimeError) as err:
        raise _sndfile_problem(path, err) from None


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF/WAVE header declares, or None where it declares none.

    libsndfile trims a too-long data chunk to the bytes present, hiding truncation;
    reading the header ourselves recovers the promised length. Streaming writers put
    0 or 0xFFFFFFFF in the size field: that means "unknown", not "truncated".
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if block_align in (None, 0) or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            if cid == b"fmt ":
                fmt = fh.read(size)
                if len(fmt) >= 14:
                    block_align = struct.unpack("<H", fmt[12:14])[0]
                if size % 2:
                    fh.seek(1, os.SEEK_CUR)
            else:
                fh.seek(size + (size % 2), os.SEEK_CUR)


def _ogg_cut_off(path: Path) -> bool:
    """True if the file's last Ogg page runs past its end (a file cut mid-page).

    libsndfile takes an Ogg file's length from its last complete page, so a cut file
    reads as a shorter (or empty) valid one. Walking the page headers costs a few
    reads per page. A cut exactly on a page boundary stays invisible.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(27)
            if head[:4] != b"OggS"[: len(head)]:
                return False  # trailing bytes that are no page: not a cut, not our concern
            if len(head) < 27:
                return True
            lacing = fh.read(head[26])
            if len(lacing) < head[26]:
                return True
            pos += 27 + head[26] + sum(lacing)
        return pos > size


def _check_container(path: Path, f: sf.SoundFile) -> int:
    """Check what the header alone can tell about truncation; return declared frames."""
    if f.format in ("WAV", "WAVEX"):
        declared = _wav_declared_frames(path)
        if declared is not None:
            _check_complete(path, f.format, declared, f.frames)  # f.frames = what is there
            return declared
    if f.format == "OGG" and _ogg_cut_off(path):
        raise AudioError(f"{path}: truncated audio file (its last Ogg page is cut off)")
    return f.frames


def _check_complete(path: Path, fmt: str, declared: int, got: int) -> None:
    """Raise if fewer frames were decoded than the header promised.

    An MP3's frame count is only an estimate: real, intact Scratch MP3s decode 10-45 %
    shorter than declared, so for MP3 a shortfall cannot tell a cut file from a good
    one and is not checked (a cut MP3 still loads, shorter).
    """
    if fmt in _ESTIMATED_LENGTH:
        return
    if got < declared:
        raise AudioError(
            f"{path}: truncated audio file (header says {declared} frames, "
            f"only {got} could be read)"
        )


# ----------------------------------------------------------------------------- reading


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Header facts (rate, channels, frames, duration) without decoding the samples.

    The frame count is the header's own (for WAV, the data chunk's declared size); a
    WAV whose header promises more than the file holds is reported as truncated here.
    """
    path = Path(path)
    with _open(path) as f:
        declared = _check_container(path, f)
        return AudioInfo(
            sample_rate=int(f.samplerate),
            channels=int(f.channels),
            frames=int(declared),
            format=f.format,
            subtype=f.subtype,
        )


def _check_rate(sample_rate: int) -> None:
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")


def load_audio(path: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read a whole file as float32 mono at ``sample_rate``: shape (n_samples,).

    Any channel count (downmixed by the mean) and any rate (soxr 'HQ'); wav, flac,
    ogg and mp3 through soundfile. Raises ``AudioError`` naming the file on anything
    unusable: missing, directory, empty, not audio, truncated, zero-length, NaN/Inf.
    """
    _check_rate(sample_rate)
    path = Path(path)
    with _open(path) as f:
        declared = _check_container(path, f)
        rate, fmt = int(f.samplerate), f.format
        parts: list[np.ndarray] = []
        while True:  # downmixed as it is read: memory is the mono signal, not frames x channels
            try:
                data = f.read(_READ_FRAMES, dtype="float32", always_2d=True)  # (n, channels)
            except (sf.SoundFileError, RuntimeError) as err:
                raise _sndfile_problem(path, err) from None
            parts.append(data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0].copy())
            if len(data) < _READ_FRAMES:
                break
    mono = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if len(mono) == 0:
        raise AudioError(f"{path}: contains no audio samples (zero-length or truncated)")
    _check_complete(path, fmt, declared, len(mono))
    mono = validate_waveform(mono, str(path), sample_rate=rate)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality=RESAMPLE_QUALITY)
    return np.ascontiguousarray(mono, dtype=np.float32)


def iter_audio_blocks(
    path: str | os.PathLike,
    block_seconds: float,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    overlap_seconds: float = 0.0,
) -> Iterator[AudioBlock]:
    """Stream a long file as float32 mono blocks at ``sample_rate``, in bounded memory.

    Block i starts at ``i * (block - overlap)`` samples and holds ``block`` samples
    (``round(seconds * sample_rate)``); the last one holds whatever is left (a file
    shorter than one block gives one short block). Non-overlapping blocks concatenate
    to exactly ``load_audio(path, sample_rate)``: the streaming resampler is the same
    filter. Every block is validated; a file found truncated at its end raises
    ``AudioError`` after the blocks before it were yielded.

    We read with ``SoundFile.read`` rather than ``SoundFile.blocks``: the latter does
    not check how many frames each read returned and would replay stale samples from
    a short read.
    """
    _check_rate(sample_rate)
    block = int(round(block_seconds * sample_rate))
    overlap = int(round(overlap_seconds * sample_rate))
    if block <= 0:
        raise ValueError(f"block_seconds must be positive, got {block_seconds!r}")
    if not 0 <= overlap < block:
        raise ValueError(
            f"overlap_seconds must be in [0, block_seconds), got {overlap_seconds!r} "
            f"with block_seconds {block_seconds!r}"
        )
    hop = block - overlap
    path = Path(path)
    name = str(path)
    with _open(path) as f:
        declared = _check_container(path, f)
        rate, fmt = int(f.samplerate), f.format
        stream = (
            soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)
            if rate != sample_rate
            else None
        )
        pending: list[np.ndarray] = []  # resampled, not yet yielded in full
        n_pending = 0
        start = 0  # output sample index of pending[0][0]
        n_read = 0
        yielded_to = 0  # output samples already delivered in some block
        finished = False
        while not finished:
            try:
                data = f.read(_READ_FRAMES, dtype="float32", always_2d=True)  # (n, ch)
            except (sf.SoundFileError, RuntimeError) as err:
                raise _sndfile_problem(path, err) from None
            finished = len(data) < _READ_FRAMES
            n_read += len(data)
            mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
            if len(mono):
                validate_waveform(mono, name, sample_rate=rate, offset=n_read - len(mono))
            if stream is not None:
                mono = stream.resample_chunk(mono, last=finished)
            if len(mono):
                pending.append(np.ascontiguousarray(mono, dtype=np.float32))
                n_pending += len(mono)
            while n_pending >= block:
                buf = np.concatenate(pending)
                yield AudioBlock(start, buf[:block].copy(), sample_rate)
                yielded_to = start + block
                start += hop
                rest = buf[hop:]
                pending, n_pending = [rest], len(rest)
        if n_read == 0:
            raise AudioError(f"{path}: contains no audio samples (zero-length or truncated)")
        _check_complete(path, fmt, declared, n_read)
        if n_pending and start + n_pending > yielded_to:  # new samples remain
            yield AudioBlock(start, np.concatenate(pending), sample_rate)


# ----------------------------------------------------------------------------- writing


def write_flac(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono audio as 16-bit FLAC, atomically: a crash never leaves half a file.

    Samples beyond [-1, 1] are clipped (never wrapped); normalise before writing if
    that matters. Returns the path written.
    """
    _check_rate(sample_rate)
    path = Path(path)
    audio = validate_waveform(audio, f"audio for {path}")
    audio = np.clip(audio, -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(tmp, audio, int(sample_rate), format="FLAC", subtype="PCM_16")
    return path
