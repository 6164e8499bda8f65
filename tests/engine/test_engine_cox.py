"""``cox_on`` on each backend equals the memory oracle: weights, missing rows, event
codes, bad values (the same one-line error), times tied within rounding error, frames."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engine_reference import FIXTURES
from test_engine_cox_blocks import assert_same_fit

from netoutcomes.engine.analysis import cox_on
from netoutcomes.errors import InputError
from netoutcomes.survival.model_spec import CoxSpec, DesignColumn

LUNG_COLUMNS = (
    DesignColumn("age", "age", (("age", None),)),
    DesignColumn("sexmale", "sex", (("sex", "male"),)),
    DesignColumn("ph_ecog", "ph_ecog", (("ph_ecog", None),)),
    DesignColumn("sexmale:age", "sex:age", (("sex", "male"), ("age", None))),
)


def _engine(backend: str) -> list[str]:
    return [backend] if backend != "memory" else []


def _lung_with(tmp_path: Path, **extra: Any) -> Path:
    rows = list(csv.DictReader((FIXTURES / "data" / "lung.csv").open()))
    path = tmp_path / "lung_x.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], *extra])
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({**row, **{k: f(i, row) for k, f in extra.items()}})
    return path


@pytest.mark.parametrize("variance", ["model", "robust", "cluster"])
def test_weights_interaction_and_missing_rows_equal_memory(
    backend: str, spark_if_needed: Any, tmp_path: Path, variance: str
) -> None:
    # lung with case weights 1, 2, 3 repeating (lung has a missing ph_ecog row), an
    # interaction sex:age, and clusters of 4 rows.
    path = _lung_with(tmp_path, w=lambda i, r: 1 + i % 3, grp=lambda i, r: f"c{i // 4}")
    spec = CoxSpec("time", "event", LUNG_COLUMNS, weights="w", robust=variance == "robust",
                   cluster="grp" if variance == "cluster" else None)  # fmt: skip
    got = cox_on(path, spec, backend=backend)  # type: ignore[arg-type]
    want = cox_on(path, spec, backend="memory")
    assert_same_fit(got, want)
    assert got.n_dropped == 1 and (got.fit.robust_se is None) == (variance == "model")


def test_events_coded_1_2_and_text_true_false_as_memory(backend: str, spark_if_needed: Any,
                                                        tmp_path: Path) -> None:  # fmt: skip
    coded = _lung_with(tmp_path, status12=lambda i, r: int(r["event"]) + 1,
                       dead=lambda i, r: "TRUE" if r["event"] == "1" else "FALSE")  # fmt: skip
    base = CoxSpec("time", "event", LUNG_COLUMNS[:3])
    want = cox_on(FIXTURES / "data" / "lung.csv", base, backend="memory")
    for event in ("status12", "dead"):
        got = cox_on(coded, replace(base, event=event), backend=backend)  # type: ignore[arg-type]
        np.testing.assert_allclose(got.fit.coef, want.fit.coef, rtol=1e-10)
        assert got.fit.nevent == want.fit.nevent


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("5,1,0.5\n4,3,1\n", "data row 2, column 'event': event value 3"),
        ("5,1,0.5\n-4,1,1\n", "data row 2, column 'time': time -4 is negative"),
        ("5,1,0.5\n4,1,abc\n6,0,1\n", "data row 2, column 'x': 'abc' is not a number"),
    ],
)
def test_bad_value_named_as_the_memory_path_names_it(
    backend: str, spark_if_needed: Any, tmp_path: Path, rows: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time,event,x\n" + rows + "3,1,2\n7,0,1\n")
    spec = CoxSpec("time", "event", (DesignColumn("x", "x", (("x", None),)),))
    with pytest.raises(InputError, match=message):
        cox_on(path, spec, backend=backend)  # type: ignore[arg-type]


def test_times_within_rounding_error_are_tied_as_the_memory_path(
    backend: str, spark_if_needed: Any, tmp_path: Path
) -> None:
    # 5 and 5 + 1e-12 are one time for R's coxph (aeqSurv) and for survival.cox.
    path = tmp_path / "ties.csv"
    path.write_text(
        "time,event,x\n5,1,0.5\n5.000000000001,1,1.5\n7,0,-1.2\n3,1,2.0\n9,1,0.1\n"
        "5,0,0.7\n2,1,-0.3\n8,1,1.1\n"
    )
    spec = CoxSpec("time", "event", (DesignColumn("x", "x", (("x", None),)),))
    got = cox_on(path, spec, backend=backend)  # type: ignore[arg-type]
    assert got.fit.sums.n_event.tolist() == [1.0, 1.0, 2.0, 1.0, 1.0]  # two deaths at t = 5
    assert_same_fit(got, cox_on(path, spec, backend="memory"))


def test_frames_give_the_file_answer(backend: str, spark_if_needed: Any) -> None:
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_csv(FIXTURES / "data" / "lung.csv")
    spec = CoxSpec("time", "event", LUNG_COLUMNS[:3], robust=True)
    want = cox_on(FIXTURES / "data" / "lung.csv", spec, backend="memory")
    for data in (frame, pa.Table.from_pandas(frame)):
        assert_same_fit(cox_on(data, spec, backend=backend), want)  # type: ignore[arg-type]


def test_frame_errors_name_the_frame_row(backend: str, spark_if_needed: Any) -> None:
    import pandas as pd

    frame = pd.DataFrame({"time": [5.0, -1.0, 3.0], "event": [1, 1, 0], "x": [1.0, 2.0, 0.5]})
    spec = CoxSpec("time", "event", (DesignColumn("x", "x", (("x", None),)),))
    with pytest.raises(InputError, match=r"<DataFrame>: row 2, column 'time'"):
        cox_on(frame, spec, backend=backend)  # type: ignore[arg-type]
