"""`wstag model ship|list`: put a trained model inside the package, loadable by name, with its card."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from wstag.cli.common import handle_errors, log, progress, step

app = typer.Typer(help="The models shipped inside the package (`wstag ground default ...`).", no_args_is_help=True)

#: The README of a source checkout, whose shipped-model block `ship` refreshes.
SOURCE_README = Path(__file__).resolve().parents[2] / "README.md"


@app.command("ship")
@handle_errors
def ship(
    model_dir: Path = typer.Argument(..., help="The trained model folder to ship (e.g. runs/demo/run-seed0/model)."),
    data: Path = typer.Option(..., help="Corpus folder to measure it on (its corpus.json hash goes on the card)."),
    name: str = typer.Option("default", help="The name it loads by: Grounder.load(NAME), wstag ground NAME ..."),
    split: str = typer.Option("test", help="Split to evaluate."),
    also_data: Optional[list[Path]] = typer.Option(None, "--also-data", help="A further corpus to measure it on "
                                                   "(repeatable): its figures go on the card beside --data's."),
    into: Optional[Path] = typer.Option(None, help="Folder of shipped models (default: the package's "
                                                   "wstag/pretrained)."),
    readme: Optional[Path] = typer.Option(None, help="README whose block for NAME is refreshed (default: the "
                                                     "source checkout's README.md, when there is one)."),
) -> None:
    """Evaluate a model folder, copy it into the package as NAME (replacing it whole) and write its card."""
    from wstag.inference.evaluate import METRIC_KEYS
    from wstag.experiments.ship import check_name, evaluations, ship_model
    from wstag.shipped import PRETRAINED_DIR

    check_name(name)  # before minutes of evaluation
    with step(f"evaluate and ship as {name}"):
        result = ship_model(model_dir, data, name=name, split=split, into=into or PRETRAINED_DIR,
                            readme=readme or (SOURCE_README if SOURCE_README.is_file() else None),
                            progress=progress, also=also_data or ())
    for ev in evaluations(result.card):
        metrics = ev["metrics"]
        if result.card["also_evaluated"]:
            typer.echo(f"{ev['corpus_preset'] or 'corpus'} {ev['corpus_hash']}:")
        typer.echo("  ".join(f"{k} {metrics[k]:.1f}" for k in METRIC_KEYS))
        wording = [k for k in metrics if k not in METRIC_KEYS]  # an open-vocabulary model's unseen-wording figures
        if wording:
            typer.echo("  ".join(f"{k} {'-' if metrics[k] is None else format(metrics[k], '.1f')}" for k in wording)
                       + f"  refused {ev['unseen_wording_refused_pairs']} of {ev['unseen_wording_pairs']} pairs")
    if result.card["sounds"]:
        typer.echo(f"hears {len(result.card['sounds'])} sound classes (`wstag model sounds {name}`)")
    words = result.card["known_words"]
    typer.echo(f"shipped {result.folder} (card: card.json, MODEL_CARD.md; "
               + ("open vocabulary)" if words is None else f"{len(words)} known words)"))
    if readme is not None or SOURCE_README.is_file():
        log("README block refreshed" if result.readme_updated else
            f"README has no block for {name}: add the markers of wstag.experiments.ship.readme_markers('{name}')")


@app.command("list")
@handle_errors
def list_models() -> None:
    """The shipped models with their test figures."""
    from wstag.experiments.ship import read_card
    from wstag.shipped import PRETRAINED_DIR, shipped_models

    names = shipped_models()
    if not names:
        typer.echo("no shipped models")
    for name in names:
        card = read_card(PRETRAINED_DIR / name)
        m, t = card["evaluation"]["metrics"], card["training"]
        typer.echo(f"{name}  {t['experiment']} seed {t['seed']}, {t['epochs']} epochs; PSDS whole {m['psds_whole']:.1f}, "
                   f"short {m['psds_short']:.1f}; corpus {card['evaluation']['corpus_hash']}; "
                   + ("open vocabulary" if card["known_words"] is None else f"{len(card['known_words'])} words")
                   + (f", unseen wordings {m['psds_whole_unseen_wording']:.1f} ({m['unseen_to_seen_percent']:.1f} % "
                      "of seen)" if m.get("psds_whole_unseen_wording") is not None
                      and m.get("unseen_to_seen_percent") is not None else "")
                   + (f"; hears {len(card['sounds'])} sound classes" if card.get("sounds") else ""))
    if names:
        typer.echo("What a model can hear, with the wordings it was trained on: `wstag model sounds NAME`.")


@app.command("sounds")
@handle_errors
def sounds(
    name: str = typer.Argument(..., help="A shipped model's name (`wstag model list`)."),
    under: Optional[str] = typer.Option(None, help="Only the sounds under this AudioSet label (name or id): "
                                                   "Animal, Vehicle, Human voice, /m/0jbk ..."),
    wordings: int = typer.Option(5, min=0, help="Wordings shown per sound, most used first (card.json has all)."),
) -> None:
    """The sound classes a shipped model was trained to hear: AudioSet label, clips, wordings."""
    from wstag.errors import ConfigError
    from wstag.experiments.model_sounds import shown_wordings, sounds_under
    from wstag.experiments.ship import read_card
    from wstag.shipped import PRETRAINED_DIR, shipped_models

    names = shipped_models(PRETRAINED_DIR)
    if name not in names:
        raise ConfigError(f"no shipped model {name!r}; shipped: {', '.join(names) or 'none'}")
    card = read_card(PRETRAINED_DIR / name)
    if not card.get("sounds"):
        raise ConfigError(f"the card of {name!r} does not list its sounds (shipped before cards did, or measured "
                          "without its training corpus): re-ship it with `wstag model ship`")
    chosen = sounds_under(card["sounds"], under) if under else card["sounds"]
    for s in chosen:
        typer.echo(f"{s['name']:22s} {s['training_clips']:5d} clips  {s['audioset_path'] or '(no AudioSet label)'}")
        if wordings:
            typer.echo(f"{'':22s} {shown_wordings(s, wordings)}")
    typer.echo(f"{len(chosen)} of {len(card['sounds'])} sound classes (training corpus "
               f"{card['training']['corpus_hash']}" + (f", under {under}" if under else "") + ")")
