"""Read OpenTTD sound sets (``opensfx.cat``): 71 labelled WAVs with their credits.

The file opens with a table of little-endian (uint32 offset, uint32 size) pairs (the
high bit of the offset is a flag and is masked off); the first offset / 8 is the
entry count. Each entry is a length-prefixed title, which carries the original
Freesound name, author and licence, then a RIFF WAV of ``size`` bytes. The title is
what makes these clips usable as labelled data and attributable, so we keep it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from wstag.errors import FetchError
from wstag.scapes.readers._common import CheckedBuffer

_OFFSET_MASK = 0x7FFFFFFF
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class CatEntry:
    """One sound: its table index, full title (credits) and RIFF WAV bytes."""

    index: int
    title: str
    wav: bytes

    @property
    def short_title(self) -> str:
        """The first quoted part of the title, e.g. ``Applause``."""
        match = _QUOTED.search(self.title)
        return match.group(1) if match else self.title.split(".")[0]

    @property
    def file_name(self) -> str:
        """``NN_<short title>.wav`` with anything but letters and digits made ``_``."""
        stem = re.sub(r"[^A-Za-z0-9]+", "_", self.short_title).strip("_")[:60] or "sound"
        return f"{self.index:02d}_{stem}.wav"


def _decode_title(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("latin-1").strip()


def _audio_bytes(wav: memoryview, buf: CheckedBuffer, index: int) -> int:
    """Size of the ``data`` chunk of a RIFF WAV (0 for the empty placeholders)."""
    wav_buf = CheckedBuffer(wav, buf.source, f"{buf.what} entry {index}")
    riff, _, wave = wav_buf.unpack("<4sI4s", 0, "RIFF header")
    if riff != b"RIFF" or wave != b"WAVE":
        raise buf.fail(f"entry {index} is not a RIFF WAV (starts with {bytes(wav[:4])!r})")
    pos = 12
    while pos + 8 <= len(wav):
        chunk, size = wav_buf.unpack("<4sI", pos, "chunk header")
        if chunk == b"data":
            return size
        pos += 8 + size + (size & 1)
    raise buf.fail(f"entry {index} has no data chunk")


def iter_cat(path: str | os.PathLike) -> Iterator[CatEntry]:
    """Yield every non-empty entry in table order (placeholders with no samples skipped)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror}") from None
    buf = CheckedBuffer(data, path, "OpenTTD sound set")
    (first,) = buf.unpack("<I", 0, "first table offset")
    first &= _OFFSET_MASK
    if first == 0 or first % 8:
        raise buf.fail(f"first offset {first} is not a positive multiple of 8 (bad table)")
    count = first // 8
    buf.slice(0, first, f"table of {count} entries")
    for index in range(count):
        offset, size = buf.unpack("<II", 8 * index, f"table entry {index}")
        offset &= _OFFSET_MASK
        if size == 0:
            continue
        (title_len,) = buf.unpack("<B", offset, f"title length of entry {index}")
        title = _decode_title(bytes(buf.slice(offset + 1, title_len, f"title of entry {index}")))
        wav = buf.slice(offset + 1 + title_len, size, f"WAV of entry {index}")
        if _audio_bytes(wav, buf, index) == 0:
            continue
        yield CatEntry(index, title, bytes(wav))
