"""The `wstag` command: a thin Typer layer over the library."""

from __future__ import annotations

import typer

from wstag.cli import data, experiments, index, model, shipping
from wstag.cli.serve import serve
from wstag.logs import quiet_terminal

app = typer.Typer(help="Weakly-supervised text-to-audio grounding.", no_args_is_help=True)


@app.callback()
def _entry() -> None:
    """Weakly-supervised text-to-audio grounding."""
    # Before any command imports Lightning or sed_scores_eval: some of the chatter is
    # printed at import time. Progress bars, figures and wstag's own warnings remain.
    quiet_terminal()

app.add_typer(data.app, name="data")
app.add_typer(experiments.app, name="experiments")
app.add_typer(index.app, name="index")
app.add_typer(shipping.app, name="model")
app.command()(model.train)
app.command()(model.evaluate)
app.command()(model.ground)
app.command()(model.demo)
app.command()(model.table)
app.command()(index.search)
app.command()(serve)


@app.command()
def version() -> None:
    """Print the version."""
    from wstag import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
