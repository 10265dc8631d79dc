"""Pieces every archive reader needs: suffix sets, safe member paths, checked reads.

Archives come from the network, so every offset and name in them is untrusted: a
bad one must become a one-line ``FetchError`` naming the file, never an
``IndexError``/``struct.error`` traceback or a write outside the output folder.
"""

from __future__ import annotations

import struct
from pathlib import Path, PurePosixPath

from wstag.errors import FetchError

AUDIO_SUFFIXES: tuple[str, ...] = (".ogg", ".oga", ".wav", ".mp3", ".flac")
TEXT_SUFFIXES: tuple[str, ...] = (".txt",)
ARCHIVE_SUFFIXES: tuple[str, ...] = (".ocg", ".rcc", ".cat")


def has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    """Case-insensitive suffix test (some packages ship ``.WAV``)."""
    return name.lower().endswith(tuple(s.lower() for s in suffixes))


def safe_member_path(name: str, source: Path) -> PurePosixPath:
    """Return ``name`` as a relative POSIX path, refusing anything that could escape.

    Leading ``./`` is dropped (tar members of Debian packages start with it); absolute
    paths, ``..`` components, backslashes and NULs raise ``FetchError``.
    """
    if "\x00" in name or "\\" in name:
        raise FetchError(f"{source}: member name {name!r} contains a NUL or backslash")
    if name.startswith("/"):
        raise FetchError(f"{source}: member {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise FetchError(f"{source}: member {name!r} has a '..' component")
    if not parts:
        raise FetchError(f"{source}: member with an empty name {name!r}")
    return PurePosixPath(*parts)


class CheckedBuffer:
    """Bounds-checked little/big-endian reads over bytes, naming the file on failure."""

    def __init__(self, data: bytes | memoryview, source: Path, what: str) -> None:
        self.data = memoryview(data)
        self.source = source
        self.what = what

    def __len__(self) -> int:
        return len(self.data)

    def fail(self, message: str) -> FetchError:
        """Build the error for a corrupt file (callers ``raise`` it)."""
        return FetchError(f"{self.source}: corrupt {self.what}: {message}")

    def slice(self, offset: int, size: int, field: str) -> memoryview:
        """The ``size`` bytes at ``offset``; out of range is a FetchError, not a short read."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise self.fail(
                f"{field} at offset {offset} (+{size} bytes) is out of range "
                f"(only {len(self.data)} bytes)"
            )
        return self.data[offset : offset + size]

    def unpack(self, fmt: str, offset: int, field: str) -> tuple:
        """``struct.unpack_from`` with a range check first."""
        return struct.unpack(fmt, self.slice(offset, struct.calcsize(fmt), field))
