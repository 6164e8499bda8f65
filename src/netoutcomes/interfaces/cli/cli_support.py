"""What the `stats` commands share: option types, option parsing, JSON and CSV output,
the progress indicator.  No statistics (they are in ``netoutcomes.api``).

Kept free of numpy, pandas and Ibis at import time, so ``netoutcomes --help`` is fast.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from netoutcomes.api.data import check_conf_level as check_level
from netoutcomes.api.data import column_names
from netoutcomes.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


class BackendOption(StrEnum):
    """Where the file is read and counted (``engine.backends.BACKENDS``)."""

    duckdb = "duckdb"
    spark = "spark"
    memory = "memory"


BACKEND_HELP = "Where the file is read and counted: duckdb (default), spark or memory."
SPARK_MASTER_HELP = "Spark master URL for --backend spark (default local[*])."
WEIGHTS_HELP = "Case-weight column (R's weights=)."
CSV_HELP = "Also write the result's table(s) to this CSV file."


def echo_json(obj: dict[str, Any]) -> None:
    """One JSON object on stdout (``obj`` is already plain: an API ``to_dict()``)."""
    typer.echo(json.dumps(obj, allow_nan=False))


def parse_numbers(option: str, text: str | None) -> list[float] | None:
    """A comma-separated list of finite numbers (None when the option is absent)."""
    if text is None:
        return None
    out = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise InputError(f"{option}: {part.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{option}: {part.strip()!r} is not a finite number")
        out.append(value)
    return out


def column_list(option: str, text: str | None) -> list[str]:
    """``--by a`` or ``--by a,b`` (the combinations of a and b, as R's ``~ a + b``);
    the same for ``--strata``."""
    return [] if text is None else column_names(option, text.split(","), shown=text)


def check_conf_level(conf_level: float) -> None:
    check_level(conf_level, "--conf-level")


def write_csv(path: Path | None, frame: Callable[[], pd.DataFrame]) -> None:
    """``--csv FILE``: the table as CSV (numbers at full precision, NA empty).  ``frame``
    makes the table: only with ``--csv`` (a pandas frame, ~0.2 s of import for a
    command that would not otherwise load pandas)."""
    if path is None:
        return
    try:
        frame().to_csv(path, index=False, float_format="%.17g")
    except OSError as exc:
        raise InputError(f"--csv: cannot write {path}: {exc.strerror}") from None


def report_dropped(n_dropped: int) -> None:
    if n_dropped:
        rows = "row" if n_dropped == 1 else "rows"
        typer.echo(f"note: {n_dropped} {rows} dropped (missing value in a used column)", err=True)


@contextmanager
def progress(what: str, delay: float = 1.0) -> Iterator[None]:
    """A spinner on stderr if the work takes more than ``delay`` seconds (never on stdout,
    so ``--json`` stays one object; nothing when stderr is not a terminal)."""
    if not sys.stderr.isatty():  # Rich would draw nothing: not even imported (start-up)
        yield
        return
    from rich.console import Console

    console = Console(stderr=True)
    status = console.status(what, spinner="dots")
    started = threading.Event()

    def start() -> None:
        started.set()
        status.start()

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if started.is_set():
            status.stop()
