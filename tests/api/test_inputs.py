"""``data=`` as a path, a pandas DataFrame, a pyarrow Table, a polars DataFrame (when
installed) or an Ibis table: the same numbers; bad input raises one-line InputError."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import netoutcomes as no
from netoutcomes.errors import InputError

LUNG = Path(__file__).parent.parent / "fixtures" / "data" / "lung.csv"


def _pandas() -> Any:
    import pandas as pd

    # as R's read.csv: numbers as numbers, text as text, empty cells missing
    return pd.read_csv(LUNG)


def _arrow() -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(_pandas(), preserve_index=False)


def _polars() -> Any:
    pl = pytest.importorskip("polars")
    return pl.from_pandas(_pandas())


def _ibis() -> Any:
    import ibis

    return ibis.duckdb.connect().create_table("lung", _arrow())


INPUTS = {"pandas": _pandas, "arrow": _arrow, "polars": _polars, "ibis": _ibis}


def _same(a: Any, b: Any) -> None:
    """Equal JSON: the same keys, labels and counts; numbers equal to 1e-10 relative (an
    engine's aggregate sums may add in another order than the memory oracle)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-10, abs_tol=1e-13), (a, b)
    else:
        assert a == b


@pytest.mark.parametrize("kind", list(INPUTS))
def test_survfit_same_numbers(kind: str) -> None:
    data = INPUTS[kind]()
    ask = {"time": "time", "event": "event", "by": ["sex", "ph_ecog"]}
    _same(
        no.survfit(data, **ask).to_dict(times=[100.0, 365.0]),
        no.survfit(LUNG, **ask).to_dict(times=[100.0, 365.0]),
    )


@pytest.mark.parametrize("kind", list(INPUTS))
def test_survdiff_same_numbers(kind: str) -> None:
    data = INPUTS[kind]()
    ask = {"time": "time", "event": "event", "by": "ph_ecog", "strata": "sex"}
    _same(
        no.survdiff(data, **ask, pairwise=True).to_dict(),
        no.survdiff(LUNG, **ask, pairwise=True).to_dict(),
    )


@pytest.mark.parametrize("kind", list(INPUTS))
def test_coxph_same_numbers(kind: str) -> None:
    data = INPUTS[kind]()
    formula = "Surv(time, event) ~ age + sex + factor(ph_ecog) + cluster(inst)"
    _same(no.coxph(data, formula).to_dict(), no.coxph(LUNG, formula).to_dict())


def test_memory_backend_same_as_default() -> None:
    formula = "Surv(time, event) ~ age * sex + strata(ph_ecog)"
    _same(no.coxph(LUNG, formula, backend="memory").to_dict(), no.coxph(LUNG, formula).to_dict())


def test_bad_frame_value_names_row_and_column() -> None:
    frame = _pandas()
    frame.loc[4, "time"] = -3.0
    with pytest.raises(InputError) as err:
        no.survfit(frame, time="time", event="event")
    message = str(err.value)
    assert "\n" not in message
    assert "row 5" in message and "'time'" in message and "negative" in message


def test_bad_file_value_names_data_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("t,e,g\n1,1,a\n2,7,b\n")
    with pytest.raises(InputError) as err:
        no.survdiff(path, time="t", event="e", by="g")
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "data row 2" in message and "'e'" in message


def test_missing_column_is_one_line() -> None:
    with pytest.raises(InputError, match="nothere") as err:
        no.coxph(LUNG, time="time", event="event", covariates=["nothere"])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: no.survfit(LUNG, "time", "event", conf_level=1.5), "conf_level: 1.5"),
        (lambda: no.survfit(LUNG, "time", "event", conf_type="logit"), "conf_type: 'logit'"),
        (lambda: no.survfit(LUNG, "time", "event").quantile([1.5]), "quantiles: 1.5"),
        (lambda: no.survfit(LUNG, "time", "event").rmst(-5.0), "tau: -5"),
        (lambda: no.coxph(LUNG, time="time", event="event", covariates=["age"], ties="exact"),
         "ties: 'exact'"),
        (lambda: no.survdiff(LUNG, "time", "event", by="sex", scores=[1.0]), "scores: 1 scores"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_input_error(call: Any, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        call()


def test_nan_is_none_in_to_dict() -> None:
    fit = no.survfit(LUNG, "time", "event", by="ph_ecog")
    out = fit.to_dict()
    group3 = next(s for s in out["strata"] if s["label"] == "ph_ecog=3")
    assert group3["median_upper"] is None  # R: NA (one patient)
    assert math.isnan(fit.median().set_index("group").loc["ph_ecog=3", "upper"])


def test_negative_weight_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_text("t,e,w\n1,1,1\n2,0,-2\n3,1,1\n")
    for call in (
        lambda: no.survfit(path, "t", "e", weights="w"),
        lambda: no.coxph(path, "Surv(t, e) ~ w", weights="w"),
    ):
        with pytest.raises(InputError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and "data row 2" in message and "'w'" in message
