"""Read Debian ``.deb`` packages with the standard library only (no dpkg needed).

A ``.deb`` is an ``ar`` archive (``!<arch>\\n`` then 60-byte member headers) holding
``debian-binary``, ``control.tar.*`` and ``data.tar.*``. We stream the tarballs
straight out of the ``ar`` member, so a 160 MB package is never held in memory, and
we extract only the files the sound bank needs (audio, transcripts, the archive
formats of ``ocg``/``rcc``/``cat``, and the licences under ``usr/share/doc``).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import posixpath
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Iterator, NamedTuple

from wstag.errors import FetchError
from wstag.files import atomic_path
from wstag.scapes.readers._common import (
    ARCHIVE_SUFFIXES,
    AUDIO_SUFFIXES,
    TEXT_SUFFIXES,
    has_suffix,
    safe_member_path,
)

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60
DEFAULT_SUFFIXES: tuple[str, ...] = AUDIO_SUFFIXES + TEXT_SUFFIXES + ARCHIVE_SUFFIXES
_CHUNK = 1 << 20
_BIG_MEMBER = 256 << 20  # members above this are streamed to disk, not read into memory
# What a damaged compressed tarball can raise while we read it.
_READ_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError, ValueError)


class DebVersion(NamedTuple):
    """Package name and version from the control file (to record what was used)."""

    package: str
    version: str


@dataclass(frozen=True)
class _ArMember:
    name: str
    offset: int
    size: int


@dataclass(frozen=True)
class _TarEntry:
    """A selected tar member: file contents, or a link to another member."""

    path: PurePosixPath
    data: bytes | None = None
    link_target: PurePosixPath | None = None
    stream: IO[bytes] | None = None  # a member too big to hold in memory (0 A.D.'s 3 GB public.zip)


class _Slice(io.RawIOBase):
    """A read-only window onto one ``ar`` member, so tarfile can stream it."""

    def __init__(self, fh: IO[bytes], offset: int, size: int) -> None:
        self._fh, self._pos, self._left = fh, offset, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        self._fh.seek(self._pos)
        data = self._fh.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        self._left -= len(data)
        return len(data)


def _ar_members(fh: IO[bytes], deb_path: Path) -> list[_ArMember]:
    """Parse the ``ar`` headers, checking each member lies inside the file."""
    file_size = os.fstat(fh.fileno()).st_size
    magic = fh.read(len(AR_MAGIC))
    if magic != AR_MAGIC:
        raise FetchError(
            f"{deb_path}: not a Debian package (starts with {magic[:8]!r}, not an ar archive)"
        )
    members, pos = [], len(AR_MAGIC)
    while pos < file_size:
        fh.seek(pos)
        header = fh.read(AR_HEADER_SIZE)
        if len(header) == 1 and header == b"\n":  # trailing pad byte
            break
        if len(header) < AR_HEADER_SIZE or header[58:60] != b"`\n":
            raise FetchError(f"{deb_path}: truncated or corrupt ar header at byte {pos}")
        name = header[:16].decode("ascii", "replace").rstrip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise FetchError(f"{deb_path}: bad size field in ar header of {name!r}") from None
        start = pos + AR_HEADER_SIZE
        if start + size > file_size:
            raise FetchError(
                f"{deb_path}: truncated: member {name!r} needs {size} bytes from byte {start}, "
                f"file has {file_size}"
            )
        members.append(_ArMember(name, start, size))
        pos = start + size + (size & 1)
    return members


def _decompressor(raw: IO[bytes], name: str, deb_path: Path) -> IO[bytes]:
    """Wrap a member stream in the decompressor its suffix names."""
    if name.endswith(".tar"):
        return raw
    if name.endswith(".xz") or name.endswith(".lzma"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if name.endswith(".bz2"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if name.endswith(".zst"):
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            raise FetchError(
                f"{deb_path}: {name} is zstd-compressed; `pip install zstandard` to read it"
            ) from None
        return zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[no-any-return]
    raise FetchError(f"{deb_path}: unknown compression of member {name!r}")


@contextlib.contextmanager
def _open_tar(deb_path: Path, prefix: str) -> Iterator[tuple[tarfile.TarFile, IO[bytes]]]:
    """Stream the ``control.tar.*`` or ``data.tar.*`` member as a TarFile."""
    deb_path = Path(deb_path)
    try:
        fh = open(deb_path, "rb")
    except OSError as exc:
        raise FetchError(f"{deb_path}: cannot open: {exc.strerror}") from None
    with fh:
        members = _ar_members(fh, deb_path)
        if not members or members[0].name != "debian-binary":
            raise FetchError(f"{deb_path}: not a Debian package (no leading debian-binary)")
        found = [m for m in members if m.name.startswith(prefix + ".tar")]
        if not found:
            raise FetchError(f"{deb_path}: no {prefix}.tar.* member")
        member = found[0]
        raw = io.BufferedReader(_Slice(fh, member.offset, member.size), _CHUNK)
        stream = _decompressor(raw, member.name, deb_path)
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")
        except _READ_ERRORS as exc:
            raise FetchError(f"{deb_path}: corrupt {member.name}: {exc}") from None
        with tar:
            yield tar, stream


def _tar_members(
    tar: tarfile.TarFile, deb_path: Path
) -> Iterator[tuple[tarfile.TarInfo, PurePosixPath]]:
    """Iterate a streamed tar with each member's checked relative path.

    Decompression errors and unsafe names become FetchError; the root entry ``./``
    is skipped.
    """
    it = iter(tar)
    while True:
        try:
            info = next(it)
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            raise FetchError(f"{deb_path}: truncated or corrupt tarball: {exc}") from None
        if info.isdir() and info.name.strip("/") in ("", "."):
            continue
        yield info, safe_member_path(info.name, deb_path)


def _corrupt_at(deb_path: Path, info: tarfile.TarInfo, exc: BaseException) -> FetchError:
    return FetchError(f"{deb_path}: truncated or corrupt tarball at {info.name!r}: {exc}")


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo, deb_path: Path) -> bytes:
    try:
        fobj = tar.extractfile(info)
        return fobj.read() if fobj is not None else b""
    except _READ_ERRORS as exc:
        raise _corrupt_at(deb_path, info, exc) from None


def _wanted(path: PurePosixPath, suffixes: tuple[str, ...], copyright: bool) -> bool:
    if has_suffix(path.name, suffixes):
        return True
    return copyright and path.name == "copyright" and path.parts[:3] == ("usr", "share", "doc")


def _iter_entries(
    deb_path: Path, suffixes: tuple[str, ...], copyright: bool
) -> Iterator[_TarEntry]:
    """Selected regular files (with data) and links (with their resolved target)."""
    with _open_tar(deb_path, "data") as (tar, _):
        for info, path in _tar_members(tar, deb_path):  # checks every member's name
            if not _wanted(path, suffixes, copyright):
                continue
            if info.isreg() and info.size > _BIG_MEMBER:
                fobj = tar.extractfile(info)
                if fobj is not None:
                    yield _TarEntry(path, stream=fobj)  # the consumer copies it before the next member
            elif info.isreg():
                yield _TarEntry(path, data=_read_member(tar, info, deb_path))
            elif info.issym() or info.islnk():
                base = "" if info.islnk() else str(path.parent)
                target = posixpath.normpath(posixpath.join(base, info.linkname))
                if not info.linkname.startswith("/") and not target.startswith(".."):
                    yield _TarEntry(path, link_target=PurePosixPath(target))


def iter_deb_members(
    deb_path: str | os.PathLike,
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES,
    *,
    copyright: bool = True,
) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Yield ``(relative path, bytes)`` of regular files in ``data.tar`` with these suffixes.

    ``copyright`` also selects ``usr/share/doc/*/copyright`` (the licences). Links are
    not yielded; ``extract_deb`` materialises them as copies.
    """
    for entry in _iter_entries(Path(deb_path), suffixes, copyright):
        if entry.stream is not None:
            yield entry.path, entry.stream.read()
        elif entry.data is not None:
            yield entry.path, entry.data


def extract_deb(
    deb_path: str | os.PathLike,
    dest_dir: str | os.PathLike,
    suffixes: tuple[str, ...] = DEFAULT_SUFFIXES,
    *,
    copyright: bool = True,
) -> list[Path]:
    """Extract the selected files under ``dest_dir`` keeping their paths; return them.

    Each file is written atomically. A link whose target is inside the package and was
    extracted too is written as a copy (the freedesktop theme links 8 sounds), so the
    output never points outside ``dest_dir``.
    """
    deb_path, dest = Path(deb_path), Path(dest_dir)
    written: dict[PurePosixPath, Path] = {}
    links: list[_TarEntry] = []
    for entry in _iter_entries(deb_path, suffixes, copyright):
        if entry.data is None and entry.stream is None:
            links.append(entry)
            continue
        out = dest.joinpath(*entry.path.parts)
        with atomic_path(out) as tmp:
            if entry.stream is not None:
                try:
                    with open(tmp, "wb") as fh:
                        shutil.copyfileobj(entry.stream, fh, _CHUNK)
                except _READ_ERRORS as exc:
                    raise FetchError(f"{deb_path}: truncated or corrupt tarball at {entry.path}: {exc}") from None
            else:
                tmp.write_bytes(entry.data)  # type: ignore[arg-type]
        written[entry.path] = out
    for link in links:
        source = written.get(link.link_target)  # type: ignore[arg-type]
        if source is None:
            continue
        out = dest.joinpath(*link.path.parts)
        with atomic_path(out) as tmp:
            shutil.copyfile(source, tmp)
        written[link.path] = out
    return list(written.values())


def verify_deb(deb_path: str | os.PathLike) -> None:
    """Read the whole data tarball (to its end) so a truncated or corrupt file fails now.

    Raises ``FetchError`` naming the file; returns None when every byte decompressed
    and every member's checksum-protected stream was intact.
    """
    deb_path = Path(deb_path)
    with _open_tar(deb_path, "data") as (tar, stream):
        for info, _ in _tar_members(tar, deb_path):
            if info.isreg():
                try:
                    fobj = tar.extractfile(info)
                    while fobj is not None and fobj.read(_CHUNK):
                        pass
                except _READ_ERRORS as exc:
                    raise _corrupt_at(deb_path, info, exc) from None
        try:  # drain the end padding so the compressed stream's end marker is checked too
            while stream.read(_CHUNK):
                pass
        except _READ_ERRORS as exc:
            raise FetchError(f"{deb_path}: truncated or corrupt data tarball: {exc}") from None


def deb_version(deb_path: str | os.PathLike) -> DebVersion:
    """``Package`` and ``Version`` from the ``control`` file of the package."""
    deb_path = Path(deb_path)
    with _open_tar(deb_path, "control") as (tar, _):
        for info, path in _tar_members(tar, deb_path):
            if info.isreg() and path == PurePosixPath("control"):
                text = _read_member(tar, info, deb_path).decode("utf-8", "replace")
                break
        else:
            raise FetchError(f"{deb_path}: control tarball has no control file")
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line[:1].isspace():
            fields[key.strip()] = value.strip()
    if "Package" not in fields or "Version" not in fields:
        raise FetchError(f"{deb_path}: control file lacks Package or Version")
    return DebVersion(fields["Package"], fields["Version"])
