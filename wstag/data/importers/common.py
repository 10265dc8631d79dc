"""What both importers share: label files, the import report, the output folder and the corpus write."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Literal

from wstag.data.audiocaps import write_captions_csv
from wstag.data.audiogrounding import clip_from_v2, load_json, read_v1, write_v2
from wstag.data.corpus import CAPTIONS, LABELS, SPLITS, WEAK, finish_corpus, hash_label_files
from wstag.data.weak_labels import AUDIOCAPS_CLIP_S, caption_to_weak_clip
from wstag.data.importers.audio_files import (
    AUDIOCAPS_FILES, COMPLETE_MARKER, MISSING_NAME, NAMING_CONVENTIONS, REPORT_NAME, UNSAFE_CHARS, AudioIndex,
    file_stem, ImportEntry, Probe, Progress,
)
from wstag.errors import AudioError, ConfigError, LabelError
from wstag.files import atomic_open, check_output_folder, recover_folder, write_json
from wstag.records import SEGMENT_TOLERANCE_S, Clip, Phrase, Segment


# ----------------------------------------------------------------------------- labels


def read_grounding_labels(path: str | os.PathLike) -> tuple[list[Clip], str]:
    """An AudioGrounding label file, v1 (pandas "columns" JSON) or v2 (a JSON list), as
    strong-label clips, and the version found.

    v2 entries without a ``caption`` (the Zenodo release keeps only ``tokens``) get the
    tokens, joined by spaces, as their caption.
    """
    data = load_json(path)
    if isinstance(data, dict):
        return read_v1(path), "v1"
    if not isinstance(data, list):
        raise LabelError(f"{path}: neither AudioGrounding v1 (a JSON object) nor v2 (a JSON list)")
    clips = []
    for i, entry in enumerate(data):
        if isinstance(entry, dict) and "caption" not in entry and "tokens" in entry:
            tokens = entry["tokens"]
            if isinstance(tokens, list) and all(isinstance(t, str) for t in tokens):
                tokens = " ".join(tokens)
            if isinstance(tokens, str):
                entry = {**entry, "caption": tokens}
        clips.append(clip_from_v2(entry, str(path), i, require_segments=True))
    return clips, "v2"


def grounding_file(path: Path, split: str) -> Path:
    if path.is_dir():
        found = path / f"{split}.json"
        if not found.is_file():
            raise LabelError(f"{path}: no {split}.json (AudioGrounding v1 or v2 labels) in this folder")
        return found
    if not path.is_file():
        raise LabelError(f"{path}: no such file or folder")
    return path


def caption_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise LabelError(f"{path}: no such file or folder (expected the AudioCaps captions: "
                         f"{', '.join(AUDIOCAPS_FILES)})")
    files = [path / n for n in AUDIOCAPS_FILES if (path / n).is_file()]
    if not files:
        raise LabelError(f"{path}: holds none of {', '.join(AUDIOCAPS_FILES)} (the AudioCaps caption CSVs)")
    return files


def id_key(value: str | None) -> tuple:
    return (0, int(value), "") if value and value.isdigit() else (1, 0, value or "")


def _fit_to_audio(clip: Clip, duration: float) -> tuple[Clip, int]:
    """The clip with its measured duration; segments past the audio's end cut there."""
    cut = 0
    phrases = []
    for p in clip.phrases:
        if p.segments is None:
            phrases.append(p)
            continue
        segs = []
        for s in p.segments:
            if s.offset > duration + SEGMENT_TOLERANCE_S:
                cut += 1
                if s.onset >= duration:
                    continue
                s = Segment(s.onset, duration)
            segs.append(s)
        phrases.append(Phrase(p.text, p.start_index, p.end_index, tuple(segs)))
    return replace(clip, phrases=tuple(phrases), duration=duration), cut


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the corpus folder, its hash and the figures of the report."""

    path: Path
    source: str
    seed: int | None
    content_hash: str
    sizes: dict[str, int]
    counts: dict[str, dict[str, int]]  # per source: entries, imported, missing, unsupported, ambiguous, unreadable
    stats: dict[str, dict]
    report: dict = field(repr=False, default_factory=dict)


_PROBLEMS = ("missing", "unsupported", "ambiguous", "unreadable")


def _counts(entries: list[ImportEntry]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in entries:
        c = out.setdefault(e.source, {"entries": 0, "imported": 0, **{p: 0 for p in _PROBLEMS}})
        c["entries"] += 1
        c[e.problem or "imported"] += 1
    return out


def _missing_lines(entries: list[ImportEntry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["source", "audiocap_id", "youtube_id", "start_time", "problem", "detail"])
    for e in entries:
        if e.problem:
            start = f"{e.row.start_time:g}" if e.start_known else ""
            w.writerow([e.source, e.row.audiocap_id, e.row.youtube_id, start, e.problem, e.detail])
    return buf.getvalue()


def _write_report(folder: Path, report: dict, entries: list[ImportEntry]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / REPORT_NAME, report)
    with atomic_open(folder / MISSING_NAME, "w", encoding="utf-8", newline="") as fh:
        fh.write(_missing_lines(entries))


def _conventions(entries: list[ImportEntry]) -> dict[str, int]:
    counts = {c: 0 for c in NAMING_CONVENTIONS}
    for e in entries:
        if e.problem is None and e.convention:
            counts[e.convention] += 1
    return {c: n for c, n in counts.items() if n}


def check_shares(groups: dict[str, list[ImportEntry]], max_missing: float, out: Path, report: dict,
                  entries: list[ImportEntry], writable: bool) -> None:
    """Stop with one line if a group has more than ``max_missing`` entries without readable audio."""
    for what, group in groups.items():
        if not group:
            continue
        bad = [e for e in group if e.problem]
        share = len(bad) / len(group)
        if share > max_missing:
            where = ""
            if writable:
                _write_report(out, {**report, "stopped": True}, entries)
                where = f"; the list is in {out / MISSING_NAME}"
            kinds = ", ".join(f"{sum(e.problem == p for e in bad)} {p}" for p in _PROBLEMS
                              if any(e.problem == p for e in bad))
            raise ConfigError(
                f"{share:.1%} of the {len(group)} {what} have no readable audio ({kinds}), more than "
                f"--max-missing {max_missing:g}: import stopped{where}")


# ----------------------------------------------------------------------------- output folder


def _is_report_only(folder: Path) -> bool:
    return all(p.name in (REPORT_NAME, MISSING_NAME) for p in folder.iterdir())


def check_import_out(out: Path, force: bool) -> bool:
    """Refuse an --out that cannot take the corpus; True if a failed import may write its report there."""
    check_output_folder(out)
    recover_folder(out)
    if not out.exists():
        return True
    if (out / COMPLETE_MARKER).is_file():
        if not force:
            raise ConfigError(f"{out}: holds a corpus already; choose another --out or pass --force")
        return False
    if any(out.iterdir()) and not _is_report_only(out):  # --force replaces a corpus, never anything else
        raise ConfigError(f"{out}: folder exists and is not a wstag corpus (no {COMPLETE_MARKER}); wstag replaces "
                          f"only a corpus it wrote, even with --force: choose another --out")
    return True


def check_audio_dirs(folders: Iterable[Path]) -> list[Path]:
    out = []
    for folder in folders:
        if not folder.exists():
            raise AudioError(f"{folder}: no such audio folder")
        if not folder.is_dir():
            raise AudioError(f"{folder}: is a file; give the folder that holds the audio files")
        if folder not in out:
            out.append(folder)
    return out


def _safe_id(value: str) -> str:
    return UNSAFE_CHARS.sub("_", value).strip(".") or "clip"


def _assign_audio_ids(entries: list[ImportEntry]) -> None:
    """``<audiocap_id><ext>``, unique within the split (``_2``, ``_3`` ... on a repeat)."""
    used: set[str] = set()
    for e in entries:
        assert e.path is not None
        base = _safe_id(e.row.audiocap_id or file_stem(e.label_name or e.path.name))
        ext = e.path.suffix.lower()
        name, k = f"{base}{ext}", 1
        while name in used:
            k += 1
            name = f"{base}_{k}{ext}"
        used.add(name)
        e.audio_id = name


def _place(src: Path, dst: Path, copy: bool) -> None:
    src = src.resolve()
    if not copy:
        os.symlink(src, dst)
        return
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed: a real copy
        shutil.copyfile(src, dst)


def _split_stats(entries: list[ImportEntry], weak: list[Clip], strong: list[Clip] | None,
                 probes: dict[Path, Probe]) -> dict:
    files = {e.path for e in entries}
    hours = sum(probes[p].duration or 0.0 for p in files) / 3600
    stats = {
        "clips": len(entries),
        "audio_files": len(files),
        "hours": round(hours, 3),
        "weak_phrases": sum(len(c.phrases) for c in weak),
        "captions_without_phrase": len(entries) - len(weak),
        "strong_phrases": None,
        "short_share": None,
    }
    if strong is not None:
        phrases = [(c, p) for c in strong for p in c.phrases]
        stats["strong_phrases"] = len(phrases)
        short = sum(p.is_short(c.duration or AUDIOCAPS_CLIP_S) for c, p in phrases)
        stats["short_share"] = round(short / max(len(phrases), 1), 3)
    return stats


def write_corpus(
    out: Path,
    splits: dict[str, list[ImportEntry]],
    probes: dict[Path, Probe],
    info: dict,
    report: dict,
    all_entries: list[ImportEntry],
    *,
    copy: bool,
    weak_from: Literal["parser", "human"] = "parser",
    progress: Progress | None = None,
) -> ImportResult:
    wrap = progress or (lambda it, **kw: it)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    stats: dict[str, dict] = {}
    segments_cut = 0
    for split in SPLITS:
        entries = splits[split]
        folder = tmp / split
        (folder / "audio").mkdir(parents=True)
        _assign_audio_ids(entries)
        for e in wrap(entries, total=len(entries), desc=f"linking {split}"):
            _place(e.path, folder / "audio" / e.audio_id, copy)
        strong = None
        if entries and all(e.clip is not None for e in entries):  # AudioGrounding: segments for evaluation
            strong = []
            for e in entries:
                clip, cut = _fit_to_audio(e.clip, round(probes[e.path].duration, 3))
                segments_cut += cut
                strong.append(replace(clip, audio_id=e.audio_id, audiocap_id=e.row.audiocap_id,
                                      extra={**clip.extra, "source_audio_id": e.label_name}))
            write_v2(strong, folder / LABELS)
        weak = []
        for i, e in enumerate(entries):
            duration = round(probes[e.path].duration, 3)
            if weak_from == "human" and strong is not None:
                clip = strong[i].weak()
            else:
                clip = replace(caption_to_weak_clip(e.row, e.audio_id), duration=duration)
            if clip.phrases:
                weak.append(clip.validate(str(folder / WEAK)))
        write_v2(weak, folder / WEAK)
        write_captions_csv([e.row for e in entries], folder / CAPTIONS)
        stats[split] = _split_stats(entries, weak, strong, probes)
    h = hashlib.sha256()
    hash_label_files(h, tmp)
    for split in SPLITS:
        for e in splits[split]:
            h.update(f"{split}/{e.audio_id}\0{probes[e.path].digest}\n".encode())
    content_hash = h.hexdigest()[:16]
    sizes = {s: len(splits[s]) for s in SPLITS}
    report = {**report, "segments_cut": segments_cut, "sizes": sizes, "content_hash": content_hash}
    corpus = {**info, "sizes": sizes, "bank_hash": None, "content_hash": content_hash,
              "import": {k: report[k] for k in ("counts", "removed_test_overlap", "naming", "segments_cut",
                                                 "duplicate_names", "longer_than_12s")},
              "stats": stats}
    _write_report(tmp, report, all_entries)
    finish_corpus(tmp, out, corpus)  # the old corpus is deleted only once the new one is in place
    return ImportResult(out, info["source"], info.get("seed"), content_hash, sizes, report["counts"], stats, report)


def base_report(source: str, entries: list[ImportEntry], index: AudioIndex, probes: dict[Path, Probe],
                 removed: int, extra: dict) -> dict:
    long = sum(1 for p in probes.values() if p.duration and p.duration > 12.0)
    return {
        "source": source,
        **extra,
        "audio_files_found": index.n_files,
        "duplicate_names": index.duplicates,
        "removed_test_overlap": removed,
        "counts": _counts(entries),
        "naming": _conventions(entries),
        "longer_than_12s": long,
        "missing_list": MISSING_NAME,
    }
