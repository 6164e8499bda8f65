"""open_source: every way a table reaches the engine, and one clear error for each wrong one."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from engine_reference import FIXTURES

from netoutcomes.engine.analysis import grouped_tables_on
from netoutcomes.engine.backends import open_source
from netoutcomes.errors import InputError

LUNG = FIXTURES / "data" / "lung.csv"


def _lung_tables(data, backend="duckdb"):
    return grouped_tables_on(data, "time", "event", by="sex", backend=backend).tables.tables


def test_duckdb_file_parquet_and_ibis_table_give_the_csv_answer(tmp_path: Path) -> None:
    want = _lung_tables(LUNG, "memory")
    db = tmp_path / "reg.duckdb"
    parquet = tmp_path / "lung.parquet"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE lung AS SELECT * FROM read_csv('{LUNG}', nullstr='')")
        con.execute(f"COPY lung TO '{parquet}' (FORMAT parquet)")
    import importlib.util

    import ibis
    import pandas as pd
    import pyarrow.csv as pacsv

    sources = [
        open_source(db, "duckdb", table="lung").table,
        parquet,
        ibis.duckdb.connect().read_csv(str(LUNG)),
        pd.read_csv(LUNG),
        pacsv.read_csv(LUNG),
    ]
    if importlib.util.find_spec("polars"):  # optional: not in every install
        import polars as pl

        sources.append(pl.read_csv(LUNG, null_values=["NA"]))
    for source in sources:
        got = _lung_tables(source)
        assert list(got) == list(want)
        for label, table in got.items():
            np.testing.assert_array_equal(table.n_risk, want[label].n_risk)
            np.testing.assert_array_equal(table.n_event, want[label].n_event)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("nope.csv", "duckdb"), {}, "file not found"),
        ((LUNG.with_suffix(".txt"), "duckdb"), {}, "unknown file type"),
        ((LUNG, "oracle"), {}, "unknown backend"),
    ],
)
def test_bad_sources_are_input_errors(args, kwargs, message) -> None:
    with pytest.raises(InputError, match=message):
        open_source(*args, **kwargs)


def test_duckdb_file_needs_an_existing_table(tmp_path: Path) -> None:
    db = tmp_path / "reg.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE patients (time INTEGER, event INTEGER)")
    with pytest.raises(InputError, match="name the table"):
        open_source(db, "duckdb")
    with pytest.raises(InputError, match="no table 'visits'"):
        open_source(db, "duckdb", table="visits")
    with pytest.raises(InputError, match="memory backend reads CSV or Parquet"):
        open_source(db, "memory")


def test_duckdb_connections_print_no_progress_bar(tmp_path: Path) -> None:
    """DuckDB's progress bar goes to stdout (into `--json` output) for a long query.  Its
    default differs between a plain process (on) and pytest's, so asked in a child."""
    import subprocess
    import sys

    db = tmp_path / "r.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS time, 1 AS event")
    code = (
        "import sys, duckdb\n"
        "from netoutcomes.engine.backends import embedded_duckdb, open_source\n"
        "q = \"SELECT current_setting('enable_progress_bar')\"\n"
        "print('DEFAULT', duckdb.connect().execute(q).fetchone()[0])\n"
        "file_con = open_source(sys.argv[1], table='t').table._find_backend().con\n"
        "print('OURS', [c.execute(q).fetchone()[0] for c in (embedded_duckdb().con, file_con)])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True)
    assert "DEFAULT True" in out.stdout, out.stdout + out.stderr  # the case this guards
    assert "OURS [False, False]" in out.stdout, out.stdout + out.stderr
