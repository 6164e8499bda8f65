"""The synthetic registry: seeded, independent of chunking, labelled synthetic, CLI errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from netoutcomes.engine.synthetic import (
    BLOCK_ROWS,
    GRADES,
    GROUPS,
    synthetic_rows,
    write_synthetic_registry,
)
from netoutcomes.interfaces.cli.main import _register_commands, app

N = BLOCK_ROWS + 1234  # spans a block boundary


def _plain(t: pa.Table) -> pa.Table:
    """Dictionary columns decoded, one chunk: so equality compares values, not encodings."""
    cols = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in t.itercolumns()]
    return pa.table(cols, names=t.column_names).combine_chunks()


def _same(a: pa.Table, b: pa.Table) -> bool:
    return _plain(a).equals(_plain(b))


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    a = write_synthetic_registry(tmp_path / "a.parquet", N, seed=7)
    b = write_synthetic_registry(tmp_path / "b.parquet", N, seed=7)
    c = write_synthetic_registry(tmp_path / "c.parquet", N, seed=8)
    ta, tb, tc = (pq.read_table(f.path) for f in (a, b, c))
    assert _same(ta, tb)
    assert not ta.column("time").equals(tc.column("time"))


def test_chunking_gives_the_same_rows_as_one_chunk(tmp_path: Path) -> None:
    one = write_synthetic_registry(tmp_path / "one.parquet", N, seed=3, chunk_rows=N)
    many = write_synthetic_registry(tmp_path / "many.parquet", N, seed=3, chunk_rows=5000)
    assert one.row_groups == 1
    assert many.row_groups == pq.ParquetFile(many.path).num_row_groups == -(-N // 5000)
    assert _same(pq.read_table(one.path), pq.read_table(many.path))
    # Any slice can be generated on its own and equals the same rows of the whole.
    whole = pq.read_table(one.path)
    assert _same(synthetic_rows(3, 60_000, 66_000), whole.slice(60_000, 6_000))


def test_columns_labels_and_model(tmp_path: Path) -> None:
    f = write_synthetic_registry(tmp_path / "s.parquet", N, seed=1)
    meta = pq.read_schema(f.path).metadata
    assert meta[b"netoutcomes.synthetic"] == b"true"
    assert b"SYNTHETIC" in meta[b"netoutcomes.description"]
    t = pq.read_table(f.path)
    assert t.num_rows == N
    for col in (
        "patient_id",
        "synthetic",
        "site",
        "grade",
        "group",
        "sex",
        "age",
        "ki67",
        "entry",
        "time",
        "event",
    ):
        assert col in t.column_names
    assert all(t.column("synthetic").to_pylist())
    ids = t.column("patient_id").to_numpy()
    np.testing.assert_array_equal(ids, np.arange(1, N + 1))
    entry, time = t.column("entry").to_numpy(), t.column("time").to_numpy()
    assert (entry >= 0).all() and (time > entry).all()
    assert set(t.column("event").to_numpy()) == {0, 1}
    assert set(t.column("grade").to_pylist()) == set(GRADES)
    assert set(t.column("group").to_pylist()) == set(GROUPS)
    # Day resolution: many tied exit times.
    assert np.unique(time).size < N / 5
    # Ki-67 agrees with the WHO grade ranges.
    grade = np.array(t.column("grade").to_pylist())
    ki67 = t.column("ki67").to_numpy()
    assert (ki67[grade == "G1"] < 3).all() and (ki67[grade == "G3"] > 20).all()


def test_cli_writes_file_and_rejects_bad_options(tmp_path: Path) -> None:
    _register_commands()
    runner = CliRunner()
    out = tmp_path / "r.parquet"
    ok = runner.invoke(app, ["synth", "--patients", "1000", "--out", str(out), "--seed", "2"])
    assert ok.exit_code == 0, ok.output
    assert "SYNTHETIC" in ok.output
    assert _same(pq.read_table(out), synthetic_rows(2, 0, 1000))
    bad = runner.invoke(app, ["synth", "--patients", "0", "--out", str(out)])
    assert bad.exit_code == 2
    assert "error: --patients" in bad.output
    csv = runner.invoke(app, ["synth", "--patients", "5", "--out", str(tmp_path / "r.csv")])
    assert csv.exit_code == 2
    assert ".parquet" in csv.output
