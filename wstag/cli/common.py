"""Shared CLI plumbing: one-line errors with exit code 2, progress bars, step timers."""

from __future__ import annotations

import functools
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

import typer
from tqdm import tqdm

from wstag.errors import WstagError

F = TypeVar("F", bound=Callable)


def handle_errors(fn: F) -> F:
    """Turn a WstagError into one line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WstagError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


def progress(iterable: Iterable, total: int | None = None, desc: str | None = None, **kw) -> Iterable:
    """A tqdm bar on stderr (off when stderr is not a terminal, as in CI logs)."""
    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True, disable=None, **kw)


def log(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print a one-line summary with the wall time when a step ends."""
    start = time.perf_counter()
    yield
    typer.echo(f"[{name}] done in {time.perf_counter() - start:.1f} s", err=True)
