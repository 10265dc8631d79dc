"""AudioGrounding label files (v1 and v2) <-> :class:`~wstag.records.Clip` records.

v2 (training and evaluation labels, SPEC 4) is a JSON list, one entry per audio-caption
pair::

    {"audio_id": "x.wav", "audiocap_id": "1" (optional), "caption": "...",
     "tokens": "space separated tokens", "duration": 10.0 (optional),
     "phrases": [{"phrase": "...", "start_index": 0, "end_index": 2,
                  "segments": [[onset, offset], ...] (strong labels only)}]}

v1 (the real human annotations in ``shared/data/audiogrounding-v1``) is a pandas
"columns" JSON with one row per phrase; :func:`read_v1` groups the rows into clips.

Every problem with a file raises :class:`~wstag.errors.LabelError` with one line naming
the file, the entry and what is wrong. A phrase whose text does not match its token
span is an error by default (the span is what the evaluation scores, the text is what
the model reads: if they disagree the label is ambiguous); pass
``text_mismatch="warn"`` to read such files anyway.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Literal

from wstag.errors import LabelError
from wstag.files import atomic_open
from wstag.records import Clip, Phrase, Segment
from wstag.text.tokenize import tokenize

V1_COLUMNS = ("audiocap_id", "filename", "caption", "tokens", "soundtag", "start_word", "timestamps")
_V2_KEYS = ("audio_id", "audiocap_id", "caption", "tokens", "phrases", "duration")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file, turning every failure into a one-line LabelError."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read the file ({exc})") from None
    if not text.strip():
        raise LabelError(f"{path}: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # A truncated file fails at its very end, or inside a string that never closes.
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = "; the file ends early (truncated?)" if ends_early else ""
        raise LabelError(
            f"{path}: not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}){hint}"
        ) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _segments(value: Any, where: str) -> tuple[Segment, ...]:
    if not isinstance(value, list):
        raise LabelError(f"{where}: segments must be a list of [onset, offset], got {_type_name(value)}")
    out = []
    for seg in value:
        if not (isinstance(seg, (list, tuple)) and len(seg) == 2 and all(map(_is_number, seg))):
            raise LabelError(f"{where}: a segment must be [onset, offset] in seconds, got {seg!r}")
        if not all(math.isfinite(x) for x in seg):
            raise LabelError(f"{where}: segment {list(seg)} is not finite")
        out.append(Segment(float(seg[0]), float(seg[1])))
    return tuple(out)


def _check_text(clip: Clip, source: str, mode: str) -> None:
    for p in clip.phrases:
        span = clip.tokens[p.start_index : p.end_index + 1]
        if tokenize(p.text) != tokenize(" ".join(span)):
            msg = (
                f"{source}: clip {clip.audio_id!r}, phrase {p.text!r} does not match its token "
                f"span [{p.start_index}, {p.end_index}] = {' '.join(span)!r}"
            )
            if mode == "error":
                raise LabelError(msg)
            warnings.warn(msg, stacklevel=3)


def _phrase_from_v2(entry: Any, where: str, require_segments: bool | None) -> Phrase:
    if not isinstance(entry, dict):
        raise LabelError(f"{where}: a phrase must be an object, got {_type_name(entry)}")
    for key in ("phrase", "start_index", "end_index"):
        if key not in entry:
            raise LabelError(f"{where}: a phrase has no {key!r}")
    text = entry["phrase"]
    if not isinstance(text, str):
        raise LabelError(f"{where}: 'phrase' must be a string, got {_type_name(text)}")
    pwhere = f"{where}, phrase {text!r}"
    for key in ("start_index", "end_index"):
        if not isinstance(entry[key], int) or isinstance(entry[key], bool):
            raise LabelError(f"{pwhere}: {key!r} must be an integer, got {entry[key]!r}")
    segments = None
    if "segments" in entry and entry["segments"] is not None:
        segments = _segments(entry["segments"], pwhere)
    elif require_segments:
        raise LabelError(f"{pwhere}: no 'segments' (evaluation labels need onsets and offsets)")
    return Phrase(text, entry["start_index"], entry["end_index"], segments)


def clip_from_v2(entry: Any, source: str, index: int = 0, *, require_segments: bool | None = None,
                 text_mismatch: Literal["error", "warn"] = "error") -> Clip:
    """One v2 entry -> a validated Clip (unknown keys are kept in ``Clip.extra``)."""
    if not isinstance(entry, dict):
        raise LabelError(f"{source}: entry {index} must be an object, got {_type_name(entry)}")
    where = f"{source}: entry {index} (audio_id {entry.get('audio_id')!r})"
    for key in ("audio_id", "caption", "tokens", "phrases"):
        if key not in entry:
            raise LabelError(f"{where}: missing key {key!r}")
    for key in ("audio_id", "caption"):
        if not isinstance(entry[key], str):
            raise LabelError(f"{where}: {key!r} must be a string, got {_type_name(entry[key])}")
    tokens = entry["tokens"]
    if isinstance(tokens, str):
        tokens = tokens.split()
    elif not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
        raise LabelError(f"{where}: 'tokens' must be a space-separated string, got {_type_name(tokens)}")
    if not isinstance(entry["phrases"], list):
        raise LabelError(f"{where}: 'phrases' must be a list, got {_type_name(entry['phrases'])}")
    audiocap_id = entry.get("audiocap_id")
    if isinstance(audiocap_id, bool) or not isinstance(audiocap_id, (str, int, type(None))):
        raise LabelError(f"{where}: 'audiocap_id' must be a string or integer, got {audiocap_id!r}")
    duration = entry.get("duration")
    if duration is not None and not _is_number(duration):
        raise LabelError(f"{where}: 'duration' must be a number of seconds, got {duration!r}")
    phrases = tuple(_phrase_from_v2(p, where, require_segments) for p in entry["phrases"])
    clip = Clip(
        audio_id=entry["audio_id"],
        caption=entry["caption"],
        tokens=tuple(tokens),
        phrases=phrases,
        audiocap_id=None if audiocap_id is None else str(audiocap_id),
        duration=None if duration is None else float(duration),
        extra={k: v for k, v in entry.items() if k not in _V2_KEYS},
    )
    clip.validate(source)
    _check_text(clip, source, text_mismatch)
    return clip


def read_v2(path: str | os.PathLike, *, require_segments: bool | None = None,
            text_mismatch: Literal["error", "warn"] = "error") -> list[Clip]:
    """Read AudioGrounding v2 labels.

    ``require_segments``: True -> every phrase must have segments (evaluation labels);
    None -> phrases may or may not have them (kept as stored); False -> segments are
    checked, then stripped (what weak training may see, as :func:`read_weak_v2`).
    """
    data = load_json(path)
    if not isinstance(data, list):
        raise LabelError(f"{path}: expected a JSON list of clips, got a {_type_name(data)}")
    clips = [
        clip_from_v2(e, str(path), i, require_segments=require_segments, text_mismatch=text_mismatch)
        for i, e in enumerate(data)
    ]
    return [c.weak() for c in clips] if require_segments is False else clips


def read_weak_v2(path: str | os.PathLike) -> list[Clip]:
    """Read v2 labels for weak training: any segments in the file are removed."""
    return read_v2(path, require_segments=False)


def clip_to_v2(clip: Clip) -> dict[str, Any]:
    """A Clip as a v2 entry (optional fields only when set; ``extra`` written back)."""
    entry: dict[str, Any] = {"audio_id": clip.audio_id}
    if clip.audiocap_id is not None:
        entry["audiocap_id"] = clip.audiocap_id
    entry["caption"] = clip.caption
    entry["tokens"] = " ".join(clip.tokens)
    phrases = []
    for p in clip.phrases:
        ph: dict[str, Any] = {"phrase": p.text, "start_index": p.start_index, "end_index": p.end_index}
        if p.segments is not None:
            ph["segments"] = [s.to_list() for s in p.segments]
        phrases.append(ph)
    entry["phrases"] = phrases
    if clip.duration is not None:
        entry["duration"] = clip.duration
    entry.update({k: v for k, v in clip.extra.items() if k not in entry})
    return entry


def write_v2(clips: Iterable[Clip], path: str | os.PathLike) -> None:
    """Validate ``clips`` and write them as a v2 JSON list, atomically."""
    entries = []
    for clip in clips:
        clip.validate(str(path))
        if any(not t or any(c.isspace() for c in t) for t in clip.tokens):
            raise LabelError(f"{path}: clip {clip.audio_id!r} has an empty token or one with spaces")
        entries.append(clip_to_v2(clip))
    with atomic_open(path, "w", encoding="utf-8") as fh:
        # One clip per line: diffable and greppable, still one JSON list.
        fh.write("[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in entries) + "\n]\n")


# ----------------------------------------------------------------------------- v1


def _v1_row(columns: dict[str, dict], idx: str, where: str) -> dict[str, Any]:
    row = {}
    for col in V1_COLUMNS:
        if idx not in columns[col]:
            raise LabelError(f"{where}: column {col!r} has no value for this row")
        row[col] = columns[col][idx]
    for col in ("filename", "caption", "soundtag"):
        if not isinstance(row[col], str) or not row[col].strip():
            raise LabelError(f"{where}: {col!r} must be a non-empty string, got {row[col]!r}")
    if not (isinstance(row["tokens"], list) and all(isinstance(t, str) for t in row["tokens"])):
        raise LabelError(f"{where}: 'tokens' must be a list of strings, got {_type_name(row['tokens'])}")
    start = row["start_word"]
    if isinstance(start, float) and start.is_integer():
        start = int(start)
    if not isinstance(start, int) or isinstance(start, bool):
        raise LabelError(f"{where}: 'start_word' must be an integer, got {start!r}")
    row["start_word"] = start
    if isinstance(row["audiocap_id"], bool) or not isinstance(row["audiocap_id"], (int, str, type(None))):
        raise LabelError(f"{where}: 'audiocap_id' must be an integer, got {row['audiocap_id']!r}")
    return row


def read_v1(path: str | os.PathLike) -> list[Clip]:
    """Read AudioGrounding v1 (one row per phrase) into strong-label clips.

    Rows are grouped by (filename, caption, audiocap_id): v1 val holds a few identical
    captions of one clip written by different annotators, with different timestamps,
    and those stay separate clips. Within a clip each distinct (start_word, soundtag)
    is one phrase spanning ``len(tokenize(soundtag))`` tokens; repeated rows merge
    their segments. Durations are unknown (the audio is not here).
    """
    source = str(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise LabelError(f"{source}: expected a pandas 'columns' JSON object, got a {_type_name(data)}")
    for col in V1_COLUMNS:
        if col not in data:
            raise LabelError(f"{source}: AudioGrounding v1 column {col!r} is missing")
        if not isinstance(data[col], dict):
            raise LabelError(f"{source}: column {col!r} must map row numbers to values, got {_type_name(data[col])}")
    index = list(data["filename"])
    index.sort(key=lambda k: (0, int(k)) if k.isdigit() else (1, k))
    groups: dict[tuple, dict[str, Any]] = {}
    for idx in index:
        where = f"{source}: row {idx} (filename {data['filename'][idx]!r})"
        row = _v1_row(data, idx, where)
        tokens, start = row["tokens"], row["start_word"]
        tag = tokenize(row["soundtag"])
        if tokens[start : start + len(tag)] != tag or start < 0:
            raise LabelError(
                f"{where}: soundtag {row['soundtag']!r} is not at token {start} of the caption's "
                f"tokens {' '.join(tokens)!r}"
            )
        segments = _segments(row["timestamps"], f"{where}, soundtag {row['soundtag']!r}")
        key = (row["filename"], row["caption"], row["audiocap_id"])
        group = groups.setdefault(key, {"tokens": tokens, "phrases": {}})
        if group["tokens"] != tokens:
            raise LabelError(f"{where}: tokens differ from an earlier row of the same caption")
        pkey = (start, start + len(tag) - 1, row["soundtag"])
        group["phrases"][pkey] = group["phrases"].get(pkey, ()) + segments
    clips = []
    for (filename, caption, audiocap_id), group in groups.items():
        phrases = [
            Phrase(text, s, e, tuple(sorted(set(segs), key=lambda g: (g.onset, g.offset))))
            for (s, e, text), segs in sorted(group["phrases"].items())
        ]
        clip = Clip(
            audio_id=filename,
            caption=caption,
            tokens=tuple(group["tokens"]),
            phrases=tuple(phrases),
            audiocap_id=None if audiocap_id is None else str(audiocap_id),
        )
        clips.append(clip.validate(source))
    return clips


def convert_v1_to_v2(v1_path: str | os.PathLike, v2_path: str | os.PathLike) -> list[Clip]:
    """Read AudioGrounding v1 and write it as v2 strong labels; return the clips."""
    clips = read_v1(v1_path)
    write_v2(clips, v2_path)
    return clips
