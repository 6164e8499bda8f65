"""The bundled synthetic cohort: reproducible, labelled, and importable."""

from __future__ import annotations

import csv
from pathlib import Path

from netoutcomes.registry.importing import import_sources
from netoutcomes.registry.model import TABLES
from netoutcomes.registry.store import create_registry
from netoutcomes.study.synthetic_cohort import write_cohort

BUNDLED = Path(__file__).parents[2] / "src" / "netoutcomes" / "data" / "demo_cohort"


def test_checked_in_files_are_the_generator_output(tmp_path: Path) -> None:
    for path in write_cohort(tmp_path):
        assert path.read_text() == (BUNDLED / path.name).read_text(), path.name


def test_every_patient_is_synthetic_and_headers_match_the_registry() -> None:
    for name, spec in TABLES.items():
        with (BUNDLED / f"{name}.csv").open() as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames or ()) == spec.columns
            rows = list(reader)
        key = "scan_id" if name == "lesions" else "patient_id"
        assert rows and all(r[key].startswith("SYN-") for r in rows)
    assert "SYNTHETIC" in (BUNDLED / "README.md").read_text()


def test_imports_into_a_registry_without_errors(tmp_path: Path) -> None:
    registry = create_registry(tmp_path / "r.duckdb")
    report = import_sources(registry, [BUNDLED])
    assert report.counts["patients"].inserted == 66
    assert not report.warnings
