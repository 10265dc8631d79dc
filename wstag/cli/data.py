"""`wstag data ...`: fetch the sound bank, build corpora, convert label formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from wstag.cli.common import handle_errors, log, progress, step

app = typer.Typer(help="Sound bank, benchmark corpora and label formats.", no_args_is_help=True)


def _print_bank(bank) -> None:
    from collections import Counter

    by = Counter((r.class_name, r.split) for r in bank.recordings)
    classes = sorted({r.class_name for r in bank.recordings})
    typer.echo(f"sound bank ({bank.table.name} table): {len(bank.recordings)} recordings, {len(classes)} classes, "
               f"hash {bank.content_hash}")
    for split in ("train", "val", "test"):
        n = sum(v for (c, s), v in by.items() if s == split)
        typer.echo(f"  {split:5s}: {n} recordings")


@app.command()
@handle_errors
def fetch(
    cache: Optional[Path] = typer.Option(None, help="Cache folder (default $WSTAG_CACHE or ~/.cache/wstag)."),
    debs: Optional[Path] = typer.Option(None, help="Folder of already-downloaded .deb files (systems without apt)."),
    rebuild: bool = typer.Option(False, help="Decode the bank again even if it is up to date."),
    table: str = typer.Option("base", help="Class table: base (presets tiny/small/full) or world (preset world; "
                                           "fetches its extra packages, about 2.7 GB, 0 A.D.'s 1.4 GB among them)."),
) -> None:
    """Download the source packages, unpack them and decode the curated sound bank."""
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.pipeline import prepare_bank

    with step("fetch"):
        bank, fetched = prepare_bank(cache, debs, table=load_class_table(name=table), log=log, progress=progress,
                                     rebuild=rebuild)
    for f in fetched:
        typer.echo(f"  {f.name} {f.version}: {f.n_files} audio files{' (cached)' if f.reused else ''}")
    _print_bank(bank)


@app.command()
@handle_errors
def classes(
    table: str = typer.Option("base", help="Class table: base (presets tiny/small/full) or world."),
    under: Optional[str] = typer.Option(None, help="Only classes under this AudioSet label (name or id): "
                                                   "Animal, Vehicle, Music, Human voice, /m/0jbk ..."),
) -> None:
    """List a class table's sound classes with their AudioSet label and its parents."""
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.ontology import classes_under, path_text

    t = load_class_table(name=table)
    chosen = classes_under(t, under) if under else list(t.classes)
    for c in chosen:
        typer.echo(f"{c.name:22s} {c.audioset.id if c.audioset else '':12s} {path_text(c)}")
    typer.echo(f"{len(chosen)} of {len(t.classes)} classes ({table} table)")


@app.command()
@handle_errors
def build(
    preset: str = typer.Option("small", help="tiny | small | full | world (89 classes in AudioCaps' proportions, real wordings)"),
    out: Path = typer.Option(..., help="Output folder of the corpus."),
    seed: int = typer.Option(0, help="Seed: the same seed and bank give byte-identical output."),
    cache: Optional[Path] = typer.Option(None, help="Sound bank cache folder."),
    debs: Optional[Path] = typer.Option(None, help="Folder of .deb files (systems without apt)."),
    force: bool = typer.Option(False, help="Overwrite an existing corpus in --out."),
    recordings_from: Optional[str] = typer.Option(None, help="Diagnostic: mix every split from this split's "
                                                             "recordings (train: a test split of sounds the model "
                                                             "heard, in new scenes)."),
    event_takes: bool = typer.Option(False, help="Play each training event as another take of its recording: "
                                                 "up to 2 semitones faster or slower, 2 random 6 dB peaking "
                                                 "filters (val and test unchanged)."),
    train_groups: Optional[int] = typer.Option(None, min=1, help="Diagnostic: mix the training clips from each "
                                                                 "class's N largest source groups only (val and "
                                                                 "test unchanged)."),
) -> None:
    """Build a benchmark corpus of 10 s soundscapes with captions and exact segments."""
    from wstag.scapes.bank import SPLITS
    from wstag.scapes.build import build_corpus, preset_table
    from wstag.scapes.classtable import load_class_table
    from wstag.scapes.pipeline import prepare_bank
    from wstag.scapes.takes import TakeConfig

    table = load_class_table(name=preset_table(preset))  # fails early on an unknown preset
    if recordings_from is not None and recordings_from not in SPLITS:
        raise typer.BadParameter(f"--recordings-from {recordings_from!r}: choose one of {', '.join(SPLITS)}")
    check_out_folder(out)  # and on an --out that cannot be a folder, before fetching anything
    with step("fetch"):
        bank, _ = prepare_bank(cache, debs, table=table, log=log, progress=progress)
    with step(f"build {preset}"):
        info = build_corpus(bank, preset, out, seed=seed, progress=progress, force=force,
                            recordings_from=recordings_from, event_takes=TakeConfig() if event_takes else None,
                            train_groups=train_groups)
    print_corpus(info)


def check_out_folder(out: Path) -> None:
    """Refuse an --out that is a file, or lies under one, before fetching anything."""
    from wstag.files import check_output_folder

    check_output_folder(out)


def print_corpus(info) -> None:
    typer.echo(f"corpus {info.path} (preset {info.preset}, seed {info.seed}"
               + (f", every split mixed from the {info.recordings_from} recordings" if info.recordings_from else "")
               + (", training events as other takes" if info.event_takes else "")
               + (f", training clips from {info.train_groups} source groups per class" if info.train_groups else "")
               + f"){' reused' if info.reused else ''}")
    typer.echo(f"content hash {info.content_hash}  (sound bank {info.bank_hash})")
    keys = list(next(iter(info.stats.values())).keys())
    typer.echo("split  " + "  ".join(keys))
    for split, s in info.stats.items():
        typer.echo(f"{split:6s} " + "  ".join(str(s[k]) for k in keys))


@app.command("convert-v1")
@handle_errors
def convert_v1(src: Path, dst: Path) -> None:
    """Convert an AudioGrounding v1 label file to the v2 JSON form."""
    from wstag.data.audiogrounding import convert_v1_to_v2

    clips = convert_v1_to_v2(src, dst)
    typer.echo(f"wrote {dst} ({len(clips)} clips, {sum(len(c.phrases) for c in clips)} phrases)")


@app.command("weak-labels")
@handle_errors
def weak_labels(
    captions_csv: Path,
    out: Path,
    skip_empty: bool = typer.Option(False, help="Skip captions with no extractable phrase instead of failing."),
) -> None:
    """Turn an AudioCaps captions CSV into weak-label JSON with the phrase parser."""
    from wstag.data.weak_labels import write_weak_labels

    s = write_weak_labels(captions_csv, out, skip_empty=skip_empty)
    typer.echo(f"wrote {out}: {s.clips} clips, {s.phrases} phrases, {len(s.skipped)} captions skipped")


@app.command()
@handle_errors
def parse(caption: str) -> None:
    """Show the phrases the parser extracts from a caption."""
    from wstag.text.phrases import extract_phrases

    for p in extract_phrases(caption):
        typer.echo(json.dumps({"phrase": p.text, "start_index": p.start_index, "end_index": p.end_index}))


_NAMING_HELP = (
    "Audio files are found recursively under AUDIO_DIR by name, with the extension .wav, .flac, .ogg or .mp3: "
    "the label file's own name (AudioGrounding v1 <youtube_id>_<start>_<end>.wav, v2 Y<youtube_id>.wav), "
    "<audiocap_id> (audiocaps-download), [Y]<youtube_id>_<start>_<end> and [Y]<youtube_id>_<start> with the "
    "start in seconds (30, 30.0, 30.000) or milliseconds (30000), then Y<youtube_id> (AudioSet) and <youtube_id> "
    "(only for videos captioned at one start time). Files are linked, not re-encoded. Missing, unsupported "
    "(.m4a, .webm, ...), ambiguous and unreadable audio is counted in OUT/import_report.json and listed in "
    "OUT/missing.txt; more than --max-missing of a source stops the import."
)


def _print_import(res) -> None:
    typer.echo(f"corpus {res.path} (imported from {res.source}"
               + (f", seed {res.seed}" if res.seed is not None else "") + ")")
    typer.echo(f"content hash {res.content_hash}")
    cols = ("entries", "imported", "missing", "unsupported", "ambiguous", "unreadable")
    width = max(len(s) for s in res.counts) + 2
    typer.echo("source".ljust(width) + "  ".join(cols))
    for source, c in res.counts.items():
        typer.echo(source.ljust(width) + "  ".join(str(c[k]).rjust(len(k)) for k in cols))
    keys = ("clips", "audio_files", "hours", "weak_phrases", "strong_phrases", "short_share")
    typer.echo("split  " + "  ".join(keys))
    for split, s in res.stats.items():
        typer.echo(f"{split:6s} " + "  ".join(("-" if s[k] is None else str(s[k])).rjust(len(k)) for k in keys))
    problems = sum(c["entries"] - c["imported"] for c in res.counts.values())
    typer.echo(f"report {res.path / 'import_report.json'}; {problems} captions without readable audio "
               f"listed in {res.path / 'missing.txt'}")


@app.command("parser-agreement")
@handle_errors
def parser_agreement_cmd(
    files: List[Path] = typer.Argument(..., help="AudioGrounding v1 label files (human phrases)."),
    show: int = typer.Option(10, help="Disagreements to print per file."),
) -> None:
    """How closely the phrase parser reproduces the human phrases of AudioGrounding label files."""
    from wstag.data.audiogrounding import read_v1
    from wstag.data.parser_agreement import clip_agreement, disagreements

    for path in files:
        clips = read_v1(path)
        figures = clip_agreement(clips)
        typer.echo(f"{path}: {figures['clips']} captions, {figures['human_phrases']} human phrases; parser exact "
                   f"{100 * figures['exact_share']:.1f} %, containing {100 * figures['containing_share']:.1f} %, "
                   f"precision {100 * figures['precision']:.1f} %")
        for caption, human, parsed in disagreements(clips)[:show]:
            typer.echo(f"  {caption}\n    human: {human!r}  parser: {parsed}")


@app.command("import-audiocaps", short_help="Import downloaded AudioCaps (+ the AudioGrounding test set) as a corpus.",
             help="Import AudioCaps captions and downloaded audio as a corpus (paper V-A). "
             + _NAMING_HELP)
@handle_errors
def import_audiocaps_cmd(
    captions: Path = typer.Argument(..., help="Folder with the AudioCaps train.csv, val.csv, test.csv (or one CSV)."),
    audio_dir: Path = typer.Argument(..., help="Folder with the downloaded AudioCaps audio (searched recursively)."),
    out: Path = typer.Option(..., help="Output folder of the corpus."),
    grounding: Path = typer.Option(..., help="AudioGrounding test labels (v1 or v2 file, or a folder with test.json): "
                                             "the test split, its videos removed from train and val."),
    grounding_audio: Optional[Path] = typer.Option(None, help="Another folder to search for the test clips' audio."),
    val_size: int = typer.Option(1000, help="Captions held out for validation (whole videos; the paper: 1,000)."),
    seed: int = typer.Option(0, help="Seed of the train/validation re-split: same inputs and seed, identical labels."),
    max_missing: float = typer.Option(0.2, help="Stop if more than this share of a source has no readable audio."),
    copy: bool = typer.Option(False, "--copy", help="Hard-link the audio (a copy across file systems), not symlinks."),
    workers: int = typer.Option(0, help="Processes decoding the audio to check it (0: every core)."),
    force: bool = typer.Option(False, help="Overwrite an existing corpus in --out."),
) -> None:
    """Import AudioCaps with the AudioGrounding test set as the test split.

    The AudioCaps train, val and test captions are merged, every caption of a video in the
    AudioGrounding test set is removed, and the rest re-split into train and --val-size
    validation captions by whole videos (seeded). See wstag.data.importers.audio_files for the naming
    conventions matched.
    """
    from wstag.data.importers import import_audiocaps

    check_out_folder(out)
    with step("import"):
        res = import_audiocaps(captions, audio_dir, out, grounding, grounding_audio=grounding_audio,
                               val_size=val_size, seed=seed, max_missing=max_missing, copy=copy,
                               workers=workers, force=force, progress=progress, log=log)
    _print_import(res)


@app.command("import-audiogrounding", short_help="Import AudioGrounding (v1 or v2) and its audio as a corpus.",
             help="Import AudioGrounding labels (v1 or v2) and their audio as a corpus, "
             "keeping its train/val/test split and every segment. " + _NAMING_HELP)
@handle_errors
def import_audiogrounding_cmd(
    labels: Path = typer.Argument(..., help="Folder with the AudioGrounding train.json, val.json, test.json "
                                            "(each v1 or v2)."),
    audio_dir: Path = typer.Argument(..., help="Folder with the clips' audio (searched recursively)."),
    out: Path = typer.Option(..., help="Output folder of the corpus."),
    weak_phrases: str = typer.Option("parser", help="weak.json phrases: parser (as `data build`) or human "
                                                    "(the annotated phrases, segments removed)."),
    max_missing: float = typer.Option(0.2, help="Stop if more than this share of a split has no readable audio."),
    copy: bool = typer.Option(False, "--copy", help="Hard-link the audio (a copy across file systems), not symlinks."),
    workers: int = typer.Option(0, help="Processes decoding the audio to check it (0: every core)."),
    force: bool = typer.Option(False, help="Overwrite an existing corpus in --out."),
) -> None:
    """Import AudioGrounding with its own split; every split keeps its segments (SSTAG, evaluation)."""
    from wstag.data.importers import import_audiogrounding

    check_out_folder(out)
    with step("import"):
        res = import_audiogrounding(labels, audio_dir, out, weak_phrases=weak_phrases, max_missing=max_missing,
                                    copy=copy, workers=workers, force=force, progress=progress, log=log)
    _print_import(res)


@app.command()
@handle_errors
def pack(
    data: Path = typer.Argument(..., help="Corpus folder (from `wstag data build` or an import)."),
    config: Optional[Path] = typer.Option(None, help="Experiment YAML or shipped config name whose front end to "
                                                     "use (default: the paper's log-mel)."),
    splits: str = typer.Option("train,val,test", help="Comma-separated splits."),
    workers: int = typer.Option(0, help="Processes computing features (0: every core)."),
) -> None:
    """Pack the log-mel features of a corpus (what `wstag train` does first): every core, each
    recording once, resumable after a kill; unreadable audio is skipped and named."""
    from wstag.audio.frontend import DEFAULT_FRONT_END
    from wstag.data.packing import UNREADABLE_LIST, pack_corpus

    front_end = DEFAULT_FRONT_END
    if config is not None:
        from wstag.shipped import config_path
        from wstag.training.config import load_experiment

        front_end = load_experiment(config_path(config)).front_end
    with step("pack"):
        results = pack_corpus(data, [s.strip() for s in splits.split(",") if s.strip()], front_end=front_end,
                              workers=workers or None, progress=progress, log=log)
    for split, r in results.items():
        rate = f", {r.clips_per_second:.1f} clips/s" if r.computed else ""
        typer.echo(f"{split:6s} {r.path}: {r.computed} computed, {r.linked} linked to the same recording, "
                   f"{r.reused} already packed{rate}")
    for split, r in results.items():
        if r.unreadable:
            names = ", ".join(list(r.unreadable)[:20]) + (" ..." if len(r.unreadable) > 20 else "")
            typer.echo(f"{split}: {len(r.unreadable)} unreadable, skipped (all in "
                       f"{r.path.parent / UNREADABLE_LIST}): {names}")
