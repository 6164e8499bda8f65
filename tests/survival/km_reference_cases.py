"""Helpers shared by the tests that check our numbers against R's (tests/fixtures/r)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netoutcomes.engine.source import SurvivalData, survival_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = FIXTURES / "data"


def load_reference(name: str) -> Any:
    """R's answers for one dataset (tests/fixtures/r/<name>.json)."""
    return json.loads((FIXTURES / "r" / f"{name}.json").read_text())


RTOL = 1e-6
ATOL = 1e-12  # only matters where R's value is exactly 0


def as_float(values: object) -> np.ndarray:
    """R's JSON values as floats; null (NA, NaN or Inf in R) becomes NaN."""
    if not isinstance(values, list):
        values = [values]
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def assert_close(ours: object, r_values: object, what: str) -> None:
    """Equal to R to 1e-6 relative; R's null must be non-finite on our side."""
    ref = as_float(r_values)
    got = np.atleast_1d(np.asarray(ours, dtype=np.float64))
    assert got.shape == ref.shape, f"{what}: {got.shape} values, R has {ref.shape}"
    missing = np.isnan(ref)
    assert np.all(~np.isfinite(got[missing])), f"{what}: R has null at {np.flatnonzero(missing)}"
    assert np.all(np.isfinite(got[~missing])), f"{what}: we have non-finite where R has a number"
    np.testing.assert_allclose(got[~missing], ref[~missing], rtol=RTOL, atol=ATOL, err_msg=what)


@dataclass(frozen=True)
class KmCase:
    dataset: str
    block: str
    time: str
    event: str
    entry: str | None
    by: str | None
    times: tuple[float, ...]
    tau: float
    reference: str | None = None  # the JSON file under fixtures/r, when not named as the data
    conf_level: float = 0.95

    def expected(self) -> Any:
        """R's block for this case."""
        return load_reference(self.reference or self.dataset)[self.block]

    def load(self) -> SurvivalData:
        extra = [self.by] if self.by else []
        return survival_data(DATA / f"{self.dataset}.csv", self.time, self.event, self.entry, extra)

    def cli_args(self) -> list[str]:
        args = [str(DATA / f"{self.dataset}.csv"), "--time", self.time, "--event", self.event]
        if self.entry:
            args += ["--entry", self.entry]
        if self.by:
            args += ["--by", self.by]
        args += ["--times", ",".join(f"{t:g}" for t in self.times), "--tau", f"{self.tau:g}"]
        args += ["--conf-level", f"{self.conf_level:g}"]
        return args


KM_CASES = [
    KmCase("lung", "km_by_sex", "time", "event", None, "sex", (180, 365, 730), 730),
    KmCase("lung", "km_all", "time", "event", None, None, (180, 365, 730), 730),
    KmCase("veteran", "km_by_celltype", "time", "event", None, "celltype", (30, 90, 180, 365), 365),
    KmCase("aml", "km_by_x", "time", "event", None, "x", (12, 24, 36), 48),
    KmCase(
        "heart", "km_lefttrunc_by_transplant", "stop", "event", "start", "transplant",
        (30, 365, 1000), 1000,
    ),
]  # fmt: skip


EDGE_KM_CASES = [
    KmCase("lung", "lung_by_sex_conf90", "time", "event", None, "sex", (100, 400), 500,
           "extra_survival", 0.9),
    KmCase("edge_all_censored", "edge_all_censored", "time", "event", None, None, (0, 2, 10), 3,
           "extra_survival"),
    KmCase("edge_one_subject", "edge_one_subject", "time", "event", None, None, (1, 5, 10), 5,
           "extra_survival"),
    KmCase("edge_time_zero", "edge_time_zero", "time", "event", None, None, (0, 0.5, 2, 3), 3,
           "extra_survival"),
    KmCase("edge_entry_ties", "edge_entry_ties", "stop", "event", "start", None, (1, 2, 3, 5), 6,
           "extra_survival"),
    KmCase("edge_near_ties", "edge_near_ties_km", "time", "event", None, "g", (1, 2, 5), 7,
           "extra_survival"),
    KmCase("edge_no_events", "edge_no_events_km", "time", "event", None, "g", (1, 3, 6), 6,
           "extra_survival"),
]  # fmt: skip


@dataclass(frozen=True)
class LogrankCase:
    dataset: str
    block: str
    by: str
    strata: str | None
    reference: str | None = None  # the JSON file under fixtures/r, when not named as the data

    def expected(self) -> Any:
        """R's block for this case (``rho_0``, ``rho_1``)."""
        return load_reference(self.reference or self.dataset)[self.block]


LOGRANK_CASES = [
    LogrankCase("lung", "logrank_by_sex", "sex", None),
    LogrankCase("veteran", "logrank_by_celltype", "celltype", None),
    LogrankCase("veteran", "logrank_trt_strata_celltype", "trt", "celltype"),
    LogrankCase("aml", "logrank_by_x", "x", None),
]

# fixtures/km_more.R: four more public datasets (CSV read back by R), r/km_more.json
MORE_KM_CASES = [
    KmCase("cox_more/ovarian", "ovarian_km_by_rx", "time", "event", None, "rx",
           (100, 365, 730), 1000, "km_more"),
    KmCase("cox_more/pbc", "pbc_km_by_stage", "time", "event", None, "stage",
           (365, 1825, 3650), 3650, "km_more"),
    KmCase("cox_more/pbc", "pbc_km_by_edema", "time", "event", None, "edema",
           (1000, 3000), 3000, "km_more"),
    KmCase("cox_more/colon", "colon_km_by_rx", "time", "event", None, "rx",
           (365, 1825), 2500, "km_more"),
    KmCase("cox_more/cgd", "cgd_km_lefttrunc_by_treat", "stop", "event", "start", "treat",
           (100, 200, 300), 300, "km_more"),
]  # fmt: skip
MORE_LOGRANK_CASES = [
    LogrankCase("cox_more/ovarian", "ovarian_logrank_by_resid", "resid", None, "km_more"),
    LogrankCase("cox_more/ovarian", "ovarian_logrank_rx_strata_ecog", "rx", "ecog", "km_more"),
    LogrankCase("cox_more/pbc", "pbc_logrank_by_stage", "stage", None, "km_more"),
    LogrankCase("cox_more/pbc", "pbc_logrank_trt_strata_edema", "trt", "edema", "km_more"),
    LogrankCase("cox_more/colon", "colon_logrank_rx_strata_sex", "rx", "sex", "km_more"),
]
