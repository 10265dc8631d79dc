"""Read OpenClonk C4Group files (``Sound.ocg``), where openclonk-data keeps its 397 sounds.

A group is a gzip stream whose magic is ``1E 8C`` instead of ``1F 8B``. Decompressed,
it starts with a 204-byte scrambled header (swap bytes i and i+2 for i = 0, 3, ...,
201, XOR with 237), then n entries of 316 bytes, then the entries' data. Child groups
(folders) are nested groups, stored uncompressed with the same header scrambling.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Iterator

from wstag.errors import FetchError
from wstag.scapes.readers._common import CheckedBuffer, safe_member_path

C4_GZIP_MAGIC = b"\x1e\x8c"
GZIP_MAGIC = b"\x1f\x8b"
GROUP_ID = b"RedWolf Design GrpFolder"
HEADER_SIZE = 204
ENTRY_SIZE = 316
NAME_SIZE = 260
MAX_DEPTH = 32  # real groups nest 3 deep; this only stops a crafted file recursing forever


def _unscramble(header: bytes | memoryview) -> bytes:
    """Undo the header scrambling (swap i <-> i+2 every 3 bytes, then XOR 237)."""
    buf = bytearray(header)
    for i in range(0, HEADER_SIZE - 2, 3):
        buf[i], buf[i + 2] = buf[i + 2], buf[i]
    return bytes(b ^ 237 for b in buf)


def _decompress(path: Path) -> bytes:
    """The group's bytes with the gzip layer removed."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"{path}: cannot read: {exc.strerror}") from None
    if raw[:2] not in (C4_GZIP_MAGIC, GZIP_MAGIC):
        raise FetchError(f"{path}: not a C4Group (starts with {raw[:2].hex(' ')}, expected 1e 8c)")
    try:
        return gzip.decompress(GZIP_MAGIC + raw[2:])
    except (EOFError, zlib.error, OSError) as exc:
        raise FetchError(f"{path}: truncated or corrupt C4Group gzip stream: {exc}") from None


def _iter_group(
    buf: CheckedBuffer, base: int, size: int, prefix: str, depth: int
) -> Iterator[tuple[str, bytes]]:
    """Yield the files of the group stored in ``buf[base : base + size]``."""
    if depth > MAX_DEPTH:
        raise buf.fail(f"groups nested deeper than {MAX_DEPTH} at {prefix!r}")
    group = buf.slice(base, size, f"group {prefix or '/'}")
    header = _unscramble(buf.slice(base, HEADER_SIZE, f"header of group {prefix or '/'}"))
    if not header.startswith(GROUP_ID):
        raise buf.fail(f"group {prefix or '/'} has no {GROUP_ID.decode()} header")
    (count,) = CheckedBuffer(header, buf.source, buf.what).unpack("<i", 36, "entry count")
    data_start = HEADER_SIZE + ENTRY_SIZE * count
    if count < 0 or data_start > len(group):
        raise buf.fail(f"group {prefix or '/'} claims {count} entries; {len(group)} bytes hold fewer")
    table = CheckedBuffer(group, buf.source, buf.what)
    for i in range(count):
        entry = HEADER_SIZE + ENTRY_SIZE * i
        name_raw = bytes(group[entry : entry + NAME_SIZE]).split(b"\x00", 1)[0]
        _packed, is_child, length, _reserved, offset = table.unpack("<5i", entry + NAME_SIZE, "entry")
        name = name_raw.decode("utf-8", "replace")
        if "/" in name:
            raise buf.fail(f"entry name {name!r} in group {prefix or '/'} contains '/'")
        member = str(safe_member_path(prefix + name, buf.source))
        if offset < 0 or length < 0 or data_start + offset + length > len(group):
            raise buf.fail(f"entry {member!r} (offset {offset}, size {length}) is outside its group")
        start = base + data_start + offset
        if is_child:
            yield from _iter_group(buf, start, length, member + "/", depth + 1)
        else:
            yield member, bytes(buf.slice(start, length, member))


def iter_ocg(path: str | os.PathLike) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member path, bytes)`` for every file, child groups walked recursively.

    Member paths keep group names as folders, e.g. ``Animals.ocg/Chicken.ogg``.
    """
    path = Path(path)
    data = _decompress(path)
    buf = CheckedBuffer(data, path, "C4Group")
    yield from _iter_group(buf, 0, len(data), "", 0)
