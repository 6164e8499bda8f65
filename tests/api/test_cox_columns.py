"""The right-hand side's kinds and levels come from one GROUP BY over those columns and
the event, typed by the reader rules: the same kinds and levels as the reader gives the
rows themselves (engine.analysis.survival_data_on), on quirky CSVs and on every backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netoutcomes.api.cox_columns import right_hand_columns
from netoutcomes.engine.analysis import survival_data_on
from netoutcomes.survival.design import is_numeric

LUNG = Path(__file__).parent.parent / "fixtures" / "data" / "lung.csv"

QUIRKY = {
    "plain": "t,e,age,code,grp\n1,1,60,1,a\n2,0,70,2,b\n3,1,,2,a\n4,1,65,3,\n5,0,61,1,b\n",
    "all_quoted": '"t","e","age","code","grp"\n"1","1","60","1","a"\n"2","0","70","2","b"\n'
    '"3","1","","2","a"\n"4","1","65","3",""\n"5","0","61","1","b"\n',
    "codes_quoted": 't,e,age,code,grp\n1,1,60,"1",a\n2,0,70,"2",b\n3,1,,"2",a\n4,1,65,"3",\n'
    '5,0,61,"1",b\n',
    "events_true_false": "t,e,age,code,grp\n1,TRUE,60,1,a\n2,FALSE,70,2,b\n3,TRUE,,2,a\n"
    "4,TRUE,65,3,\n5,FALSE,61,1,b\n",
}


def _levels(values: np.ndarray) -> list[object]:
    return sorted({float(v) if is_numeric(values) else str(v) for v in values}, key=str)


@pytest.mark.parametrize("backend", ["duckdb", "memory"])
@pytest.mark.parametrize("case", list(QUIRKY))
def test_kinds_and_levels_are_the_readers(tmp_path: Path, case: str, backend: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(QUIRKY[case])
    columns = ["age", "code", "grp"]
    light = right_hand_columns(path, "e", columns, backend, None)
    rows = survival_data_on(path, "t", "e", None, columns, backend).columns  # type: ignore[arg-type]
    for c in columns:
        assert is_numeric(light[c]) == is_numeric(np.asarray(rows[c])), c
        assert _levels(light[c]) == _levels(np.asarray(rows[c])), c


def test_one_element_per_combination_not_per_row() -> None:
    light = right_hand_columns(LUNG, "event", ["sex", "ph_ecog"], "duckdb", None)
    assert len(light["sex"]) <= 2 * 4 * 2 < 228
