"""`netoutcomes synth`: write a large SYNTHETIC registry extract for benchmarks and scale tests."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from netoutcomes.engine.synthetic import DEFAULT_CHUNK_ROWS, write_synthetic_registry
from netoutcomes.interfaces.cli.main import app, fail


@app.command()
def synth(
    patients: int = typer.Option(..., "--patients", help="Number of synthetic patients (rows)."),
    out: Path = typer.Option(..., "--out", help="Parquet file to write."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same rows."),
    chunk_rows: int = typer.Option(
        DEFAULT_CHUNK_ROWS, "--chunk-rows", help="Rows generated and written per row group."
    ),
) -> None:
    """Write a seeded SYNTHETIC registry (no real patient) as Parquet, in bounded memory."""
    if patients < 1:
        fail(f"--patients: {patients} is not a positive number of patients")
    if chunk_rows < 1:
        fail(f"--chunk-rows: {chunk_rows} is not a positive number of rows")
    if out.suffix.lower() not in {".parquet", ".pq"}:
        fail(f"{out}: --out must be a .parquet file")
    if not out.parent.exists():
        fail(f"{out}: the folder {out.parent} does not exist")
    with Progress(
        TextColumn("synthetic patients"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("synth", total=patients)
        result = write_synthetic_registry(
            out,
            patients,
            seed=seed,
            chunk_rows=chunk_rows,
            on_chunk=lambda done: progress.update(task, completed=done),
        )
    typer.echo(
        f"wrote {result.patients} SYNTHETIC patients (seed {result.seed}, "
        f"{result.row_groups} row groups) to {result.path}"
    )
