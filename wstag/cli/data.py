"""`wstag data ...`: fetch the sound bank, build corpora, convert label formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from wstag.cli.common import handle_errors, log, progress, step

app = typer.Typer(help="Sound bank, benchmark corpora and label formats.", no_args_is_help=True)


def _print_bank(bank) -> None:
    from collections import Counter

    by = Counter((r.class_name, r.split) for r in bank.recordings)
    classes = sorted({r.class_name for r in bank.recordings})
    typer.echo(f"sound bank: {len(bank.recordings)} recordings, {len(classes)} classes, hash {bank.content_hash}")
    for split in ("train", "val", "test"):
        n = sum(v for (c, s), v in by.items() if s == split)
        typer.echo(f"  {split:5s}: {n} recordings")


@app.command()
@handle_errors
def fetch(
    cache: Optional[Path] = typer.Option(None, help="Cache folder (default $WSTAG_CACHE or ~/.cache/wstag)."),
    debs: Optional[Path] = typer.Option(None, help="Folder of already-downloaded .deb files (systems without apt)."),
    rebuild: bool = typer.Option(False, help="Decode the bank again even if it is up to date."),
) -> None:
    """Download the source packages, unpack them and decode the curated sound bank."""
    from wstag.scapes.pipeline import prepare_bank

    with step("fetch"):
        bank, fetched = prepare_bank(cache, debs, log=log, progress=progress, rebuild=rebuild)
    for f in fetched:
        typer.echo(f"  {f.name} {f.version}: {f.n_files} audio files{' (cached)' if f.reused else ''}")
    _print_bank(bank)


@app.command()
@handle_errors
def build(
    preset: str = typer.Option("small", help="tiny | small | full"),
    out: Path = typer.Option(..., help="Output folder of the corpus."),
    seed: int = typer.Option(0, help="Seed: the same seed and bank give byte-identical output."),
    cache: Optional[Path] = typer.Option(None, help="Sound bank cache folder."),
    debs: Optional[Path] = typer.Option(None, help="Folder of .deb files (systems without apt)."),
    force: bool = typer.Option(False, help="Overwrite an existing corpus in --out."),
) -> None:
    """Build a benchmark corpus of 10 s soundscapes with captions and exact segments."""
    from wstag.scapes.build import build_corpus, preset_sizes
    from wstag.scapes.pipeline import prepare_bank

    preset_sizes(preset)  # fail early on an unknown preset
    check_out_folder(out)  # and on an --out that cannot be a folder, before fetching anything
    with step("fetch"):
        bank, _ = prepare_bank(cache, debs, log=log, progress=progress)
    with step(f"build {preset}"):
        info = build_corpus(bank, preset, out, seed=seed, progress=progress, force=force)
    print_corpus(info)


def check_out_folder(out: Path) -> None:
    """Refuse an --out that is a file, or lies under one: building would end in a traceback
    after minutes of fetching, and --force must never delete a user's file."""
    from wstag.errors import ConfigError

    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: --out is a file, not a folder; choose another --out")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"{out}: cannot make the corpus folder there, {parent} is a file; choose another --out")


def print_corpus(info) -> None:
    typer.echo(f"corpus {info.path} (preset {info.preset}, seed {info.seed}){' reused' if info.reused else ''}")
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
