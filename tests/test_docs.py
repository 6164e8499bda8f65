"""Fails when a CLI command or option is not documented in docs/cli.md (as datasette does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from netoutcomes.interfaces.cli.main import _register_commands, app

DOCS = Path(__file__).parent.parent / "docs" / "cli.md"


def _walk(cmd: Any, prefix: str) -> list[tuple[str, Any]]:
    # Typer vendors click; a group is whatever has sub-commands.
    found = [(prefix, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _walk(sub, f"{prefix} {name}")
    return found


def _leaf_commands() -> list[tuple[str, Any]]:
    _register_commands()
    root = typer.main.get_command(app)
    return [(path, cmd) for path, cmd in _walk(root, "netoutcomes") if not hasattr(cmd, "commands")]


def _section(text: str, path: str) -> str:
    """The part of docs/cli.md under the heading that names this command."""
    heading = f"## `{path}"
    if heading not in text:
        return ""
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def test_the_walk_finds_the_known_commands() -> None:
    paths = {path for path, _ in _leaf_commands()}
    assert {"netoutcomes stats km", "netoutcomes stats logrank", "netoutcomes stats cox"} <= paths
    assert {"netoutcomes demo", "netoutcomes import", "netoutcomes synth"} <= paths


def test_every_command_has_a_section() -> None:
    text = DOCS.read_text()
    missing = [path for path, _ in _leaf_commands() if not _section(text, path)]
    assert not missing, f"commands without a '## `command`' section in docs/cli.md: {missing}"


def test_every_option_is_documented_in_its_section() -> None:
    text = DOCS.read_text()
    missing = []
    for path, cmd in _leaf_commands():
        section = _section(text, path)
        for param in cmd.params:
            if param.param_type_name != "option":
                continue
            longest = max(param.opts, key=len)
            if longest != "--help" and f"`{longest}" not in section:
                missing.append(f"{path} {longest}")
    assert not missing, f"options missing from docs/cli.md: {missing}"


def test_no_documented_command_is_gone() -> None:
    text = DOCS.read_text()
    known = {path for path, _ in _leaf_commands()}
    documented = set()
    for line in text.splitlines():
        if line.startswith("## `netoutcomes"):
            # The command is the lower-case words; FILE, REGISTRY, ... are its arguments.
            words = line[len("## `") :].split("`")[0].split()
            documented.add(" ".join(w for w in words if w.islower()))
    stale = sorted(d for d in documented if d not in known)
    assert not stale, f"docs/cli.md documents commands that do not exist: {stale}"
