"""``no.survdiff``: the k-sample G(rho, q) tests, as R's ``survdiff``.

The engine counts (``engine.analysis.grouped_tables_on``), ``survival.logrank``
tests, and ``GroupComparison`` holds and shows the result (``.to_dict()`` is
``stats logrank --json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from netoutcomes.api import text
from netoutcomes.api.curves import _aligned, _frame, _grouped_tables
from netoutcomes.api.data import column_names
from netoutcomes.api.plain import plain
from netoutcomes.errors import InputError
from netoutcomes.survival.logrank import (
    LogRank,
    PairwiseComparison,
    TrendTest,
    logrank,
    logrank_trend,
    pairwise_logrank,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class GroupComparison:
    """A G(rho, q) test over groups, optionally stratified, with trend and pairs."""

    test: LogRank
    trend: TrendTest | None
    pairwise: tuple[PairwiseComparison, ...] | None
    n_dropped: int

    @property
    def chisq(self) -> float:
        return self.test.chisq

    @property
    def df(self) -> int:
        return self.test.df

    @property
    def p(self) -> float:
        return self.test.p

    def summary(self) -> pd.DataFrame:
        """One row per group: N, observed, expected, (O-E)^2/E, (O-E)^2/V (R's print)."""
        t = self.test
        rows = []
        for i, g in enumerate(t.groups):
            o, e, v = t.observed[i], t.expected[i], t.var[i, i]
            with np.errstate(divide="ignore", invalid="ignore"):
                rows.append(
                    {"group": g, "n": t.n[i], "observed": o, "expected": e}
                    | {"o_e2_e": (o - e) ** 2 / e, "o_e2_v": (o - e) ** 2 / v}
                )
        return _frame(rows, ["group", "n", "observed", "expected", "o_e2_e", "o_e2_v"])

    def pairs(self) -> pd.DataFrame:
        """Every pair of groups with Holm and Benjamini-Hochberg adjusted p-values."""
        columns = ["group_a", "group_b", "chisq", "p", "p_holm", "p_bh"]
        return _frame([pc.__dict__ for pc in self.pairwise or ()], columns)

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``netoutcomes stats logrank --json`` prints."""
        t = self.test
        out: dict[str, Any] = {
            "chisq": t.chisq,
            "df": t.df,
            "p": t.p,
            "groups": t.groups,
            "n": t.n,
            "observed": t.observed,
            "expected": t.expected,
            "var": t.var,
            "rho": t.rho,
            "q": t.q,
            "n_dropped": self.n_dropped,
        }
        if self.trend is not None:
            out["trend"] = {
                "scores": self.trend.scores,
                "z": self.trend.z,
                "chisq": self.trend.chisq,
                "p": self.trend.p,
            }
        if self.pairwise is not None:
            out["pairwise"] = [pc.__dict__ for pc in self.pairwise]
        return plain(out)  # type: ignore[no-any-return,unused-ignore]

    def __repr__(self) -> str:
        """As R prints a survdiff: the group table and the chi-square line."""
        s = self.summary()
        header = ["", "N", "Observed", "Expected", "(O-E)^2/E", "(O-E)^2/V"]
        rows = [
            [str(r.group), text.count(r.n), text.count(r.observed)]
            + [text.number(r.expected, 3), text.number(r.o_e2_e, 3), text.number(r.o_e2_v, 3)]
            for r in s.itertuples()
        ]
        t = self.test
        name = "Log-rank test" if t.rho == 0 and t.q == 0 else f"G(rho={t.rho:g}, q={t.q:g}) test"
        lines = [name, *_aligned([header, *rows]), ""]
        lines.append(
            f"Chisq = {text.number(t.chisq, 3)} on {t.df} degrees of freedom, {text.p_equals(t.p)}"
        )
        if self.trend is not None:
            lines.append(
                f"Trend: Chisq = {text.number(self.trend.chisq, 3)} on 1 degree of freedom, "
                f"{text.p_equals(self.trend.p)}"
            )
        return "\n".join(lines)


def survdiff(
    data: Any,
    time: str,
    event: str,
    by: str | Sequence[str],
    entry: str | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    rho: float = 0.0,
    q: float = 0.0,
    trend: bool = False,
    scores: Sequence[float] | None = None,
    pairwise: bool = False,
    backend: str | None = None,
    spark_master: str | None = None,
) -> GroupComparison:
    """The G(rho, q) test of equal survival over the groups of ``by`` (R's
    ``survdiff(Surv(time, event) ~ by + strata(strata), rho=)``; ``q`` the
    Fleming-Harrington weight ``S(t-)^rho (1 - S(t-))^q``).  ``trend``: also the
    test for trend over the groups in order (``scores``, default 1, 2, ...);
    ``pairwise``: every pair, with Holm and BH adjusted p-values."""
    by_columns = column_names("by", by)
    if not by_columns:
        raise InputError("by: name the column whose groups are compared")
    counted = _grouped_tables(
        data,
        time,
        event,
        entry,
        by_columns,
        column_names("strata", strata),
        weights,
        backend,
        spark_master,
    )
    tables = counted.tables
    if len(tables.groups) < 2:
        raise InputError(
            f"{_name(data)}column {','.join(by_columns)!r} has only one value "
            f"({tables.groups[0]}); the test compares two or more groups"
        )
    if scores is not None and len(scores) != len(tables.groups):
        raise InputError(
            f"scores: {len(scores)} scores for {len(tables.groups)} groups "
            f"({', '.join(tables.groups)})"
        )
    result = logrank(tables, rho=rho, q=q)
    trend_result = logrank_trend(tables, scores, rho=rho, q=q) if trend else None
    pairs = tuple(pairwise_logrank(tables, rho=rho, q=q)) if pairwise else None
    return GroupComparison(result, trend_result, pairs, counted.n_dropped)


def _name(data: Any) -> str:
    """``path: `` for a file, so the error names it as every reader error does."""
    import os

    return f"{data}: " if isinstance(data, str | os.PathLike) else ""
