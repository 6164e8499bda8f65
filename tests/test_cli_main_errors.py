"""What the CLI's main() prints when a command fails outside our checks."""

from __future__ import annotations

import pytest

from netoutcomes.interfaces.cli import main as cli_main


def _raising(exc: BaseException):
    def app() -> None:
        raise exc

    return app


def test_a_failed_spark_job_is_one_line(monkeypatch, capsys) -> None:
    # What py4j raises when the JVM runs out of heap (its module is what main() looks at).
    java_error = type("Py4JJavaError", (Exception,), {"__module__": "py4j.protocol"})
    monkeypatch.setattr(cli_main, "app", _raising(java_error("An error occurred\njava.lang...")))
    with pytest.raises(SystemExit) as stop:
        cli_main.main()
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err == "error: the Spark job failed: An error occurred\n"


def test_any_other_failure_keeps_its_traceback(monkeypatch) -> None:
    monkeypatch.setattr(cli_main, "app", _raising(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError):
        cli_main.main()
