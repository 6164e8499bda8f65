"""The `netoutcomes` command. Thin: parses options, calls the layers below, renders.

Each command group lives in its own module and registers itself on ``app``;
no statistics and no SQL here.

Start-up: the command modules import the registry, the study and the API (numpy,
scipy, Ibis, matplotlib: about 2 s).  So they are imported only when their
command runs: ``LAZY_COMMANDS`` says which module registers which command and
its one-line help, for ``--help`` to list them without importing anything
(tests/test_docs.py checks the table against the real commands).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer
from typer.core import TyperCommand, TyperGroup

from netoutcomes import __version__
from netoutcomes.errors import InputError

if TYPE_CHECKING:  # Typer vendors click; its types, for annotations only
    from typer._click import Command, Context, HelpFormatter

# group ("" the top level, "stats") -> command -> (module under interfaces.cli, short help)
LAZY_COMMANDS: dict[str, dict[str, tuple[str, str]]] = {
    "": {
        "init": ("cmd_registry", "Create an empty registry (a DuckDB file)."),
        "template": ("cmd_registry", "Write one empty CSV per table plus the data dictionary."),
        "import": ("cmd_registry", "Import clinic CSV folders, .xlsx workbooks or REDCap exports."),
        "export": ("cmd_registry", "Write every table as CSV, in full or de-identified."),
        "audit": ("cmd_registry", "Show the append-only audit log of a registry."),
        "screen": ("cmd_study", "Screen every patient of a registry against a protocol."),
        "analyze": ("cmd_study", "Run a protocol's analysis: results, tables, figures, report."),
        "demo": ("cmd_study", "Screen and analyse the bundled SYNTHETIC cohort, end to end."),
        "synth": ("cmd_synth", "Write a seeded SYNTHETIC registry (no real patient) as Parquet."),
        "serve": ("cmd_serve", "Serve the web app over a registry."),
        "user": ("cmd_users", "Users of the web app: names, roles, passwords."),
        "redcap": ("cmd_registry", "REDCap: a project dictionary matching the registry."),
    },
    "stats": {
        "km": ("cmd_stats_survival", "Kaplan-Meier curves, medians, RMST (as R's survfit)."),
        "logrank": ("cmd_stats_survival", "k-sample log-rank / G(rho, q) test (as R's survdiff)."),
        "cox": ("cmd_stats_cox", "Cox proportional hazards (as R's coxph), cox.zph, concordance."),
        "cif": ("cmd_stats_cif", "Cumulative incidence with competing risks, Gray's test."),
    },
}


class LazyGroup(TyperGroup):
    """A command group whose commands' modules are imported on first use.

    While ``--help`` is formatted, a command not yet imported is listed from
    ``LAZY_COMMANDS`` (a placeholder with its one-line help); any other use imports
    its module and returns the real command.
    """

    _formatting_help = False

    def _group(self) -> str:
        return "" if self.name in (None, "netoutcomes", "main") else str(self.name)

    def _lazy(self) -> dict[str, tuple[str, str]]:
        return LAZY_COMMANDS.get(self._group(), {})

    def list_commands(self, ctx: Context) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *self._lazy()]))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        if self._formatting_help and cmd_name in self._lazy():
            short_help = self._lazy()[cmd_name][1]
            return TyperCommand(cmd_name, short_help=short_help, help=short_help)
        # Import the command's module (every module if the table does not know the name:
        # a command added without its line in LAZY_COMMANDS still runs), then take the
        # real command from the rebuilt tree.
        if cmd_name in self._lazy():
            import importlib

            importlib.import_module(f"netoutcomes.interfaces.cli.{self._lazy()[cmd_name][0]}")
        else:
            _register_commands()
        # From the root: a Typer app with one command builds to that command, not a group.
        tree = typer.main.get_command(app)
        if self._group():
            tree = getattr(tree, "commands", {})[self._group()]
        command = getattr(tree, "commands", {}).get(cmd_name)
        if command is not None:
            self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._formatting_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._formatting_help = False


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


app = typer.Typer(
    name="netoutcomes",
    help="Outcomes registry and survival analysis for neuroendocrine tumours.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)
stats_app = typer.Typer(
    help="Survival statistics on any CSV or Parquet file (no registry needed).",
    no_args_is_help=True,
    cls=LazyGroup,
)
app.add_typer(stats_app, name="stats")


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Outcomes registry and survival analysis for neuroendocrine tumours."""


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def fail(message: str) -> None:
    """One clear line on stderr and exit code 2: what every bad input gets."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _register_commands() -> None:
    """Import every command module now (tests and docs walk the full command tree)."""
    import importlib
    import pkgutil

    import netoutcomes.interfaces.cli as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("cmd_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


def main() -> None:
    try:
        app()
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        # A failed Spark job (py4j/pyspark errors: out of memory, the JVM gone) gets one
        # line, not a Java stack trace; anything else is a bug and keeps its traceback.
        if type(exc).__module__.split(".")[0] not in ("py4j", "pyspark"):
            raise
        typer.echo(f"error: the Spark job failed: {_first_line(exc)}", err=True)
        sys.exit(1)


def _first_line(exc: BaseException) -> str:
    try:
        text = str(exc).strip()
    except Exception:  # py4j's str() can itself fail once the JVM is gone
        text = ""
    return text.splitlines()[0][:300] if text else type(exc).__name__


def command_modules() -> dict[str, str]:
    """``group command`` -> module, from ``LAZY_COMMANDS`` (for the test of the table)."""
    return {
        f"{group} {name}".strip(): module
        for group, commands in LAZY_COMMANDS.items()
        for name, (module, _) in commands.items()
    }
