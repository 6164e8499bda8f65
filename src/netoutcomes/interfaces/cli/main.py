"""The `netoutcomes` command. Thin: parses options, calls the layers below, renders.

Each command group lives in its own module and registers itself on ``app``;
no statistics and no SQL here.
"""

from __future__ import annotations

import sys

import typer

from netoutcomes import __version__
from netoutcomes.errors import InputError

app = typer.Typer(
    name="netoutcomes",
    help="Outcomes registry and survival analysis for neuroendocrine tumours.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stats_app = typer.Typer(
    help="Survival statistics on any CSV or Parquet file (no registry needed).",
    no_args_is_help=True,
)
app.add_typer(stats_app, name="stats")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def fail(message: str) -> None:
    """One clear line on stderr and exit code 2: what every bad input gets."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _register_commands() -> None:
    # Imported for their side effect of registering commands on the apps above.
    import importlib
    import pkgutil

    import netoutcomes.interfaces.cli as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


def main() -> None:
    _register_commands()
    try:
        app()
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
