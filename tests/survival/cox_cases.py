"""The `cox_*` blocks of the R fixtures, read from their formulas (shared by the Cox tests)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent.parent / "fixtures"


@dataclass(frozen=True)
class CoxCase:
    dataset: str
    block: str
    time: str
    event: str
    entry: str | None
    covariates: list[str]
    strata: str | None
    cluster: str | None  # gen.R clusters robust_se on `id` when the data has it, else the row
    reference: dict

    @property
    def csv(self) -> Path:
        return FIXTURES / "data" / f"{self.dataset}.csv"

    def cli_args(self, ties: str) -> list[str]:
        args = [str(self.csv), "--time", self.time, "--event", self.event]
        if self.entry:
            args += ["--entry", self.entry]
        args += ["--covariates", ",".join(self.covariates), "--ties", ties]
        if self.strata:
            args += ["--strata", self.strata]
        args += ["--cluster", self.cluster] if self.cluster else ["--robust"]
        return args + ["--json"]


def parse_formula(formula: str) -> tuple[list[str], list[str], str | None]:
    """`Surv(a, b[, c]) ~ x + y + strata(z)` -> (surv args, covariates, strata)."""
    lhs, rhs = formula.split("~")
    surv = [s.strip() for s in re.search(r"Surv\((.*)\)", lhs).group(1).split(",")]  # type: ignore[union-attr]
    covariates, strata = [], None
    for term in (t.strip() for t in rhs.split("+")):
        m = re.fullmatch(r"strata\((\w+)\)", term)
        if m:
            strata = m.group(1)
        else:
            covariates.append(term)
    return surv, covariates, strata


def cox_cases() -> list[CoxCase]:
    cases = []
    for path in sorted((FIXTURES / "r").glob("*.json")):
        csv = FIXTURES / "data" / f"{path.stem}.csv"
        if not csv.is_file():  # extra reference files (cox_extra.json) hold no gen.R blocks
            continue
        ref = json.loads(path.read_text())
        header = csv.read_text().splitlines()[0]
        has_id = '"id"' in header.split(",")
        for block, value in ref.items():
            if not block.startswith("cox_") or "efron" not in value:
                continue
            surv, covariates, strata = parse_formula(value["formula"])
            entry = surv[0] if len(surv) == 3 else None
            cases.append(
                CoxCase(
                    dataset=path.stem,
                    block=block,
                    time=surv[-2],
                    event=surv[-1],
                    entry=entry,
                    covariates=covariates,
                    strata=strata,
                    cluster="id" if has_id else None,
                    reference=value,
                )
            )
    return cases


def as_array(value: object) -> np.ndarray:
    """R's jsonlite writes a length-1 vector as a scalar; null as NaN."""
    arr = np.atleast_1d(np.array(value, dtype=object))
    return np.array([np.nan if v is None else v for v in arr], dtype=float)
