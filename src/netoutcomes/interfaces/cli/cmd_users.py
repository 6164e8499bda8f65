"""`netoutcomes user add|list|disable|enable|reset-password`: the registry's web users.

Only typer at module level: the registry and argon2 are imported inside the
commands so that `netoutcomes --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from netoutcomes.interfaces.cli.main import app

user_app = typer.Typer(
    help="Users of the web app: names, roles (admin, data_manager, analyst, viewer), passwords.",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")

_ROLE_HELP = "admin (users), data_manager (enter, edit, import), analyst (screen, analyse, "
_ROLE_HELP += "de-identified export) or viewer (reports and aggregate results only)."


def _who() -> str:
    """The audit's name for a CLI change: the OS login (``os:alice``), as every command
    records it; netoutcomes itself authenticated nobody."""
    from netoutcomes.registry.audit import cli_who

    return cli_who(None)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def add_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    name: str = typer.Argument(..., help="User name (lower case, 2-32 characters)."),
    role: str = typer.Option(..., "--role", help=_ROLE_HELP),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add a user (the password is asked for twice, or read from stdin)."""
    from netoutcomes.registry.users import add_user, check_name, check_role

    check_name(name)
    check_role(role)
    add_user(registry, name, role, _password(password_stdin), by=_who())
    typer.echo(f"added {name} ({role})")


@user_app.command("list")
def list_command(registry: Path = typer.Argument(..., help="Registry file (DuckDB).")) -> None:
    """List the users, their roles and whether they are disabled or locked."""
    import datetime as dt

    from netoutcomes.registry.users import list_users

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for user in list_users(registry):
        state = "disabled" if user.disabled else "locked" if user.locked(now) else "active"
        typer.echo(f"{user.name}\t{user.role.value}\t{state}")


@user_app.command("disable")
def disable_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    name: str = typer.Argument(..., help="User name."),
) -> None:
    """Disable a user: no more logins, and open sessions end at their next request."""
    from netoutcomes.registry.users import set_disabled

    set_disabled(registry, name, True, by=_who())
    typer.echo(f"disabled {name}")


@user_app.command("enable")
def enable_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    name: str = typer.Argument(..., help="User name."),
) -> None:
    """Enable a disabled user again."""
    from netoutcomes.registry.users import set_disabled

    set_disabled(registry, name, False, by=_who())
    typer.echo(f"enabled {name}")


@user_app.command("reset-password")
def reset_password_command(
    registry: Path = typer.Argument(..., help="Registry file (DuckDB)."),
    name: str = typer.Argument(..., help="User name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Set a new password (also lifts a lock-out)."""
    from netoutcomes.registry.users import reset_password

    reset_password(registry, name, _password(password_stdin), by=_who())
    typer.echo(f"password of {name} reset")
