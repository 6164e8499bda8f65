"""Cumulative incidence of progression vs death without progression, and Gray's test, on
hand-derived PFS times: the table cells equal R (survfit multi-state, cmprsk::cuminc) run on
the same times by tests/study/fixtures/competing_risks.R."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from netoutcomes.study.analysis import analyse
from netoutcomes.study.eligibility import screen
from netoutcomes.study.protocol import parse_protocol
from netoutcomes.study.records import Histology
from netoutcomes.study.rounding import p_cell, pct

from .test_pfs import patient

R = json.loads((Path(__file__).parent / "fixtures" / "competing_risks.json").read_text())

PROTOCOL = """
name: competing risks by hand
short_name: cr
entry: {agent: agent, window_start: 2000-01-01, window_end: 2030-12-31}
eligibility: []
cohorts:
  - {id: all, label: All patients}
  - {id: sb, label: Small bowel, sites: [small_bowel]}
  - {id: other, label: Other sites, exclude_sites: [small_bowel]}
outcomes: []
survival:
  origins: [first_therapy]
  landmarks_years: [1]
  min_patients: 2
  min_events: 1
endpoints:
  - {id: pfs, label: PFS, landmarks_years: [0.5, 1]}
comparisons:
  disjoint: [{group: sb, versus: other, origin: first_therapy}]
"""


def test_incidence_and_gray_equal_r() -> None:
    # days and outcome worked by hand, as in test_pfs: 1 progression, 2 death, 0 censored
    patients = [
        patient("P1", (60, "SD"), (120, "PD")),  # 120, progression
        patient("P2", (60, "SD"), (150, "SD")),  # 150, censored
        patient("P3", death=200),  # 200, death
        patient("P4", (90, "PR"), (300, "PD"), death=500),  # 300, progression
        patient("P5", (90, "PR"), (400, "SD"), (500, "SD")),  # 500, censored
        patient("P6", (45, "SD"), progressions=(100,)),  # 100, progression
        patient("P7", (300, "SD"), death=420),  # 420, death
        patient("P8"),  # 0, censored
        patient("P9", (100, "SD"), (250, "NE"), (330, "PD")),  # 330, progression
        patient("P10", (200, "SD"), (450, "SD")),  # 450, censored
    ]
    small_bowel = Histology("small_bowel", "G1", "well", 1.0)
    patients = [replace(p, histology=small_bowel) if i < 5 else p for i, p in enumerate(patients)]
    protocol = parse_protocol(PROTOCOL)
    result = analyse(protocol, patients, screen(protocol, patients))
    table = result.tables["endpoint_pfs_cif"]
    row = "all_pfs"
    assert (table.cell(row, "progressions"), table.cell(row, "deaths")) == (4, 2)
    for i, k in enumerate(("0.5y", "1y")):
        for name in ("progression", "death"):
            for suffix in ("", "_lower", "_upper"):
                expected = R[f"{name}{suffix}"][i]
                got = table.cell(row, f"{name}_{k}{suffix}")
                assert got == (None if expected is None else pct(expected)), (name, k, suffix)
    gray = result.tables["endpoint_pfs_gray"]
    assert gray.cell("sb_vs_other", "p_progression") == p_cell(R["gray_p"][0])
    assert gray.cell("sb_vs_other", "p_death") == p_cell(R["gray_p"][1])


def test_competing_risks_are_a_protocol_option() -> None:
    off = PROTOCOL.replace(
        "landmarks_years: [0.5, 1]}", "landmarks_years: [1], competing_risks: false}"
    )
    patients = [patient("P1", (60, "SD"), (120, "PD")), patient("P2", death=200)]
    protocol = parse_protocol(off)
    result = analyse(protocol, patients, screen(protocol, patients))
    assert "endpoint_pfs" in result.tables and "endpoint_pfs_cif" not in result.tables
