"""`analyze --format`: which report files are written; a bad format is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app

_register_commands()
runner = CliRunner()


def test_analyze_writes_the_formats_asked_for(demo_registry: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["analyze", str(demo_registry), "-p", "lu177-pnet", "--out", str(out)]
    result = runner.invoke(app, [*args, "--format", "html,docx"])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists() and (out / "report.docx").exists()
    assert not (out / "report.pdf").exists()
    assert "report.docx" in result.output.replace("\n", "")  # the console wraps long paths


def test_analyze_rejects_an_unknown_format(demo_registry: Path, tmp_path: Path) -> None:
    args = ["analyze", str(demo_registry), "-p", "mibg-net", "--out", str(tmp_path / "x")]
    result = runner.invoke(app, [*args, "--format", "html,xls"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "xls" in result.output
    assert not (tmp_path / "x").exists()  # nothing written
