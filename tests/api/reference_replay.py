"""The R reference blocks, and one map from an analysis to both the API call and the CLI.

Shared by tests/test_reference_cli.py (the command line) and
tests/api/test_reference_api.py (``no.survfit`` / ``no.survdiff`` / ``no.coxph``).
A block made by gen.R's ``km_case`` / ``logrank_case`` / ``cox_case`` is read
into a *request*: the API's keyword arguments (``time``, ``event``, ``entry``,
``by``, ``strata``, ``covariates``, ``cluster``/``robust``, ``conf_type``,
``times``, ``tau``, ``rho``, ``ties``).  ``cli_args`` turns a request into the
command line through ``OPTIONS`` (the one key map); ``api_json`` calls the API
and returns ``.to_dict()``.  Both outputs are compared with R by the same
``check_*`` functions, to 1e-6 relative; R's nulls must be nulls.

Formula reading (gen.R deparses): ``Surv(start, stop, event)`` -> ``entry=start``;
``~ a + b`` -> ``by=[a, b]``; ``+ strata(b)`` -> ``strata=[b]``
(``strata(b, c)`` or ``strata(b) + strata(c)`` -> ``[b, c]``); cox: ``covariates``,
``cluster="id"`` when the data has an ``id`` column, else ``robust=True``, as gen.R
clusters.  gen.R's ``zph`` is null (``cox.zph`` cannot re-read the data inside
the helper; docs/cox.md), and is then not compared.

References walked: ``tests/fixtures/r/*.json`` with a ``dataset`` key (data in
``tests/fixtures/data``; aml, heart, lung and veteran are /work/shared/reference's),
``r/km_more.json`` and ``r/cox_more/*.json`` (data in ``data/cox_more``), and
``tests/fixtures/more/r/*.json`` (data in ``more/data``, made by
``tests/fixtures/more/public_more.R``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent.parent / "fixtures"
RTOL = 1e-6
CONF_TYPES = ("log", "log-log", "plain")
TIES = ("efron", "breslow")


@dataclass(frozen=True)
class Formula:
    """An R survival formula as gen.R deparses it: ``Surv(...) ~ terms + strata(s)``."""

    time: str
    event: str
    entry: str | None
    terms: list[str]
    strata: list[str]


def parse_formula(text: str | list[str]) -> Formula:
    if isinstance(text, list):  # deparse() splits long formulas into several strings
        text = " ".join(s.strip() for s in text)
    lhs, rhs = (s.strip() for s in text.split("~"))
    m = re.fullmatch(r"Surv\(([^)]*)\)", lhs)
    assert m, f"not a Surv() formula: {text}"
    surv = [a.strip() for a in m.group(1).split(",")]
    entry, time, event = surv if len(surv) == 3 else (None, *surv)
    terms: list[str] = []
    strata: list[str] = []
    for term in (t.strip() for t in rhs.split("+")):
        s = re.fullmatch(r"strata\(([\w., ]+)\)", term)  # strata(a) or strata(a, b)
        if s:
            strata += [c.strip() for c in s.group(1).split(",")]
        elif term != "1":
            terms.append(term)
    return Formula(time, event, entry, terms, strata)


@dataclass(frozen=True)
class Block:
    source: str  # json file, relative to tests/fixtures
    name: str  # block key in that file
    csv: Path

    def reference(self) -> dict[str, Any]:
        return load(self.source)[self.name]

    @property
    def id(self) -> str:
        return f"{self.source.removesuffix('.json')}:{self.name}"


@cache
def load(source: str) -> dict[str, Any]:
    return json.loads((FIXTURES / source).read_text())


def _blocks() -> list[Block]:
    blocks: list[Block] = []

    def add(source: str, name: str, csv_path: Path) -> None:
        kind = name.split("_")[0]
        if kind in {"km", "logrank", "cox"}:
            assert csv_path.is_file(), csv_path
            blocks.append(Block(source, name, csv_path))

    for folder in ("r", "more/r"):
        for path in sorted((FIXTURES / folder).glob("*.json")):
            data = json.loads(path.read_text())
            if "dataset" not in data:
                continue
            csv_path = path.parent.parent / "data" / f"{data['dataset']}.csv"
            for name in data:
                add(str(path.relative_to(FIXTURES)), name, csv_path)
    # km_more.R: blocks named <dataset>_<analysis>, data read back from data/cox_more
    for name in load("r/km_more.json"):
        dataset, analysis = name.split("_", 1)
        blocks.append(
            Block("r/km_more.json", name, FIXTURES / "data" / "cox_more" / f"{dataset}.csv")
        )
        assert analysis.split("_")[0] in {"km", "logrank"}
    for path in sorted((FIXTURES / "r" / "cox_more").glob("*.json")):
        csv_path = FIXTURES / "data" / "cox_more" / f"{path.stem}.csv"
        add(str(path.relative_to(FIXTURES)), "cox", csv_path)
    return blocks


BLOCKS = _blocks()


def kind_of(block: Block) -> str:
    return next(k for k in ("km", "logrank", "cox") if k in block.name.split("_"))


def _header(path: Path) -> list[str]:
    with path.open(newline="") as fh:
        return next(csv.reader(fh))


def _numbers(x: Any) -> np.ndarray:
    """R's (possibly unboxed) value as a float array, null -> NaN."""
    values = x if isinstance(x, list) else [x]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_numbers(got: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(
        _numbers(got), _numbers(expected), rtol=RTOL, atol=0, equal_nan=True, err_msg=what
    )


def _as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def _scalar(x: Any) -> Any:
    return x[0] if isinstance(x, list) else x


# ---------------------------------------------------------------- requests


def _common(block: Block, f: Formula) -> dict[str, Any]:
    return {"time": f.time, "event": f.event} | ({"entry": f.entry} if f.entry else {})


def km_request(block: Block, conf_type: str) -> dict[str, Any]:
    ref = block.reference()
    f = parse_formula(ref["formula"])
    assert not f.strata
    times = list(dict.fromkeys(float(row["time"]) for row in ref[f"at_times_{conf_type}"]))
    tau = float(_scalar(next(iter(ref[f"summary_{conf_type}"].values()))["rmean_tau"]))
    request = _common(block, f) | ({"by": f.terms} if f.terms else {})
    return request | {"conf_type": conf_type, "times": times, "tau": tau}


def logrank_request(block: Block, rho: str) -> dict[str, Any]:
    f = parse_formula(block.reference()["formula"])
    request = _common(block, f) | {"by": f.terms, "rho": float(rho)}
    return request | ({"strata": f.strata} if f.strata else {})


def cox_request(block: Block, ties: str) -> dict[str, Any]:
    f = parse_formula(block.reference()["formula"])
    request = _common(block, f) | {"covariates": f.terms, "ties": ties}
    request |= {"strata": f.strata} if f.strata else {}
    # gen.R clusters the robust SE on `id` when the data has one, else on the row
    cluster_on_id = "id" in _header(block.csv)
    if block.source.startswith("r/cox_more/"):  # cox_more.R's own rule: id for pbc and cgd
        cluster_on_id = block.csv.stem in {"pbc", "cgd"}
    return request | ({"cluster": "id"} if cluster_on_id else {"robust": True})


REQUESTS = {"km": km_request, "logrank": logrank_request, "cox": cox_request}

# The one key map: API keyword -> CLI option (lists comma-joined, True a flag).
OPTIONS = {
    "time": "--time",
    "event": "--event",
    "entry": "--entry",
    "by": "--by",
    "strata": "--strata",
    "covariates": "--covariates",
    "cluster": "--cluster",
    "robust": "--robust",
    "conf_type": "--conf-type",
    "times": "--times",
    "tau": "--tau",
    "rho": "--rho",
    "ties": "--ties",
    "backend": "--backend",
}


def cli_args(kind: str, csv_path: Path, request: dict[str, Any]) -> list[str]:
    """``stats <kind> FILE ...`` for ``request``."""
    args = [kind, str(csv_path)]
    for key, value in request.items():
        option = OPTIONS[key]
        if value is True:
            args.append(option)
        elif isinstance(value, list):
            args += [option, ",".join(repr(v) if isinstance(v, float) else v for v in value)]
        else:
            args += [option, repr(value) if isinstance(value, float) else str(value)]
    return args


def api_json(kind: str, csv_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    """The API's ``.to_dict()`` for ``request``."""
    import netoutcomes as no

    kwargs = dict(request)
    if kind == "km":
        times, tau = kwargs.pop("times"), kwargs.pop("tau")
        return no.survfit(csv_path, **kwargs).to_dict(times=times, tau=tau)
    if kind == "logrank":
        return no.survdiff(csv_path, **kwargs).to_dict()
    return no.coxph(csv_path, **kwargs).to_dict()


# ---------------------------------------------------------------- checks against R


def check_km(out: dict[str, Any], block: Block, conf_type: str) -> None:
    ref = block.reference()
    r_curves = ref[f"km_{conf_type}"]
    r_at = ref[f"at_times_{conf_type}"]
    r_summary = ref[f"summary_{conf_type}"]
    assert [s["label"] for s in out["strata"]] == list(r_curves)
    for s in out["strata"]:
        label = s["label"]
        for key, values in r_curves[label].items():
            assert_numbers(s["table"][key], values, f"{label} {key}")
        rows = [r for r in r_at if r["stratum"] == label]
        for key in ("time", "n_risk", "surv", "std_err", "lower", "upper"):
            got = [a[key] for a in s["at_times"]]
            assert_numbers(got, [r.get(key) for r in rows], f"{label} at_times {key}")
        summary = r_summary[label]
        for ours, theirs in [
            ("n", "n"),
            ("events", "events"),
            ("median", "median"),
            ("median_lower", "median_lower"),
            ("median_upper", "median_upper"),
            ("rmst", "rmean"),
            ("rmst_se", "rmean_se"),
            ("rmst_tau", "rmean_tau"),
        ]:
            assert_numbers(s[ours], summary.get(theirs), f"{label} {ours}")


def check_logrank(out: dict[str, Any], block: Block, rho: str) -> None:
    r = block.reference()[f"rho_{rho}"]
    assert out["groups"] == _as_list(r["groups"])
    for key in ("chisq", "df", "p", "n", "observed", "expected"):
        assert_numbers(out[key], r[key], key)
    assert_numbers(np.ravel(out["var"]).tolist(), np.ravel(r["var"]).tolist(), "var")


def check_cox(out: dict[str, Any], block: Block, ties: str) -> None:
    r = block.reference()[ties]
    assert out["terms"] == _as_list(r["terms"])
    for key in (
        "coef", "se", "robust_se", "hr", "hr_lower", "hr_upper", "p", "loglik_null",
        "loglik", "lrt", "wald", "score", "n", "nevent", "concordance",
    ):  # fmt: skip
        assert_numbers(out[key], r[key], key)
    if r["zph"] is None:
        return
    assert out["zph"] is not None
    assert out["zph"]["terms"] == _as_list(r["zph"]["terms"])
    for key in ("chisq", "df", "p"):
        assert_numbers(out["zph"][key], r["zph"][key], f"zph {key}")


CHECKS = {"km": check_km, "logrank": check_logrank, "cox": check_cox}
VARIANTS = {"km": CONF_TYPES, "logrank": ("0", "1"), "cox": TIES}


def assert_same_json(a: Any, b: Any, rtol: float = 0.0) -> None:
    """``a == b`` as JSON: the same keys in the same order, labels and integers equal;
    floats equal to ``rtol`` relative (0: bit for bit)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (list(a), b)
        for k in a:
            assert_same_json(a[k], b[k], rtol)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            assert_same_json(x, y, rtol)
    elif isinstance(a, float) and isinstance(b, float) and rtol > 0:
        assert abs(a - b) <= rtol * max(abs(a), abs(b)) or a == b, (a, b)
    else:
        assert a == b, (a, b)
