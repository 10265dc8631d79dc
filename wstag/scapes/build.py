"""Build a benchmark corpus (presets tiny/small/full) from the sound bank.

Output, per split: `audio/*.flac` (10 s, 32 kHz mono), `captions.csv` (AudioCaps
columns), `labels.json` (AudioGrounding v2 with segments: evaluation only) and
`weak.json` (phrases the parser extracts from the captions, no segments: what
weakly-supervised training reads); at the top, `wordings.json` (per class, held-out
wordings no caption uses, for `wstag evaluate --wordings`; not part of the hash). The
build is deterministic: a clip's RNG is seeded by (seed, split, index), so the same
seed and bank give byte-identical files, and the printed content hash says so. The
corpus is written to a temporary folder and renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from wstag.audio.io import load_audio, write_flac
from wstag.data.audiocaps import CaptionRow, write_captions_csv
from wstag.data.audiogrounding import write_v2
from wstag.data.corpus import CAPTIONS, CORPUS_INFO, LABELS, WEAK, finish_corpus, hash_label_files
from wstag.data.weak_labels import captions_to_weak_clips
from wstag.errors import ConfigError
from wstag.files import recover_folder
from wstag.records import Clip
from wstag.scapes.bank import SAMPLE_RATE, SPLITS, Recording, SoundBank
from wstag.scapes.captions import write_caption
from wstag.scapes.frequencies import DATA_FILE, FLOOR, CaptionWordings, load_frequencies
from wstag.scapes.mixing import Composer, MixConfig, render
from wstag.scapes.takes import TakeConfig, draw_take
from wstag.scapes.wordings import held_out_wordings, write_corpus_wordings

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"train": 48, "val": 16, "test": 24},
    "small": {"train": 2000, "val": 200, "test": 400},
    "full": {"train": 20000, "val": 1000, "test": 2000},
    # Issue 27: the world table in AudioCaps' proportions. Twice small's clips: a long tail drawn
    # in proportion to real captions leaves its rare classes a handful of clips at small's size,
    # and a training epoch stays within 3 times small's (test twice small's, for steadier figures).
    "world": {"train": 4000, "val": 400, "test": 800},
}
#: The class table (classtable.TABLE_FILES) each preset draws from; absent means ``base``.
PRESET_TABLES: dict[str, str] = {"world": "world"}
#: Presets drawn in AudioCaps' proportions and captioned with real wordings (scapes.frequencies);
#: the others draw classes uniformly and caption them with the table's phrases.
AUDIOCAPS_PRESETS = frozenset({"world"})
#: Mixing per preset (absent: MixConfig(), as every corpus so far). The world preset chains its
#: gendered speech classes into long events as speech is: a man speaking is long in real captions,
#: not a 1-4.5 s crop. With it the world corpus keeps small's short-phrase share and loudness control
#: (results/world_preset/likeness.md, where fewer events per clip were measured too).
PRESET_MIX: dict[str, MixConfig] = {
    "world": replace(MixConfig(), chain_classes=(*MixConfig().chain_classes, "male_speech", "female_speech")),
}
COMPLETE_MARKER = CORPUS_INFO
TAKES_STREAM = 1  # the RNG stream of event takes, beside a clip's composition stream


def preset_sizes(preset: str) -> dict[str, int]:
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[preset]


def preset_table(preset: str) -> str:
    """The name of the class table a preset is built from (``base`` for tiny, small, full)."""
    preset_sizes(preset)
    return PRESET_TABLES.get(preset, "base")


def limit_groups(recordings: list[Recording], groups: int) -> list[Recording]:
    """Each class's recordings from its ``groups`` largest source groups only (most recordings first,
    then by name): fewer distinct sources per class, for a dose-response of the training data."""
    by_class: dict[str, dict[str, list[Recording]]] = {}
    for rec in recordings:
        by_class.setdefault(rec.class_name, {}).setdefault(rec.group, []).append(rec)
    kept = {(name, g) for name, cls in by_class.items()
            for g in sorted(cls, key=lambda g: (-len(cls[g]), g))[:groups]}
    return [r for r in recordings if (r.class_name, r.group) in kept]


def split_recordings(bank: SoundBank, split: str) -> list[Recording]:
    """A split's recordings; a class with no recording of its own in val borrows train's."""
    recs = bank.in_split(split)
    if split == "val":
        have = {r.class_name for r in recs}
        recs += [r for r in bank.in_split("train") if r.class_name not in have]
    return recs


# --- worker side: each process loads bank audio once --------------------------------
_BANK_ROOT: Path | None = None
_COMPOSERS: dict[str, Composer] = {}
_WORDINGS: CaptionWordings | None = None


@lru_cache(maxsize=None)
def _load_cached(path: str) -> np.ndarray:
    return load_audio(path, SAMPLE_RATE)


def _load(rec: Recording) -> np.ndarray:
    assert _BANK_ROOT is not None
    return _load_cached(str(_BANK_ROOT / rec.path))


def _init_worker(bank_root: Path, composers: dict[str, Composer], wordings: CaptionWordings | None = None) -> None:
    global _BANK_ROOT, _WORDINGS
    _BANK_ROOT = bank_root
    _COMPOSERS.update(composers)
    _WORDINGS = wordings


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    seed: int
    audio_path: str
    config: MixConfig
    takes: TakeConfig | None = None


def _render_clip(job: _Job) -> tuple[Clip, str]:
    rng = np.random.default_rng([job.seed, SPLITS.index(job.split), job.index])
    events = _COMPOSERS[job.split].compose(rng)
    if job.takes is not None:  # its own stream: the scenes and captions stay those of the corpus without takes
        take_rng = np.random.default_rng([job.seed, SPLITS.index(job.split), job.index, TAKES_STREAM])
        for event in events:
            event.take = draw_take(take_rng, job.takes)
    audio = render(events, _load, job.config)
    clip = write_caption(rng, events, Path(job.audio_path).name, job.config.duration, _WORDINGS)
    write_flac(job.audio_path, audio, SAMPLE_RATE)
    digest = hashlib.sha256(np.round(audio * 32767).astype(np.int16).tobytes()).hexdigest()
    return clip, digest


# --- statistics ------------------------------------------------------------------------
def split_statistics(clips: list[Clip]) -> dict:
    phrases = [(c, p) for c in clips for p in c.phrases]
    short = [p for c, p in phrases if p.is_short(c.duration or 10.0)]
    overlap = 0
    for c in clips:
        fg = [p for p, k in zip(c.phrases, c.extra["phrase_classes"]) if k != c.extra.get("background")]
        spans = [(s.onset, s.offset) for p in fg for s in p.segments or ()]
        owners = [i for i, p in enumerate(fg) for _ in p.segments or ()]
        if any(owners[i] != owners[j] and spans[i][0] < spans[j][1] and spans[j][0] < spans[i][1]
               for i in range(len(spans)) for j in range(i + 1, len(spans))):
            overlap += 1
    n_fg = [sum(1 for k in c.extra["phrase_classes"] if k != c.extra.get("background")) for c in clips]
    return {
        "clips": len(clips),
        "phrases": len(phrases),
        "classes": len({k for c in clips for k in c.extra["phrase_classes"]}),
        "short_share": round(len(short) / max(len(phrases), 1), 3),
        "segments_per_phrase": round(float(np.mean([len(p.segments or ()) for _, p in phrases])), 2),
        "foreground_events_per_clip": round(float(np.mean(n_fg)), 2),
        "clips_with_2plus_events": round(sum(n >= 2 for n in n_fg) / max(len(clips), 1), 3),
        "clips_with_overlapping_events": round(overlap / max(len(clips), 1), 3),
        "background_captioned_share": round(
            sum(c.extra["background_captioned"] for c in clips) / max(sum(c.extra["background"] is not None for c in clips), 1), 3),
    }


@dataclass(frozen=True)
class CorpusInfo:
    path: Path
    preset: str
    seed: int
    content_hash: str
    bank_hash: str
    stats: dict[str, dict]
    reused: bool = False
    recordings_from: str | None = None  # a diagnostic corpus: every split mixed from this split's recordings
    event_takes: dict | None = None  # the training events' takes (TakeConfig as a dict); None: as recorded
    train_groups: int | None = None  # training clips mixed from this many source groups per class; None: all


def _read_info(path: Path) -> CorpusInfo | None:
    marker = path / COMPLETE_MARKER
    if not marker.is_file():
        return None
    try:
        d = json.loads(marker.read_text())
        return CorpusInfo(path, d["preset"], d["seed"], d["content_hash"], d["bank_hash"], d["stats"], reused=True,
                          recordings_from=d.get("recordings_from"), event_takes=d.get("event_takes"),
                          train_groups=d.get("train_groups"))
    except (json.JSONDecodeError, KeyError):
        return None


def build_corpus(
    bank: SoundBank,
    preset: str,
    out: Path,
    seed: int = 0,
    config: MixConfig | None = None,
    workers: int = 2,
    progress: Callable[..., Iterable] | None = None,
    force: bool = False,
    recordings_from: str | None = None,
    event_takes: TakeConfig | None = None,
    train_groups: int | None = None,
) -> CorpusInfo:
    """Build (or reuse) the corpus for ``preset`` in ``out``.

    ``recordings_from="train"`` builds a diagnostic corpus: its val and test clips are new mixtures
    of the *training* recordings (other draws than the training clips), so a model evaluated on it
    meets sounds it has heard in scenes it has not: what it learnt of its recordings, apart from
    what carries over to recordings it never heard (the ordinary test split).

    ``event_takes`` plays each *training* event as another take of its recording (`scapes.takes`):
    the same scenes and captions, the val and test splits byte-identical to the corpus without it.

    ``train_groups`` mixes the training clips from each class's that many largest source groups
    (`limit_groups`), the val and test splits unchanged: how grounding on unheard recordings grows
    with the number of distinct sources a class is learnt from.
    """
    sizes = preset_sizes(preset)
    if recordings_from is not None and recordings_from not in SPLITS:
        raise ConfigError(f"recordings_from must be one of {', '.join(SPLITS)}, not {recordings_from!r}")
    if train_groups is not None and train_groups < 1:
        raise ConfigError(f"train_groups must be at least 1, not {train_groups}")
    config = config or PRESET_MIX.get(preset, MixConfig())
    wrap = progress or (lambda it, **kw: it)
    out = Path(out)
    recover_folder(out)
    existing = _read_info(out)
    takes = asdict(event_takes) if event_takes is not None else None
    if existing and not force:
        if (existing.preset, existing.seed, existing.bank_hash, existing.recordings_from, existing.event_takes,
                existing.train_groups) == (preset, seed, bank.content_hash, recordings_from, takes, train_groups):
            return existing
        raise ConfigError(
            f"{out}: holds a different corpus (preset {existing.preset}, seed {existing.seed}"
            + (f", recordings from {existing.recordings_from}" if existing.recordings_from else "")
            + (f", training events as takes {existing.event_takes}" if existing.event_takes else "")
            + (f", {existing.train_groups} training source groups per class" if existing.train_groups else "") + "); "
            "choose another --out or pass --force"
        )
    if out.exists() and not existing and any(out.iterdir()):  # --force replaces a corpus, never anything else
        raise ConfigError(f"{out}: folder exists and is not a wstag corpus (no {COMPLETE_MARKER}); wstag replaces "
                          f"only a corpus it wrote, even with --force: choose another --out")
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    classes = bank.table.by_name()
    stats, digests = {}, []
    frequencies = load_frequencies(bank.table) if preset in AUDIOCAPS_PRESETS else None
    weights = frequencies.weights() if frequencies else None
    wordings = frequencies.caption_wordings() if frequencies else None
    def recordings(split: str) -> list[Recording]:
        recs = split_recordings(bank, recordings_from or split)
        return limit_groups(recs, train_groups) if split == "train" and train_groups else recs

    composers = {split: Composer(classes, recordings(split), config, weights) for split in SPLITS}
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(bank.root, composers, wordings)) as pool:
        for split in SPLITS:
            n = sizes[split]
            (tmp / split / "audio").mkdir(parents=True)
            jobs = [
                _Job(split, i, seed, str(tmp / split / "audio" / f"{split}_{i:05d}.flac"), config,
                     event_takes if split == "train" else None)
                for i in range(n)
            ]
            results = list(wrap(pool.map(_render_clip, jobs, chunksize=16), total=n, desc=f"building {split}"))
            clips = [clip for clip, _ in results]
            digests += [d for _, d in results]
            rows = [CaptionRow(audiocap_id=str(i), youtube_id=c.audio_id.rsplit(".", 1)[0], start_time=0.0, caption=c.caption)
                    for i, c in enumerate(clips)]
            clips = [replace(c, audiocap_id=str(i)) for i, c in enumerate(clips)]
            write_v2(clips, tmp / split / LABELS)
            write_captions_csv(rows, tmp / split / CAPTIONS)
            weak = captions_to_weak_clips(rows, audio_id_fn=lambda r: f"{r.youtube_id}.flac", skip_empty=True)
            write_v2([replace(w, duration=config.duration) for w in weak], tmp / split / WEAK)
            stats[split] = split_statistics(clips)
    h = hashlib.sha256()
    hash_label_files(h, tmp)
    h.update("".join(digests).encode())
    info = {
        "preset": preset, "seed": seed, "sizes": sizes, "bank_hash": bank.content_hash,
        "content_hash": h.hexdigest()[:16], "mix_config": asdict(config), "stats": stats,
        **({"recordings_from": recordings_from} if recordings_from else {}),
        **({"event_takes": takes} if takes else {}),
        **({"train_groups": train_groups} if train_groups else {}),
    }
    # held-out query wordings: outside the hash, they change no clip. The base table has them for
    # every class; the world preset's come from the val labels, else the shipped ones
    if frequencies is not None:
        info["frequencies"] = {"file": f"wstag/scapes/{DATA_FILE}", "floor": FLOOR, **frequencies.provenance}
        write_corpus_wordings(tmp, bank.table, held_out_wordings(bank.table, frequencies))
    elif bank.table.name == "base":
        write_corpus_wordings(tmp, bank.table)
    else:
        write_corpus_wordings(tmp, bank.table, missing_ok=True)
    finish_corpus(tmp, out, info)  # the old corpus is deleted only once the new one is in place
    return CorpusInfo(out, preset, seed, info["content_hash"], bank.content_hash, stats,
                      recordings_from=recordings_from, event_takes=takes, train_groups=train_groups)
