"""``netoutcomes.api.cif.cif``: paths, DataFrames and Arrow tables give R's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from netoutcomes.api.cif import cif
from netoutcomes.errors import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cif"
MGUS2 = json.loads((FIXTURES / "mgus2.json").read_text())


def _r_case(name: str) -> dict:
    return next(c for c in MGUS2["cases"] if c["name"] == name)


def _r(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@pytest.mark.parametrize("kind", ["path", "str", "pandas", "arrow"])
def test_every_input_kind_gives_r_numbers(kind: str) -> None:
    path = FIXTURES / "mgus2.csv"
    frame = pd.read_csv(path)
    data = {"path": path, "str": str(path), "pandas": frame, "arrow": pa.Table.from_pandas(frame)}
    result = cif(data[kind], time="time", status="status", by="sex", times=[60, 120])
    ref = _r_case("mgus2_by_sex")
    assert result.groups == ["sex=female", "sex=male"]
    assert result.causes == [1, 2]
    table = result.table
    for r_stratum in ref["strata"]:
        for r_cause in r_stratum["causes"]:
            cause = int(r_cause["cause"])
            rows = table[(table.group == r_stratum["label"]) & (table.cause == cause)]
            for key in ("time", "n_risk", "n_event", "cif", "std_err", "lower", "upper"):
                np.testing.assert_allclose(
                    rows[key].to_numpy(), _r(r_cause["table"][key]), atol=1e-12, rtol=0
                )
            at = result.at(ref["times"])
            at = at[(at.group == r_stratum["label"]) & (at.cause == cause)]
            for key in ("n_risk", "cif", "std_err", "lower", "upper"):
                np.testing.assert_allclose(
                    at[key].to_numpy(), _r(r_cause["at_times"][key]), atol=1e-12, rtol=0
                )
    gray = result.gray
    assert list(gray.cause) == [1, 2]
    np.testing.assert_allclose(gray.chisq, [g["chisq"] for g in ref["gray"]], rtol=1e-12)
    np.testing.assert_allclose(gray.p, [g["p"] for g in ref["gray"]], rtol=1e-10)


def test_to_dict_is_plain_json_with_the_requested_times() -> None:
    result = cif(FIXTURES / "handmade.csv", time="time", status="status", by="group", times=[2, 8])
    out = result.to_dict()
    text = json.dumps(out, allow_nan=False)  # no NaN: undefined values are null
    assert json.loads(text) == out
    first = out["strata"][0]["causes"][0]
    assert first["cause"] == 1 and [row["time"] for row in first["at_times"]] == [2.0, 8.0]
    assert set(first["table"]) == {"time", "n_risk", "n_event", "cif", "std_err", "lower", "upper"}
    assert [g["cause"] for g in out["gray"]] == [1, 2, 3]
    assert "Gray's test, cause 1" in repr(result)


def test_missing_values_are_dropped_and_counted() -> None:
    result = cif(FIXTURES / "pbc.csv", time="time", status="status", by="trt")
    assert result.n_dropped == 106  # trt is NA for the non-randomised patients
    assert sum(f.n for f in result.fits) == 312


def test_one_group_has_no_gray_test() -> None:
    result = cif(FIXTURES / "pbc.csv", time="time", status="status")
    assert result.groups == ["all"] and result.gray.empty


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"t": [1.0, 2.0], "s": [0, -1]}), "<DataFrame>: row 2, column 's': status"),
        (pd.DataFrame({"t": [1.0, -2.0], "s": [0, 1]}), "<DataFrame>: row 2, column 't': time -2"),
        (pd.DataFrame({"t": [1.0, 2.0], "s": ["0", "x"]}), "row 2, column 's': status 'x'"),
        (pd.DataFrame({"t": [1.0], "x": [1]}), "<DataFrame>: no column 's'"),
        (pd.DataFrame({"t": [1.0, np.inf], "s": [0, 1]}), "row 2, column 't': inf is not a finite"),
        (pd.DataFrame({"t": [1.0, 2.0], "s": [1.0, 1.5]}), "row 2, column 's': status 1.5 is not"),
    ],
)
def test_bad_frames_name_the_row(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        cif(frame, time="t", status="s")


def test_bad_arguments() -> None:
    frame = pd.DataFrame({"t": [1.0, 2.0], "s": [0, 1]})
    with pytest.raises(InputError, match="backend"):
        cif(frame, time="t", status="s", backend="oracle")
    with pytest.raises(InputError, match="conf_level"):
        cif(frame, time="t", status="s", conf_level=95)
    with pytest.raises(InputError, match="cannot read list"):
        cif([1, 2], time="t", status="s")
