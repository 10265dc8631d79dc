"""`wstag index build|info` and `wstag search`: collection search over a folder of recordings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from wstag.cli.common import handle_errors, log, progress

app = typer.Typer(help="Index a folder of recordings once, then search it with `wstag search`.",
                  no_args_is_help=True)

FORMATS = ("table", "tsv")


@app.command("build")
@handle_errors
def build(
    audio_dir: Path = typer.Argument(..., help="Folder of recordings (wav, flac, ogg, mp3; searched recursively)."),
    model: str = typer.Option(..., help="A model folder, or a shipped model's name (default): it encodes the "
                                        "recordings and later answers the searches."),
    out: Path = typer.Option(..., help="Index folder; an existing index is updated (unchanged files are skipped)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Encode every recording once (resumable); unreadable files are listed at the end."""
    from wstag.index.build import build_index

    report = build_index(audio_dir, model, out, device=device, progress=progress)  # unreadable files: listed below
    for file, error in report.failed:
        log(f"unreadable: {error if file in error else f'{file}: {error}'}")
    if report.silent:
        log(f"silent (indexed; every phrase scores low): {', '.join(report.silent)}")
    typer.echo(report.summary())


@app.command("info")
@handle_errors
def info(index: Path = typer.Argument(..., help="An index folder.")) -> None:
    """What an index holds: files, hours, model, shards, unreadable files."""
    from wstag.index.manifest import read_manifest

    m = read_manifest(index)
    typer.echo(f"audio folder  {m.audio_dir}")
    typer.echo(f"files         {len(m.files)} ({m.seconds / 3600:.2f} h, {m.n_frames} frames)")
    typer.echo(f"model         {m.model.dir} (id {m.model.id}, {m.model.embed_dim}-d)")
    typer.echo(f"shards        {len(m.shards)}: {', '.join(sorted(m.shards))}")
    typer.echo(f"unreadable    {len(m.failed)}")
    for f in m.failed.values():
        typer.echo(f"  {f.error}")


@handle_errors
def search(
    index: Path = typer.Argument(..., help="An index folder (from `wstag index build`)."),
    phrase: str = typer.Argument(..., help="What to find, e.g. 'a siren wails'."),
    top: int = typer.Option(20, help="How many moments to print, best first."),
    threshold: float = typer.Option(0.5, help="Probability in [0, 1] a frame must exceed to be part of a moment."),
    median: int = typer.Option(1, help="Median filter window in frames, odd (1 = none)."),
    fmt: str = typer.Option("table", "--format", help="table (aligned, ranked) or tsv (file, onset, offset, score)."),
    plot: Optional[Path] = typer.Option(None, help="Write a PNG with the top moments' probability curves."),
    model: Optional[str] = typer.Option(None, help="The model folder, if it moved since the index was built "
                                                   "(it must be the same model)."),
) -> None:
    """Ranked moments (file, onset, offset, score) where PHRASE sounds across an indexed collection."""
    import warnings

    from wstag.errors import ConfigError
    from wstag.inference.queries import check_median, check_threshold

    # Every option before anything loads: a typo costs nothing.
    if top < 1:
        raise ConfigError(f"--top must be a positive whole number, got {top}")
    check_threshold(threshold)
    check_median(median)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    from wstag.index.collection import Index
    from wstag.logs import quiet_terminal

    idx = Index.open(index, model=model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_terminal()
        moments = idx.search(phrase, top=top, threshold=threshold, median=median)
    for w in caught:
        log(f"warning: {w.message}")
    typer.echo(render(moments, fmt), nl=False)
    log(f"searched {idx.hours:.2f} h in {moments.n_files} files in {idx.last_search_seconds:.2f} s")
    if not moments and moments.best is not None:
        b = moments.best
        log(f"no moment above {threshold}; the highest frame scored {b.score:.3f} ({b.file} at {b.onset:.2f} s)")
    if plot is not None:
        from wstag.index.plot import plot_moments

        log(f"wrote {plot_moments(idx, moments, plot)}")


def render(moments, fmt: str) -> str:
    if fmt == "tsv":
        rows = ["file\tonset\toffset\tscore"]
        rows += [f"{m.file}\t{m.onset:.3f}\t{m.offset:.3f}\t{m.score:.4f}" for m in moments]
        return "\n".join(rows) + "\n"
    if not moments:
        return ""
    width = len(str(len(moments)))
    rows = [f"{'#':>{width}}  score   onset (s)  offset (s)  file"]
    rows += [f"{i:>{width}}  {m.score:.3f}  {m.onset:9.2f}  {m.offset:10.2f}  {m.file}"
             for i, m in enumerate(moments, start=1)]
    return "\n".join(rows) + "\n"
