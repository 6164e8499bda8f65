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
    csv: Path

    def zph_reference(self, ties: str) -> dict:
        """R's cox.zph table: from the block, or (gen.R wrote null: cox.zph could not
        re-read the data inside its helper) from r/cox_extra.json, same models."""
        own = self.reference[ties].get("zph")
        if own is not None:
            return own
        extra = json.loads((FIXTURES / "r" / "cox_extra.json").read_text())
        return extra[f"zph_{ties}"][ZPH_NAMES[self.block]]

    def cli_args(self, ties: str) -> list[str]:
        args = [str(self.csv), "--time", self.time, "--event", self.event]
        if self.entry:
            args += ["--entry", self.entry]
        args += ["--covariates", ",".join(self.covariates), "--ties", ties]
        if self.strata:
            args += ["--strata", self.strata]
        args += ["--cluster", self.cluster] if self.cluster else ["--robust"]
        return args + ["--json"]


ZPH_NAMES = {
    "cox_age_sex_ecog": "lung",
    "cox_trt_karno_celltype": "veteran",
    "cox_trt_karno_strata_celltype": "veteran_strata",
    "cox_x": "aml",
    "cox_counting": "heart",
}


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


def _case(dataset: str, block: str, value: dict, csv: Path) -> CoxCase:
    formula = value["formula"]  # R's deparse may split a long formula over several strings
    surv, covariates, strata = parse_formula(" ".join(np.atleast_1d(formula)))
    has_id = '"id"' in csv.read_text().splitlines()[0].split(",")
    return CoxCase(
        dataset=dataset,
        block=block,
        time=surv[-2],
        event=surv[-1],
        entry=surv[0] if len(surv) == 3 else None,
        covariates=covariates,
        strata=strata,
        cluster="id" if has_id else None,
        reference=value,
        csv=csv,
    )


def cox_cases() -> list[CoxCase]:
    """The gen.R blocks (r/<dataset>.json) and r/cox_more/*.json (made by cox_more.R)."""
    cases = []
    for path in sorted((FIXTURES / "r").glob("*.json")):
        csv = FIXTURES / "data" / f"{path.stem}.csv"
        if not csv.is_file():  # extra reference files (cox_extra.json) hold no gen.R blocks
            continue
        for block, value in json.loads(path.read_text()).items():
            if block.startswith("cox_") and "efron" in value:
                cases.append(_case(path.stem, block, value, csv))
    for path in sorted((FIXTURES / "r" / "cox_more").glob("*.json")):
        csv = FIXTURES / "data" / "cox_more" / f"{path.stem}.csv"
        cases.append(_case(path.stem, "cox", json.loads(path.read_text())["cox"], csv))
    return cases


def as_array(value: object) -> np.ndarray:
    """R's jsonlite writes a length-1 vector as a scalar; null as NaN."""
    arr = np.atleast_1d(np.array(value, dtype=object))
    return np.array([np.nan if v is None else v for v in arr], dtype=float)
