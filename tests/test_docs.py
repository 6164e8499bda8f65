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


def test_lazy_command_table_is_the_command_tree() -> None:
    """``--help`` lists commands from main.LAZY_COMMANDS without importing them: the
    table must name every real command, in the module that registers it."""
    from netoutcomes.interfaces.cli.main import LAZY_COMMANDS

    root = typer.main.get_command(app)
    _register_commands()
    root = typer.main.get_command(app)
    for group, table in LAZY_COMMANDS.items():
        real = root if not group else root.commands[group]  # type: ignore[attr-defined]
        names = set(real.commands) - {"version", "stats"}
        assert names == set(table), f"{group or 'netoutcomes'}: {sorted(names ^ set(table))}"
        for name, (module, _) in table.items():
            callback = real.commands[name].callback
            if callback is not None:  # a group (user) has none of its own module's
                assert callback.__module__.endswith(f".{module}"), (name, module)


def test_help_imports_no_heavy_module() -> None:
    """``netoutcomes --help`` must not import numpy, scipy, pandas, Ibis or matplotlib
    (their import is what made it take 1.8 s)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.argv = ['netoutcomes', '--help']\n"
        "from netoutcomes.interfaces.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'scipy', 'pandas', 'ibis', 'matplotlib', 'duckdb')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout[-300:] + out.stderr[-300:]


def test_version_option() -> None:
    from typer.testing import CliRunner

    from netoutcomes import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__
