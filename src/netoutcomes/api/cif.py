"""``netoutcomes.cif``: cumulative incidence with competing risks, and Gray's test.

As R's ``survfit(Surv(time, factor(status)) ~ by)`` (Aalen-Johansen, its default
infinitesimal-jackknife standard error and log interval) and ``cmprsk::cuminc``
(Gray's test per cause).  ``status`` is 0 for censored and 1..k for the cause.

The columns are read and typed by the engine's reader (``engine.source``: NA and
empty cells missing, numbers vs text, R's labels); the status column gets its own
check here (whole numbers >= 0), as the reader's event rules are for 0/1 events.
The statistics are ``survival.cif`` and ``survival.gray``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.engine.source import read_typed_columns, typed_columns
from netoutcomes.errors import InputError
from netoutcomes.survival.cif import (
    CauseAtTimes,
    CauseCurve,
    CompetingRisks,
    cif_at,
    cif_by_group,
)
from netoutcomes.survival.gray import GrayTest, gray_test
from netoutcomes.survival.groups import crossed_level_labels

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("duckdb", "spark", "memory")


def _plain(x: Any) -> Any:
    """JSON-ready: numpy to Python, NaN and infinities to None."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple | np.ndarray):
        return [_plain(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _curve_columns(curve: CauseCurve) -> dict[str, np.ndarray]:
    """A curve's rows as columns (R's time, n.risk, n.event, pstate, std.err, ...)."""
    return {
        "time": curve.time,
        "n_risk": curve.n_risk,
        "n_event": curve.n_event,
        "cif": curve.cif,
        "std_err": curve.std_err,
        "lower": curve.lower,
        "upper": curve.upper,
    }


def _at_columns(at: CauseAtTimes) -> dict[str, np.ndarray]:
    return {
        "time": at.time,
        "n_risk": at.n_risk,
        "cif": at.cif,
        "std_err": at.std_err,
        "lower": at.lower,
        "upper": at.upper,
    }


@dataclass(frozen=True)
class CumulativeIncidence:
    """Curves per group (R's strata order and labels), each with one curve per cause."""

    fits: tuple[CompetingRisks, ...]
    gray_tests: tuple[GrayTest, ...]  # empty with one group, or with delayed entry
    times: tuple[float, ...]  # the times ``to_dict()`` reports curves at
    conf_level: float
    n_dropped: int  # rows with a missing value in a used column
    gray_strata: tuple[str, ...] = ()

    @property
    def groups(self) -> list[str]:
        return [f.label for f in self.fits]

    @property
    def causes(self) -> list[int]:
        return [c.cause for c in self.fits[0].causes] if self.fits else []

    @property
    def table(self) -> pd.DataFrame:
        """Every row of every curve: group, cause, time, n_risk, n_event, cif, std_err,
        lower, upper (R's ``fit$time``, ``n.risk``, ``n.event``, ``pstate``, ...)."""
        import pandas as pd  # deferred: the CLI's --json path never needs pandas

        frames = [
            pd.DataFrame({"group": fit.label, "cause": curve.cause} | _curve_columns(curve))
            for fit in self.fits
            for curve in fit.causes
        ]
        return pd.concat(frames, ignore_index=True)

    def at(self, times: float | Sequence[float]) -> pd.DataFrame:
        """The curves at given times, as R's ``summary(fit, times=, extend=TRUE)``."""
        import pandas as pd

        wanted = _check_times([times] if isinstance(times, int | float) else list(times))
        rows = []
        for fit in self.fits:
            for curve in fit.causes:
                at = cif_at(curve, np.asarray(wanted, dtype=np.float64))
                rows.append(
                    pd.DataFrame({"group": fit.label, "cause": curve.cause} | _at_columns(at))
                )
        return pd.concat(rows, ignore_index=True)

    @property
    def gray(self) -> pd.DataFrame:
        """Gray's test per cause (``cmprsk::cuminc(...)$Tests``): cause, chisq, df, p."""
        import pandas as pd

        return pd.DataFrame(
            [{"cause": t.cause, "chisq": t.chisq, "df": t.df, "p": t.p} for t in self.gray_tests],
            columns=["cause", "chisq", "df", "p"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: exactly what ``netoutcomes stats cif --json`` prints."""
        strata = []
        for fit in self.fits:
            causes = []
            for curve in fit.causes:
                at = cif_at(curve, np.asarray(self.times, dtype=np.float64))
                causes.append(
                    {
                        "cause": curve.cause,
                        "events": curve.events,
                        "table": _curve_columns(curve),
                        "at_times": [
                            {k: v[i] for k, v in _at_columns(at).items()}
                            for i in range(at.time.size)
                        ],
                    }
                )
            strata.append({"label": fit.label, "n": fit.n, "causes": causes})
        return _plain(
            {
                "conf_type": "log",
                "conf_level": self.conf_level,
                "n_dropped": self.n_dropped,
                "causes": self.causes,
                "strata": strata,
                "gray": [
                    {"cause": t.cause, "chisq": t.chisq, "df": t.df, "p": t.p}
                    for t in self.gray_tests
                ],
                "gray_strata": list(self.gray_strata),
            }
        )

    def __repr__(self) -> str:
        lines = [f"Cumulative incidence (Aalen-Johansen), {len(self.fits)} group(s)"]
        for fit in self.fits:
            parts = ", ".join(f"cause {c.cause}: {c.events:g} events" for c in fit.causes)
            lines.append(f"  {fit.label}: n = {fit.n}; {parts}")
        for t in self.gray_tests:
            lines.append(
                f"  Gray's test, cause {t.cause}: chisq = {t.chisq:.4g} on {t.df} df, p = {t.p:.3g}"
            )
        return "\n".join(lines)


def _check_times(times: list[float]) -> list[float]:
    for t in times:
        if not isinstance(t, int | float) or not math.isfinite(t):
            raise InputError(f"times: {t!r} is not a finite number")
    return [float(t) for t in times]


def _names(option: str, value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise InputError(f"{option}: {value!r} has an empty column name")
    if len(set(names)) < len(names):
        raise InputError(f"{option}: {value!r} names a column twice")
    return [n.strip() for n in names]


def _read(data: Any, used: list[str], text_if_quoted: list[str]) -> tuple[Any, str, Any]:
    """(columns, frozenset of R doubles) read by engine.source; the name errors use; the
    noun for a row ("data row" in a file, after its header; "row" in a frame)."""
    if isinstance(data, str | os.PathLike):
        return read_typed_columns(Path(data), used, text_if_quoted), str(data), "data row"
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        import pyarrow as pa

        table = pa.Table.from_pandas(data, preserve_index=False)
        name = "<DataFrame>"
    elif module == "pyarrow" and hasattr(data, "column_names"):
        table, name = data, "<Table>"
    else:
        raise InputError(
            f"cannot read {type(data).__name__}: give a CSV or Parquet path, "
            "a pandas DataFrame or a pyarrow Table"
        )
    missing = [c for c in used if c not in table.column_names]
    if missing:
        raise InputError(
            f"{name}: no column {missing[0]!r}; the columns are: {', '.join(table.column_names)}"
        )
    if table.num_rows == 0:
        raise InputError(f"{name}: the table has no rows")
    raw = {c: table.column(c) for c in used}
    return typed_columns(Path(name), "parquet", raw, text_if_quoted), name, "row"


def _show(value: object) -> str:
    """A cell as the user typed it: numbers plain (2, 3.5), text quoted ('abc')."""
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value)


def _missing(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.float64:
        return np.isnan(values)
    return np.array([v is None for v in values], dtype=bool)


def _numbers(name: str, noun: str, column: str, values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The column as finite float64 where kept; an error naming the first bad row."""
    if values.dtype == np.float64:
        out = values.copy()  # the reader typed it numeric: only infinities can be bad
    else:
        out = np.full(values.size, np.nan)
        for i in np.flatnonzero(keep):
            try:
                out[i] = float(values[i])
            except (TypeError, ValueError):
                raise InputError(
                    f"{name}: {noun} {i + 1}, column {column!r}: {_show(values[i])} is not a number"
                ) from None
    bad = np.flatnonzero(keep & ~np.isfinite(out))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: {noun} {row + 1}, column {column!r}: {_show(values[row])} "
            "is not a finite number"
        )
    return out


def cif(
    data: Any,
    time: str,
    status: str,
    by: str | Sequence[str] | None = None,
    times: Sequence[float] | None = None,
    conf_level: float = 0.95,
    backend: str | None = None,
    entry: str | None = None,
    gray_strata: str | Sequence[str] | None = None,
) -> CumulativeIncidence:
    """Cumulative incidence per group and cause, and Gray's test between the groups.

    ``data``: a CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
    ``status``: 0 censored, 1..k the cause (whole numbers).  ``by``: one column, or
    several crossed (R's ``~ a + b``).  ``times``: where ``to_dict()`` reports the
    curves (``.at()`` takes any).  ``entry``: delayed entry (at risk on
    (entry, time]); Gray's test is then not computed (cmprsk has no delayed entry).
    ``gray_strata``: stratify Gray's test (cmprsk's ``strata``).  ``backend``: accepted
    for the API's uniformity; the columns are read in memory (engine.source) for now.
    Rows with a missing value in a used column are dropped (``n_dropped``).
    """
    if backend is not None and backend not in BACKENDS:
        raise InputError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if not 0.0 < conf_level < 1.0:
        raise InputError(f"conf_level: {conf_level:g} is not between 0 and 1 (e.g. 0.95)")
    landmarks = _check_times(list(times or []))
    by_names = _names("by", by)
    strata_names = _names("gray_strata", gray_strata)
    groups_and_strata = list(dict.fromkeys(by_names + strata_names))
    used = list(dict.fromkeys([time, status, *([entry] if entry else []), *groups_and_strata]))
    columns, name, noun = _read(data, used, groups_and_strata)
    values = columns.values
    missing = np.zeros(next(iter(values.values())).size, dtype=bool)
    for c in used:
        missing |= _missing(values[c])
    keep = ~missing
    if not keep.any():
        raise InputError(
            f"{name}: no rows left after dropping {int(missing.sum())} rows with a missing "
            f"value in columns {', '.join(used)}"
        )
    t = _numbers(name, noun, time, values[time], keep)
    negative = np.flatnonzero(keep & (t < 0))
    if negative.size:
        i = int(negative[0])
        raise InputError(f"{name}: {noun} {i + 1}, column {time!r}: time {t[i]:g} is negative")
    codes = _status_codes(name, noun, status, values[status], keep)
    start = None
    if entry:
        start = _numbers(name, noun, entry, values[entry], keep)
        bad = np.flatnonzero(keep & (start >= t))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"{name}: {noun} {i + 1}, column {entry!r}: entry {start[i]:g} is not before "
                f"the exit time {t[i]:g} in column {time!r}"
            )
        start = start[keep]
    t, codes = t[keep], codes[keep]
    group = [(c, values[c][keep]) for c in by_names] or None
    fits = cif_by_group(
        t, codes, group, entry=start, conf_level=conf_level, r_doubles=columns.written_as_double
    )
    tests: list[GrayTest] = []
    if len(fits) > 1 and entry is None and np.any(codes > 0):
        _, group_codes = crossed_level_labels(group, columns.written_as_double)
        strata_codes = None
        if strata_names:
            strata_cols = [(c, values[c][keep]) for c in strata_names]
            strata_codes = crossed_level_labels(strata_cols)[1]
        tests = gray_test(t, codes, group_codes, strata_codes)
    return CumulativeIncidence(
        fits=tuple(fits),
        gray_tests=tuple(tests),
        times=tuple(landmarks),
        conf_level=conf_level,
        n_dropped=int(missing.sum()),
        gray_strata=tuple(strata_names),
    )


def _status_codes(
    name: str, noun: str, column: str, values: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Whole numbers >= 0 (0 censored, 1..k the cause); else the first bad row named."""
    if values.dtype == np.float64:
        codes = values
    else:
        codes = np.full(values.size, np.nan)
        for i in np.flatnonzero(keep):
            try:
                codes[i] = float(values[i])
            except (TypeError, ValueError):
                codes[i] = np.nan
    with np.errstate(invalid="ignore"):
        good = np.isfinite(codes) & (codes >= 0) & (codes == np.floor(codes))
    bad = np.flatnonzero(keep & ~good)
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{name}: {noun} {row + 1}, column {column!r}: status {_show(values[row])} is not "
            "0 (censored) or a cause code 1, 2, ..."
        )
    return np.where(keep, codes, 0.0)
