"""The demo registry analysed under both bundled protocols, written once as HTML, PDF and
Word for every report test (SYNTHETIC data)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from netoutcomes.interfaces.report.contents import report_tables
from netoutcomes.interfaces.report.html import ReportFiles, write_outputs
from netoutcomes.interfaces.report.layout import DisplayTable
from netoutcomes.study.protocol import bundled_protocol_path
from netoutcomes.study.results import StudyResult
from netoutcomes.study.run import analyse_registry, build_demo_registry

PROTOCOLS = ["mibg-net", "lu177-pnet"]


@dataclass(frozen=True)
class Report:
    protocol: str
    result: StudyResult
    files: ReportFiles
    tables: dict[str, DisplayTable]


@pytest.fixture(scope="session")
def demo_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_registry(tmp_path_factory.mktemp("registry") / "demo.duckdb")


@pytest.fixture(scope="session")
def reports(demo_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    out = {}
    for name in PROTOCOLS:
        result = analyse_registry(demo_registry, bundled_protocol_path(name))
        files = write_outputs(result, tmp_path_factory.mktemp(name), ["html", "pdf", "docx"])
        out[name] = Report(name, result, files, report_tables(result))
    return out


@pytest.fixture(scope="session", params=PROTOCOLS)
def report(request: pytest.FixtureRequest, reports: dict[str, Report]) -> Report:
    return reports[request.param]
