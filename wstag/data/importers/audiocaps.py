"""AudioCaps with the AudioGrounding test set as its test split, prepared as the paper did (V-A)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from wstag.data.audiocaps import CaptionRow, read_captions_csv
from wstag.data.importers.audio_files import (
    DEFAULT_MAX_MISSING, DEFAULT_VAL_SIZE, AudioIndex, check_audio, file_stem, ImportEntry, parse_label_name,
    Progress, resolve_audio,
)
from wstag.data.importers.common import (
    base_report, caption_files, check_audio_dirs, check_import_out, check_shares, grounding_file, id_key,
    ImportResult, read_grounding_labels, write_corpus,
)
from wstag.errors import ConfigError, LabelError
from wstag.records import Clip


# ----------------------------------------------------------------------------- AudioCaps


def _val_split(entries: list[ImportEntry], val_size: int, seed: int) -> tuple[list[ImportEntry], list[ImportEntry]]:
    """Hold out exactly ``val_size`` pairs (when whole videos allow it), drawn by video with ``seed``."""
    by_video: dict[str, list[ImportEntry]] = {}
    for e in entries:
        by_video.setdefault(e.row.youtube_id, []).append(e)
    videos = sorted(by_video)
    order = np.random.default_rng(seed).permutation(len(videos))
    val_videos: set[str] = set()
    left = val_size
    for i in order:
        if left == 0:
            break
        group = by_video[videos[i]]
        if len(group) <= left:
            val_videos.add(videos[i])
            left -= len(group)
    key = lambda e: id_key(e.row.audiocap_id)  # noqa: E731
    train = sorted((e for e in entries if e.row.youtube_id not in val_videos), key=key)
    val = sorted((e for e in entries if e.row.youtube_id in val_videos), key=key)
    return train, val


def test_entries(clips: list[Clip], rows_by_id: dict[str, CaptionRow], source: str) -> list[ImportEntry]:
    """AudioGrounding clips as entries; youtube id and start from AudioCaps (by audiocap_id) or the file name."""
    out = []
    for clip in clips:
        row = rows_by_id.get(clip.audiocap_id or "")
        yid, start = parse_label_name(clip.audio_id)
        start_known = start is not None
        if row is not None:
            yid, start, start_known = row.youtube_id, row.start_time, True
        out.append(ImportEntry(
            source=source,
            row=CaptionRow(clip.audiocap_id or file_stem(clip.audio_id), yid or file_stem(clip.audio_id), start or 0.0,
                           clip.caption),
            clip=clip,
            label_name=clip.audio_id,
            start_known=start_known,
        ))
    return out


def import_audiocaps(
    captions: str | os.PathLike,
    audio_dir: str | os.PathLike,
    out: str | os.PathLike,
    grounding: str | os.PathLike,
    *,
    grounding_audio: str | os.PathLike | None = None,
    val_size: int = DEFAULT_VAL_SIZE,
    seed: int = 0,
    max_missing: float = DEFAULT_MAX_MISSING,
    copy: bool = False,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import AudioCaps (captions + downloaded audio) with the AudioGrounding test set as test split.

    ``captions``: the AudioCaps ``train.csv``, ``val.csv``, ``test.csv`` folder (those
    present), or one CSV; ``grounding``: the AudioGrounding test labels (v1 or v2 file, or a
    folder with ``test.json``); audio is searched under ``audio_dir`` and
    ``grounding_audio`` (default: ``audio_dir``). See ``wstag.data.importers`` for the
    preparation, the naming conventions and what is reported.
    """
    say = log or (lambda m: None)
    captions, audio_dir, out, grounding = Path(captions), Path(audio_dir), Path(out), Path(grounding)
    if val_size < 1:
        raise ConfigError(f"--val-size must be at least 1, got {val_size}")
    if not 0 <= max_missing <= 1:
        raise ConfigError(f"--max-missing must be a share between 0 and 1, got {max_missing}")
    files = caption_files(captions)
    test_file = grounding_file(grounding, "test")
    folders = check_audio_dirs([audio_dir, Path(grounding_audio) if grounding_audio else audio_dir])
    writable = check_import_out(out, force)

    rows_by_id: dict[str, CaptionRow] = {}
    pool: list[ImportEntry] = []
    for f in files:
        name = f"audiocaps/{f.stem}"
        for row in read_captions_csv(f):
            if row.audiocap_id in rows_by_id:
                raise LabelError(f"{f}: audiocap_id {row.audiocap_id} occurs twice in the caption files")
            rows_by_id[row.audiocap_id] = row
            pool.append(ImportEntry(source=name, row=row))
    test_clips, version = read_grounding_labels(test_file)
    test = test_entries(test_clips, rows_by_id, "audiogrounding/test")
    test_videos = {e.row.youtube_id for e in test}
    test_ids = {e.row.audiocap_id for e in test if e.row.audiocap_id}
    kept = [e for e in pool if e.row.youtube_id not in test_videos and e.row.audiocap_id not in test_ids]
    removed = len(pool) - len(kept)
    say(f"{len(pool)} AudioCaps captions from {len(files)} file(s); {removed} of them, of videos in the "
        f"AudioGrounding test set ({len(test)} captions, {version}), removed")

    starts: dict[str, set[float]] = {}
    for e in (*pool, *test):
        if e.start_known:
            starts.setdefault(e.row.youtube_id, set()).add(e.row.start_time)
    index = AudioIndex(folders, exclude=(out, out.with_name(f".{out.name}.partial")))
    say(f"{index.n_files} audio files under {', '.join(map(str, folders))}")
    entries = kept + test
    resolve_audio(entries, index, starts)
    probes = check_audio(entries, workers, progress)

    report = base_report("audiocaps", entries, index, probes, removed, {
        "seed": seed, "val_size": val_size, "max_missing": max_missing,
        "inputs": {"captions": [str(f) for f in files], "audio": [str(f) for f in folders],
                   "grounding_test": str(test_file), "grounding_format": version},
    })
    check_shares({"AudioCaps captions": kept, "AudioGrounding test captions": test}, max_missing, out, report,
                  entries, writable)
    usable = [e for e in kept if e.problem is None]
    if len(usable) <= val_size:
        raise ConfigError(f"only {len(usable)} AudioCaps captions have readable audio: --val-size {val_size} "
                          f"leaves none for training")
    train, val = _val_split(usable, val_size, seed)
    if not val:
        raise ConfigError(f"no video has {val_size} or fewer captions: --val-size {val_size} holds none out")
    if len(val) != val_size:
        say(f"validation holds {len(val)} captions, not {val_size}: whole videos did not add up")
    splits = {"train": train, "val": val, "test": [e for e in test if e.problem is None]}
    if not splits["test"]:
        raise ConfigError(f"{test_file}: no caption of the AudioGrounding test set has readable audio")
    info = {"source": "audiocaps", "preset": "import-audiocaps", "seed": seed, "val_size": val_size,
            "link": "hardlink-or-copy" if copy else "symlink", "inputs": report["inputs"]}
    return write_corpus(out, splits, probes, info, report, entries, copy=copy, progress=progress)
