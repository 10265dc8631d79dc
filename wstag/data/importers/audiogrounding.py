"""AudioGrounding's own splits (v1 or v2 label files), every split with its segments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Literal

from wstag.data.corpus import SPLITS
from wstag.data.importers.audio_files import (
    DEFAULT_MAX_MISSING, AudioIndex, check_audio, ImportEntry, Progress, resolve_audio,
)
from wstag.data.importers.audiocaps import test_entries
from wstag.data.importers.common import (
    base_report, check_audio_dirs, check_import_out, check_shares, grounding_file, ImportResult,
    read_grounding_labels, write_corpus,
)
from wstag.errors import ConfigError, LabelError


# ----------------------------------------------------------------------------- AudioGrounding


def import_audiogrounding(
    labels: str | os.PathLike,
    audio_dir: str | os.PathLike,
    out: str | os.PathLike,
    *,
    weak_phrases: Literal["parser", "human"] = "parser",
    max_missing: float = DEFAULT_MAX_MISSING,
    copy: bool = False,
    workers: int = 1,
    force: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import AudioGrounding (``labels``: a folder with ``train.json``, ``val.json``,
    ``test.json``, each v1 or v2) with its audio, keeping its split and every segment.

    ``weak.json`` holds the phrase parser's phrases of each caption (``weak_phrases="parser"``,
    as ``wstag data build`` writes) or the human phrases without their segments (``"human"``).
    """
    say = log or (lambda m: None)
    labels, audio_dir, out = Path(labels), Path(audio_dir), Path(out)
    if weak_phrases not in ("parser", "human"):
        raise ConfigError(f"--weak-phrases must be parser or human, got {weak_phrases!r}")
    if not 0 <= max_missing <= 1:
        raise ConfigError(f"--max-missing must be a share between 0 and 1, got {max_missing}")
    if not labels.is_dir():
        raise LabelError(f"{labels}: {'is a file' if labels.exists() else 'no such folder'}; give the folder "
                         f"with the AudioGrounding train.json, val.json and test.json")
    paths = {s: grounding_file(labels, s) for s in SPLITS}
    folders = check_audio_dirs([audio_dir])
    writable = check_import_out(out, force)

    by_split: dict[str, list[ImportEntry]] = {}
    versions = {}
    for split in SPLITS:
        clips, versions[split] = read_grounding_labels(paths[split])
        by_split[split] = test_entries(clips, {}, f"audiogrounding/{split}")
    test_videos = {e.row.youtube_id for e in by_split["test"]}
    removed = 0
    for split in ("train", "val"):
        before = len(by_split[split])
        by_split[split] = [e for e in by_split[split] if e.row.youtube_id not in test_videos]
        removed += before - len(by_split[split])
    entries = [e for s in SPLITS for e in by_split[s]]
    say("AudioGrounding: " + ", ".join(f"{s} {len(by_split[s])} captions ({versions[s]})" for s in SPLITS)
        + (f"; {removed} captions of test videos removed from train/val" if removed else ""))
    starts: dict[str, set[float]] = {}
    for e in entries:
        if e.start_known:
            starts.setdefault(e.row.youtube_id, set()).add(e.row.start_time)
    index = AudioIndex(folders, exclude=(out, out.with_name(f".{out.name}.partial")))
    say(f"{index.n_files} audio files under {audio_dir}")
    resolve_audio(entries, index, starts)
    probes = check_audio(entries, workers, progress)
    report = base_report("audiogrounding", entries, index, probes, removed, {
        "seed": None, "max_missing": max_missing, "weak_phrases": weak_phrases,
        "inputs": {"labels": {s: str(p) for s, p in paths.items()}, "formats": versions,
                   "audio": [str(f) for f in folders]},
    })
    check_shares({f"AudioGrounding {s} captions": by_split[s] for s in SPLITS}, max_missing, out, report,
                  entries, writable)
    splits = {s: [e for e in by_split[s] if e.problem is None] for s in SPLITS}
    for s, es in splits.items():
        if not es:
            raise ConfigError(f"{paths[s]}: no caption of the {s} split has readable audio")
    info = {"source": "audiogrounding", "preset": "import-audiogrounding", "seed": None,
            "link": "hardlink-or-copy" if copy else "symlink", "weak_phrases": weak_phrases,
            "inputs": report["inputs"]}
    return write_corpus(out, splits, probes, info, report, entries, copy=copy, weak_from=weak_phrases,
                         progress=progress)
