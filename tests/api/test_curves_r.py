"""``no.survfit`` with R's stype/ctype, start.time and case weights, against R's survfit
on lung by sex (tests/fixtures/api/curves.R wrote curves.json): the curves, their SEs,
intervals and cumulative hazards, medians and quantiles with their intervals; and
``--stype``/``--ctype``/``--start-time``/``--weights``/``--quantiles`` give the API's JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import netoutcomes as no
from netoutcomes.interfaces.cli.main import _register_commands, app

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUNG = FIXTURES / "data" / "lung.csv"
LUNG_W = FIXTURES / "api" / "lung_weights.csv"  # w: 1, 1.5, 2, ...; wi: 2, 1, 2, ...
R = json.loads((FIXTURES / "api" / "curves.json").read_text())
PROBS = [0.25, 0.5, 0.75]
CASES: dict[str, tuple[Path, dict[str, Any]]] = {
    "stype2_ctype2": (LUNG, {"stype": "exp-hazard", "ctype": "fleming-harrington"}),
    "stype2_ctype1": (LUNG, {"stype": "exp-hazard", "ctype": "nelson-aalen"}),
    "stype1_ctype2": (LUNG, {"stype": "kaplan-meier", "ctype": "fleming-harrington"}),
    "start_100": (LUNG, {"start_time": 100.0}),
    "weights": (LUNG_W, {"weights": "w"}),  # R with robust = FALSE (see curves.R)
    "weights_integer": (LUNG_W, {"weights": "wi"}),
}


def _r(values: Any) -> np.ndarray:
    v = values if isinstance(values, list) else [values]
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def _close(got: Any, expected: Any, what: str) -> None:
    g = np.array([np.nan if x is None else x for x in got], dtype=float)
    np.testing.assert_allclose(g, _r(expected), rtol=1e-10, atol=1e-13, err_msg=what)


@pytest.mark.parametrize("case", list(CASES))
def test_survfit_matches_r(case: str) -> None:
    path, options = CASES[case]
    out = no.survfit(path, "time", "event", by="sex", **options).to_dict(quantile_probs=PROBS)
    assert [s["label"] for s in out["strata"]] == list(R[case])
    for s in out["strata"]:
        ref = R[case][s["label"]]
        table = s["table"]
        _close(table["time"], ref["time"], "time")
        _close(table["n_risk"], ref["n_risk"], "n_risk")
        _close(table["n_event"], ref["n_event"], "n_event")
        for ours, theirs in [
            ("surv", "surv"),
            ("std_err_cumhaz", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
            ("cumhaz", "cumhaz"),
            ("std_chaz", "std_chaz"),
        ]:
            _close(table[ours], ref[theirs], f"{s['label']} {ours}")
        for key in ("median", "median_lower", "median_upper"):
            _close([s[key]], ref[key], key)
        q = s["quantiles"]
        _close([x["time"] for x in q], ref["quantile_time"], "quantile time")
        _close([x["lower"] for x in q], ref["quantile_lower"], "quantile lower")
        _close([x["upper"] for x in q], ref["quantile_upper"], "quantile upper")


_OPTION = {"stype": "--stype", "ctype": "--ctype", "start_time": "--start-time"}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_prints_the_api_json(case: str) -> None:
    path, options = CASES[case]
    args = ["stats", "km", str(path), "--time", "time", "--event", "event", "--by", "sex"]
    for key, value in options.items():
        args += [_OPTION.get(key, f"--{key}"), str(value)]
    _register_commands()
    result = CliRunner().invoke(app, [*args, "--quantiles", "0.25,0.5,0.75", "--json"])
    assert result.exit_code == 0, result.output
    api = no.survfit(path, "time", "event", by="sex", **options).to_dict(quantile_probs=PROBS)
    assert result.stdout == json.dumps(api, allow_nan=False) + "\n"


def test_integer_weights_are_repeated_rows(tmp_path: Path) -> None:
    """A weight of 2 counts a row twice: survdiff and survfit on weighted rows equal the
    same on the rows written out twice (R's survdiff has no weights to compare with)."""
    import pandas as pd

    frame = pd.read_csv(LUNG).dropna(subset=["ph_ecog"])
    frame["w"] = 1 + (np.arange(len(frame)) % 2)
    repeated = frame.loc[frame.index.repeat(frame["w"])]
    weighted = no.survdiff(frame, "time", "event", by="ph_ecog", weights="w", rho=1.0)
    plain = no.survdiff(repeated, "time", "event", by="ph_ecog", rho=1.0)
    np.testing.assert_allclose(weighted.test.observed, plain.test.observed, rtol=1e-12)
    np.testing.assert_allclose(weighted.test.expected, plain.test.expected, rtol=1e-12)
    np.testing.assert_allclose(weighted.test.var, plain.test.var, rtol=1e-12)
    assert weighted.chisq == pytest.approx(plain.chisq, rel=1e-12)
    a = no.survfit(frame, "time", "event", weights="w").table
    b = no.survfit(repeated, "time", "event").table
    np.testing.assert_allclose(a.surv, b.surv, rtol=1e-12)
    np.testing.assert_allclose(a.n_risk, b.n_risk, rtol=1e-12)


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_km_plot_writes_the_figure(tmp_path: Path, suffix: str) -> None:
    """``stats km --plot FILE`` draws with netoutcomes.figures (the API's ``.plot``)."""
    out = tmp_path / f"km.{suffix}"
    _register_commands()
    args = ["stats", "km", str(LUNG), "--time", "time", "--event", "event", "--by", "sex"]
    result = CliRunner().invoke(app, [*args, "--plot", str(out), "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # --json stays one object
    head = out.read_bytes()[:8]
    assert {"png": head.startswith(b"\x89PNG"), "svg": b"<" in head, "pdf": head[:4] == b"%PDF"}[
        suffix
    ]


def test_plot_has_one_line_per_group_and_refuses_other_files(tmp_path: Path) -> None:
    fit = no.survfit(LUNG, "time", "event", by="sex")
    figure = fit.plot()
    curves = [line.get_label() for line in figure.axes[0].get_lines()]
    assert [c for c in curves if not c.startswith("_")] == ["sex=female", "sex=male"]
    with pytest.raises(no.InputError, match=r"plot: .*km.txt must end in \.png, \.svg or \.pdf"):
        fit.plot(tmp_path / "km.txt")
