"""AudioCaps caption CSVs (``audiocap_id,youtube_id,start_time,caption``).

AudioCaps is the weak training corpus (paper V-A): one row per caption, several
captions per clip in val/test. Its captions become weak labels in
:mod:`wstag.data.weak_labels`. Bad rows raise :class:`~wstag.errors.LabelError`
naming the file and line.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from wstag.errors import LabelError
from wstag.files import atomic_open

CAPTION_COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


@dataclass(frozen=True)
class CaptionRow:
    """One AudioCaps caption of the 10 s clip starting ``start_time`` s into a video."""

    audiocap_id: str
    youtube_id: str
    start_time: float
    caption: str


def read_captions_csv(path: str | os.PathLike) -> list[CaptionRow]:
    """Read an AudioCaps caption CSV (extra columns are ignored)."""
    path = Path(path)
    if not path.is_file():
        raise LabelError(f"{path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if not header:
                raise LabelError(f"{path}: the file is empty (expected a header {','.join(CAPTION_COLUMNS)})")
            missing = [c for c in CAPTION_COLUMNS if c not in header]
            if missing:
                raise LabelError(
                    f"{path}: missing column(s) {', '.join(missing)} (header is {','.join(header)})"
                )
            return [_row(raw, f"{path}, line {reader.line_num}") for raw in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LabelError(f"{path}: cannot parse as CSV ({exc})") from None


def _row(raw: dict, where: str) -> CaptionRow:
    if None in raw or any(raw[c] is None for c in CAPTION_COLUMNS):
        raise LabelError(f"{where}: wrong number of fields")
    values = {c: raw[c].strip() for c in CAPTION_COLUMNS}
    for col in ("audiocap_id", "youtube_id", "caption"):
        if not values[col]:
            raise LabelError(f"{where}: empty {col} (audiocap_id {values['audiocap_id']!r})")
    try:
        start = float(values["start_time"])
    except ValueError:
        start = math.nan
    if not (math.isfinite(start) and start >= 0):
        raise LabelError(f"{where}: start_time must be a number of seconds >= 0, got {values['start_time']!r}")
    return CaptionRow(values["audiocap_id"], values["youtube_id"], start, values["caption"])


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_captions_csv(rows: Iterable[CaptionRow], path: str | os.PathLike) -> None:
    """Write caption rows as an AudioCaps CSV, atomically."""
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CAPTION_COLUMNS)
        for row in rows:
            if not row.caption.strip():
                raise LabelError(f"{path}: caption {row.audiocap_id!r} is empty")
            writer.writerow([row.audiocap_id, row.youtube_id, _format_seconds(row.start_time), row.caption])
