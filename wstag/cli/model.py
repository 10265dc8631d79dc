"""`wstag train` and `wstag evaluate`: thin commands over the training and evaluation code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from wstag.cli.common import handle_errors, log, progress, step


@handle_errors
def train(
    config: Path = typer.Argument(..., help="Experiment YAML (configs/*.yaml)."),
    data: Path = typer.Option(..., help="Corpus folder (from `wstag data build`)."),
    out: Path = typer.Option(..., help="Run folder: checkpoints, logs and the exported model/."),
    max_epochs: Optional[int] = typer.Option(None, help="Override training.max_epochs."),
    seed: Optional[int] = typer.Option(None, help="Override training.seed."),
    overrides: List[str] = typer.Argument(None, help="key=value overrides, e.g. training.lr=0.0005"),
) -> None:
    """Train a grounding model; resumes from OUT/checkpoints/last.ckpt if present."""
    from wstag.training.config import load_experiment
    from wstag.training.run import train as run_train

    extra = list(overrides or [])
    if max_epochs is not None:
        extra.append(f"training.max_epochs={max_epochs}")
    if seed is not None:
        extra.append(f"training.seed={seed}")
    cfg = load_experiment(config, extra)
    with step(f"train {cfg.name}"):
        result = run_train(cfg, data, out, progress=progress, log=log)
    typer.echo(f"model folder: {result.model_dir}")
    typer.echo(f"epochs {result.epochs}, best {result.monitor} {result.best_score}, {result.seconds:.0f} s, "
               f"data loading {100 * result.data_loading_share:.1f} % of training wall time")


def print_metrics(metrics: dict) -> None:
    from wstag.experiments.evaluate import METRIC_KEYS

    width = max(len(k) for k in METRIC_KEYS)
    for k in METRIC_KEYS:
        typer.echo(f"{k:<{width}}  {metrics[k]:5.1f}")
    typer.echo(f"{'pairs (whole/short)':<{width}}  {metrics['n_pairs_whole']}/{metrics['n_pairs_short']}")


@handle_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model folder (model.safetensors, config.json, vocab.json)."),
    data: Path = typer.Option(..., help="Corpus folder with strong labels."),
    split: str = typer.Option("test", help="Split to evaluate."),
) -> None:
    """PSDS and Th-AUC (whole and short) with the wrong-query and loudness controls; writes metrics.json."""
    from wstag.experiments.evaluate import evaluate_model

    with step("evaluate"):
        metrics = evaluate_model(model_dir, data, split, progress=progress)
    print_metrics(metrics)
    typer.echo(f"wrote {Path(model_dir) / 'metrics.json'}")


@handle_errors
def ground(
    model_dir: Path = typer.Argument(..., help="A model folder."),
    audio: Path = typer.Argument(..., help="Recording (wav, flac, ogg, mp3; any rate, any channels, any length)."),
    phrases: List[str] = typer.Argument(..., help="One or more phrases, e.g. 'a dog barks'."),
    threshold: float = typer.Option(0.5, help="Probability above which a frame is detected."),
    median: int = typer.Option(1, help="Median filter window in frames (1 = none)."),
    plot: Optional[Path] = typer.Option(None, help="Write a PNG with the spectrogram and each phrase's curve."),
) -> None:
    """Print onset/offset of each phrase as DCASE/Audacity-style TSV."""
    import warnings

    from wstag.inference.grounder import Grounder, to_tsv

    if not 0.0 <= threshold <= 1.0:
        raise typer.BadParameter(f"threshold must be in [0, 1], got {threshold}")
    grounder = Grounder(model_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = grounder.ground(audio, phrases, threshold=threshold, median_window=median)
    for w in caught:
        log(f"warning: {w.message}")
    typer.echo(to_tsv(results), nl=False)
    if plot is not None:
        from wstag.inference.plot import plot_grounding

        log(f"wrote {plot_grounding(audio, results, grounder.front_end, plot, threshold)}")


@handle_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Folder for the corpus, the run and the report."),
    cache: Optional[Path] = typer.Option(None, help="Sound bank cache folder."),
    seed: int = typer.Option(0, help="Training seed."),
    epochs: Optional[int] = typer.Option(None, help="Training epochs (default: the config's)."),
    minutes: Optional[float] = typer.Option(None, help="Cap training at this many minutes, in whole epochs "
                                                      "(default: none, so the figures do not depend on the machine)."),
) -> None:
    """The main job: fetch, build the small corpus, train the CPU model, evaluate, report."""
    import time

    from wstag.experiments.demo import run_demo

    start = time.perf_counter()
    result = run_demo(out, cache, seed, minutes, epochs, log=log, progress=progress)
    print_metrics(result.metrics)
    typer.echo(f"peak resident memory: {max(result.peak_rss_mb.values()):,.0f} MiB")
    typer.echo(f"report: {result.report}  (total {time.perf_counter() - start:.0f} s)")


@handle_errors
def table(
    rows: List[Path] = typer.Argument(..., help="Config files, one per row (e.g. configs/sentence_*.yaml)."),
    data: Path = typer.Option(..., help="Corpus folder."),
    out: Path = typer.Option(..., help="Folder for one run per row and table.md."),
    override: List[str] = typer.Option([], help="key=value applied to every row, e.g. model.preset=cpu"),
) -> None:
    """Train and evaluate several configs on one corpus; print and write a markdown table."""
    from wstag.data.atomic import atomic_open
    from wstag.experiments.tables import markdown_table, run_rows

    result = run_rows(rows, data, out, override, log=log, progress=progress)
    text = markdown_table(result)
    with atomic_open(Path(out) / "table.md") as fh:
        fh.write(text)
    typer.echo(text, nl=False)
