"""Which recordings the server may touch: corpus clips, uploads and indexed files, by id.

A request names a recording by an id (``corpus:test/test_00000.flac``, ``upload:HASH``,
``index:FILE``) that is looked up in tables built from the corpus's label files, the
index's manifest and the uploads received here. No part of a request is ever joined
into a path, so ``../../etc/passwd`` is only an unknown id, and no file outside the
corpus, the index and the upload folder can be read or served.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from wstag.data.audiogrounding import read_v2
from wstag.data.corpus import CORPUS_INFO, LABELS, WEAK
from wstag.data.corpus import Corpus as CorpusFolder
from wstag.errors import ConfigError
from wstag.records import Phrase
from wstag.serve.guards import megabytes  # one wording of sizes for every refusal

SPLITS = ("test", "val", "train")  # the page lists the test split first
FORMATS = (".wav", ".flac", ".ogg", ".mp3")
#: What browsers and HTTP clients send for those formats (``application/octet-stream``:
#: a client that does not know; the extension and the decoder still decide).
CONTENT_TYPES = (
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave",
    "audio/flac", "audio/x-flac",
    "audio/ogg", "application/ogg", "audio/vorbis", "video/ogg",
    "audio/mpeg", "audio/mp3", "audio/x-mpeg",
    "application/octet-stream",
)
#: Uploads kept (the newest), by count and by their bytes on disk together: a hundred users at
#: once keep their files (benchmarks/bench_serve_load.py), and the folder stays bounded.
MAX_UPLOADS_KEPT = 256
MAX_UPLOADS_BYTES = 1_000_000_000




class Refused(Exception):
    """A request the server will not carry out: an HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Entry:
    """A recording the server may serve, and what it knows about it."""

    id: str
    kind: str  # corpus | upload | index
    name: str  # what the page shows
    path: Path
    duration: float | None = None
    caption: str = ""
    phrases: tuple[Phrase, ...] = ()  # the corpus label's phrases (with segments in labels.json)


def within(folder: Path, path: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` by its name (no ``..`` out, not absolute elsewhere).

    Judged on the names, not on resolved links: an imported corpus links to the user's own
    audio files, which it may serve; a label or manifest naming ``../../etc/passwd`` may not.
    """
    base = os.path.normpath(os.path.abspath(folder))
    target = os.path.normpath(os.path.abspath(path))
    return os.path.commonpath([base, target]) == base and target != base


class Corpus:
    """A corpus folder (``corpus.json`` beside split folders): its clips, read per split when first asked."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not CorpusFolder(self.folder).is_complete:
            raise ConfigError(f"{self.folder}: not a corpus folder (no {CORPUS_INFO}; build one with "
                              f"`wstag data build`)")
        self.splits = [s for s in SPLITS if (self.folder / s / "audio").is_dir()]
        if not self.splits:
            raise ConfigError(f"{self.folder}: the corpus has no split with an audio folder")
        self._clips: dict[str, OrderedDict[str, Entry]] = {}
        self._lock = threading.Lock()

    def clips(self, split: str) -> list[Entry]:
        if split not in self.splits:
            raise Refused(404, f"unknown split {split!r}; this corpus has {', '.join(self.splits)}")
        return list(self._split(split).values())

    def get(self, name: str) -> Entry | None:
        """``SPLIT/FILE`` -> its entry, or None for anything the corpus does not list."""
        split, _, file = name.partition("/")
        if split not in self.splits:
            return None
        return self._split(split).get(file)

    def _split(self, split: str) -> OrderedDict[str, Entry]:
        with self._lock:
            if split not in self._clips:
                self._clips[split] = self._read(split)
            return self._clips[split]

    def _read(self, split: str) -> OrderedDict[str, Entry]:
        """Clips from labels.json (with segments) or weak.json; else every audio file of the split."""
        folder = self.folder / split
        audio = folder / "audio"
        entries: OrderedDict[str, Entry] = OrderedDict()
        labels = next((folder / n for n in (LABELS, WEAK) if (folder / n).is_file()), None)
        if labels is not None:
            for clip in read_v2(labels, require_segments=None, text_mismatch="warn"):
                path = audio / clip.audio_id
                if within(audio, path) and path.is_file():
                    entries[clip.audio_id] = Entry(f"corpus:{split}/{clip.audio_id}", "corpus", clip.audio_id, path,
                                                   clip.duration, clip.caption, clip.phrases)
        else:
            for path in sorted(audio.iterdir()):
                if path.suffix.lower() in FORMATS and path.is_file():
                    entries[path.name] = Entry(f"corpus:{split}/{path.name}", "corpus", path.name, path)
        return entries


class Uploads:
    """Uploaded files, kept in one folder under the hash of their bytes (the newest, ``MAX_UPLOADS_KEPT``
    and ``MAX_UPLOADS_BYTES`` at most)."""

    def __init__(self, folder: str | Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0  # on disk, of the entries kept
        self._lock = threading.Lock()

    def check(self, filename: str, content_type: str | None, size: int) -> str:
        """Refuse a file by its name, type or size before it is decoded; return its extension."""
        suffix = Path(filename or "").suffix.lower()
        accepted = ", ".join(f.lstrip(".") for f in FORMATS)
        if suffix not in FORMATS:
            raise Refused(415, f"{filename or 'the upload'}: not a {accepted} file (by its name); "
                               f"those are the formats accepted")
        kind = (content_type or "").split(";")[0].strip().lower()
        if kind not in CONTENT_TYPES:
            raise Refused(415, f"{filename}: content type {content_type or 'none'!r} is not audio; send a "
                               f"{accepted} file as audio/* (or application/octet-stream)")
        if size == 0:
            raise Refused(400, f"{filename}: the file is empty (0 bytes)")
        if size > self.max_bytes:
            raise Refused(413, f"{filename}: {megabytes(size)} is over the upload limit of {megabytes(self.max_bytes)}")
        return suffix

    def add(self, data: bytes, filename: str, content_type: str | None) -> tuple[Entry, bool]:
        """Store the bytes (checked as ``check``); (entry, True when new, False when already uploaded)."""
        suffix = self.check(filename, content_type, len(data))
        digest = hashlib.sha256(data).hexdigest()[:20]
        rid = f"upload:{digest}"
        with self._lock:
            if rid in self._entries:
                self._entries.move_to_end(rid)
                return self._entries[rid], False
            path = self.folder / f"{digest}{suffix}"
            path.write_bytes(data)
            entry = Entry(rid, "upload", Path(filename).name, path)
            self._entries[rid] = entry
            self._bytes += len(data)
            while len(self._entries) > 1 and (len(self._entries) > MAX_UPLOADS_KEPT
                                              or self._bytes > MAX_UPLOADS_BYTES):
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.path.stat().st_size if old.path.is_file() else 0
                old.path.unlink(missing_ok=True)
            return entry, True

    def set_duration(self, entry: Entry, duration: float) -> Entry:
        with self._lock:
            entry = Entry(entry.id, entry.kind, entry.name, entry.path, duration)
            if entry.id in self._entries:
                self._entries[entry.id] = entry
            return entry

    def discard(self, entry: Entry) -> None:
        """Forget an upload that turned out unusable, and delete its file."""
        with self._lock:
            if self._entries.pop(entry.id, None) is not None and entry.path.is_file():
                self._bytes -= entry.path.stat().st_size
        entry.path.unlink(missing_ok=True)

    def get(self, digest: str) -> Entry | None:
        with self._lock:
            return self._entries.get(f"upload:{digest}")


class Recordings:
    """Every recording the server may touch, looked up by id (never by a path from the request)."""

    def __init__(self, uploads: Uploads, corpus: Corpus | None = None, index=None) -> None:
        self.uploads = uploads
        self.corpus = corpus
        self.index = index  # a wstag.index.Index, or None

    def get(self, rid: str) -> Entry:
        kind, _, name = str(rid).partition(":")
        entry = None
        if kind == "corpus" and self.corpus is not None:
            entry = self.corpus.get(name)
        elif kind == "upload":
            entry = self.uploads.get(name)
        elif kind == "index" and self.index is not None:
            entry = self._indexed(name)
        if entry is None:
            raise Refused(404, f"unknown recording {rid!r}: choose a corpus clip, upload a file, or pick a "
                               f"search result")
        return entry

    def indexed(self, file: str) -> Entry:
        return self.get(f"index:{file}")

    def _indexed(self, file: str) -> Entry | None:
        e = self.index.manifest.files.get(file)
        if e is None or not within(self.index.audio_dir, self.index.audio_dir / e.file):
            return None  # a foreign manifest naming a file outside its folder is not served
        return Entry(f"index:{file}", "index", file, self.index.audio_dir / e.file, e.duration)
