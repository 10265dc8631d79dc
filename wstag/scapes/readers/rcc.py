"""Read Qt binary resource files (``*.rcc``), where gcompris-qt-data keeps its sounds.

Format (versions 1-3, big-endian): ``qres``, version, tree/data/names offsets (v3
adds a flags word). Tree nodes are 14 bytes (v1) or 22 (v2+, with a modification
time): name offset, flags (2 directory, 1 zlib, 4 zstd), then either child count and
first child index, or country/language and a data offset. Names are a uint16 length,
a uint32 hash and UTF-16BE characters; data is a uint32 size then the bytes, and zlib
data starts with the 4-byte uncompressed size.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Iterator

from wstag.errors import FetchError
from wstag.scapes.readers._common import CheckedBuffer, safe_member_path

RCC_MAGIC = b"qres"
FLAG_COMPRESSED = 0x01
FLAG_DIRECTORY = 0x02
FLAG_ZSTD = 0x04


def _zstd_decompress(data: bytes, path: Path, member: str) -> bytes:
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        raise FetchError(
            f"{path}: member {member!r} is zstd-compressed; `pip install zstandard` to read it"
        ) from None
    try:
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 30)
    except zstandard.ZstdError as exc:
        raise FetchError(f"{path}: corrupt zstd data in member {member!r}: {exc}") from None


class _Rcc:
    """One parsed resource file; methods read nodes, names and data with range checks."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.buf = CheckedBuffer(data, path, "Qt resource file")
        magic = bytes(data[:4])
        if magic != RCC_MAGIC:
            raise FetchError(f"{path}: not a Qt resource file (starts with {magic!r}, not b'qres')")
        self.version, self.tree, self.data, self.names = self.buf.unpack(">4I", 4, "header")
        if self.version not in (1, 2, 3):
            raise self.buf.fail(f"unsupported version {self.version} (expected 1-3)")
        self.node_size = 14 if self.version == 1 else 22

    def node(self, index: int) -> tuple[int, int, int, int]:
        """(name offset, flags, a, b): a, b = child count, first child index for a
        directory; country/language, data offset for a file."""
        offset = self.tree + index * self.node_size
        self.buf.slice(offset, self.node_size, f"tree node {index}")  # whole node, mtime included
        return self.buf.unpack(">IHII", offset, f"tree node {index}")

    def name(self, offset: int) -> str:
        (length,) = self.buf.unpack(">H", self.names + offset, "name length")
        raw = self.buf.slice(self.names + offset + 6, 2 * length, "name")
        return bytes(raw).decode("utf-16-be", "replace")

    def payload(self, offset: int, flags: int, member: str) -> bytes:
        (size,) = self.buf.unpack(">I", self.data + offset, f"size of {member!r}")
        raw = bytes(self.buf.slice(self.data + offset + 4, size, f"data of {member!r}"))
        if flags & FLAG_ZSTD:
            return _zstd_decompress(raw, self.path, member)
        if flags & FLAG_COMPRESSED:
            if len(raw) < 4:
                raise self.buf.fail(f"compressed member {member!r} is shorter than its size field")
            expected = int.from_bytes(raw[:4], "big")
            try:
                out = zlib.decompress(raw[4:])
            except zlib.error as exc:
                raise self.buf.fail(f"bad zlib data in member {member!r}: {exc}") from None
            if len(out) != expected:
                raise self.buf.fail(
                    f"member {member!r} inflates to {len(out)} bytes, header says {expected}"
                )
            return out
        return raw

    def walk(self) -> Iterator[tuple[str, bytes]]:
        """Depth-first over the tree from the root (node 0); a revisited node is an error."""
        seen: set[int] = {0}
        _, flags, count, first = self.node(0)
        if not flags & FLAG_DIRECTORY:
            raise self.buf.fail("root node is not a directory")
        stack: list[tuple[str, int, int]] = [("", count, first)]
        while stack:
            prefix, count, first = stack.pop()
            for index in range(first, first + count):
                if index in seen:
                    raise self.buf.fail(f"tree node {index} is reached twice (a loop)")
                seen.add(index)
                name_off, flags, a, b = self.node(index)
                member = str(safe_member_path(prefix + self.name(name_off), self.path))
                if flags & FLAG_DIRECTORY:
                    stack.append((member + "/", a, b))
                else:
                    yield member, self.payload(b, flags, member)


def iter_rcc(path: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member path, bytes)`` for every file, compressed ones inflated."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror}") from None
    yield from _Rcc(path, data).walk()
