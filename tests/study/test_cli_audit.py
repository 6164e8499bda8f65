"""`screen` and `analyze` leave an audit entry naming who, which protocol (by SHA-256) and what."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.run import build_demo_registry

runner = CliRunner()
_register_commands()


def _entries(registry: Path) -> list[dict]:
    result = runner.invoke(app, ["audit", str(registry), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_screen_and_analyze_are_audited(tmp_path: Path) -> None:
    registry = build_demo_registry(tmp_path / "clinic.duckdb")
    before = len(_entries(registry))
    protocol = bundled_protocol_path("mibg-net")
    sha = hashlib.sha256(protocol.read_bytes()).hexdigest()

    screened = runner.invoke(
        app, ["screen", str(registry), "--protocol", "mibg-net", "--json", "--user", "ana"]
    )
    assert screened.exit_code == 0, screened.output
    verdicts = json.loads(screened.stdout)["verdicts"]
    entry = _entries(registry)[-1]
    assert entry["action"] == "screen"
    assert entry["who"].startswith("cli:ana (unauthenticated")
    details = json.loads(entry["new_values"])
    assert details["protocol_sha256"] == sha
    # The counts recorded are the screening's own, counted here from its JSON.
    assert details["patients"] == len(verdicts)
    assert details["eligible"] == sum(v["verdict"] == "eligible" for v in verdicts)

    out = tmp_path / "out"
    analysed = runner.invoke(
        app, ["analyze", str(registry), "--protocol", "mibg-net", "-o", str(out)]
    )
    assert analysed.exit_code == 0, analysed.output
    entries = _entries(registry)
    assert len(entries) > before + 1
    last = entries[-1]
    assert last["action"] == "analyze" and last["who"].startswith("os:")
    assert json.loads(last["new_values"])["out"] == str(out)
    assert runner.invoke(app, ["audit", str(registry), "--verify"]).exit_code == 0
