"""`wstag train` and `wstag evaluate`: thin commands over the training and evaluation code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from wstag.cli.common import handle_errors, log, progress, step


@handle_errors
def train(
    config: Path = typer.Argument(..., help="Experiment YAML (configs/*.yaml), or a shipped config's name "
                                            "(e.g. phrase_random_cpu)."),
    data: Path = typer.Option(..., help="Corpus folder (from `wstag data build`)."),
    out: Path = typer.Option(..., help="Run folder: checkpoints, logs and the exported model/."),
    max_epochs: Optional[int] = typer.Option(None, help="Override training.max_epochs."),
    seed: Optional[int] = typer.Option(None, help="Override training.seed."),
    overrides: List[str] = typer.Argument(None, help="key=value overrides, e.g. training.lr=0.0005"),
) -> None:
    """Train a grounding model; resumes from OUT/checkpoints/last.ckpt if present."""
    from wstag.shipped import config_path
    from wstag.training.config import load_experiment
    from wstag.training.run import train as run_train

    extra = list(overrides or [])
    if max_epochs is not None:
        extra.append(f"training.max_epochs={max_epochs}")
    if seed is not None:
        extra.append(f"training.seed={seed}")
    cfg = load_experiment(config_path(config), extra)
    with step(f"train {cfg.name}"):
        result = run_train(cfg, data, out, progress=progress, log=log)
    typer.echo(f"model folder: {result.model_dir}")
    typer.echo(f"epochs {result.epochs}, best {result.monitor} {result.best_score}, {result.seconds:.0f} s, "
               f"data loading {100 * result.data_loading_share:.1f} % of training wall time")


def print_metrics(metrics: dict) -> None:
    from wstag.inference.evaluate import METRIC_KEYS

    width = max(len(k) for k in METRIC_KEYS)
    for k in METRIC_KEYS:
        typer.echo(f"{k:<{width}}  {metrics[k]:5.1f}")
    typer.echo(f"{'pairs (whole/short)':<{width}}  {metrics['n_pairs_whole']}/{metrics['n_pairs_short']}")
    if "psds_whole_unseen_wording" in metrics:  # `evaluate --wordings`
        from wstag.inference.wording_metrics import WORDING_KEYS

        refused, pairs = metrics["unseen_wording_refused_pairs"], metrics["unseen_wording_pairs"]
        typer.echo(f"text encoder: {metrics['text_encoder']}; the model refused the unseen wording of "
                   f"{refused} of {pairs} pairs" + (" (both figures are on the others)" if 0 < refused < pairs else ""))
        for k in WORDING_KEYS:
            if k in metrics:
                value = "    -" if metrics[k] is None else f"{metrics[k]:5.1f}"
                typer.echo(f"{k:<{max(map(len, WORDING_KEYS))}}  {value}")


@handle_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model folder (model.safetensors, config.json, vocab.json), "
                                               "or a shipped model's name (default)."),
    data: Path = typer.Option(..., help="Corpus folder with strong labels."),
    split: str = typer.Option("test", help="Split to evaluate."),
    wordings: bool = typer.Option(False, "--wordings", help="Also query every pair with a held-out wording of "
                                                            "its class (words no training caption uses): "
                                                            "PSDS whole with seen and unseen wordings."),
    wording_seed: int = typer.Option(0, help="Seed of the per-pair choice of unseen wording."),
) -> None:
    """PSDS and Th-AUC (whole and short) with the wrong-query and loudness controls; writes metrics.json."""
    from wstag.inference.evaluate import evaluate_model
    from wstag.shipped import is_shipped_name, resolve_model

    shipped = is_shipped_name(model_dir)  # its figures are on its card: nothing is written into the package
    folder = resolve_model(model_dir)
    with step("evaluate"):
        metrics = evaluate_model(folder, data, split, progress=progress, write_json=not shipped,
                                 wordings=wordings, wording_seed=wording_seed)
    print_metrics(metrics)
    typer.echo(f"shipped model {model_dir}: compare with {folder / 'MODEL_CARD.md'}" if shipped
               else f"wrote {folder / 'metrics.json'}")


@handle_errors
def ground(
    model_dir: Path = typer.Argument(..., help="A model folder, or a shipped model's name (default)."),
    audio: Path = typer.Argument(..., help="Recording (wav, flac, ogg, mp3; any rate, any channels, any length)."),
    phrases: List[str] = typer.Argument(..., help="One or more phrases, e.g. 'a dog barks'."),
    threshold: float = typer.Option(0.5, help="Probability in [0, 1] above which a frame is detected."),
    median: int = typer.Option(1, help="Median filter window in frames, odd (1 = none)."),
    fmt: str = typer.Option("tsv", "--format", help="tsv (DCASE-style, with a header), audacity (a label "
                                                    "track: File > Import > Labels) or json (with each "
                                                    "phrase's frame curve)."),
    plot: Optional[Path] = typer.Option(None, help="Write a PNG with the spectrogram and each phrase's curve."),
) -> None:
    """Print onset/offset of each phrase as TSV, an Audacity label track or JSON.

    A model hears only the sounds its training captions named: `wstag model sounds NAME` lists a shipped model's, with the wordings it was trained on (`--under Animal` for a family).
    """
    import warnings

    from wstag.errors import AudioError
    from wstag.inference.formats import check_format, render
    from wstag.inference.queries import check_median, check_threshold
    from wstag.logs import quiet_terminal

    # Every option before the model loads and the audio is read: a typo costs nothing.
    check_threshold(threshold)
    check_median(median)
    check_format(fmt)
    if not audio.exists():
        raise AudioError(f"{audio}: audio file not found")
    from wstag.inference.grounder import Grounder

    grounder = Grounder.load(model_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_terminal()  # the dependencies' chatter stays filtered ahead of "always"
        results = grounder.ground(audio, phrases, threshold=threshold, median=median)
    for w in caught:
        log(f"warning: {w.message}")
    typer.echo(render(results, fmt), nl=False)
    if plot is not None:
        from wstag.inference.plot import plot_grounding

        log(f"wrote {plot_grounding(audio, results, grounder.front_end, plot)}")


@handle_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="Folder for the corpus, the run and the report."),
    cache: Optional[Path] = typer.Option(None, help="Sound bank cache folder."),
    seed: int = typer.Option(0, help="Training seed."),
    epochs: Optional[int] = typer.Option(None, help="Training epochs (default: the config's)."),
    minutes: Optional[float] = typer.Option(None, help="Cap training at this many minutes, in whole epochs "
                                                      "(default: none, so the figures do not depend on the machine)."),
    self_supervision: bool = typer.Option(True, help="Train again with the first model as the self-supervision "
                                                     "teacher (paper Eq. 9-10): twice the training time."),
) -> None:
    """The main job: fetch, build the small corpus, train the CPU model (then its self-supervised student), evaluate, report."""
    import time

    from wstag.experiments.demo import run_demo

    start = time.perf_counter()
    result = run_demo(out, cache, seed, minutes, epochs, log=log, progress=progress,
                      self_supervision=self_supervision)
    print_metrics(result.metrics)
    typer.echo(f"peak resident memory: {max(result.peak_rss_mb.values()):,.0f} MiB")
    typer.echo(f"report: {result.report}  (total {time.perf_counter() - start:.0f} s)")


@handle_errors
def table(
    rows: List[Path] = typer.Argument(..., help="Config files, one per row (e.g. configs/sentence_*.yaml), "
                                                "or shipped configs' names."),
    data: Path = typer.Option(..., help="Corpus folder."),
    out: Path = typer.Option(..., help="Folder for one run per row and table.md."),
    override: List[str] = typer.Option([], help="key=value applied to every row, e.g. model.preset=cpu"),
) -> None:
    """Train and evaluate several configs on one corpus; print and write a markdown table."""
    from wstag.files import atomic_open
    from wstag.experiments.tables import markdown_table, run_rows
    from wstag.shipped import config_path

    result = run_rows([config_path(r) for r in rows], data, out, override, log=log, progress=progress)
    text = markdown_table(result)
    with atomic_open(Path(out) / "table.md") as fh:
        fh.write(text)
    typer.echo(text, nl=False)
