"""The bundled SYNTHETIC cohort: no real patient, every id starts with ``SYN-``.

Run once (``python -m netoutcomes.study.synthetic_cohort OUTDIR``); the output
is checked in under ``netoutcomes/data/demo_cohort/`` and ``netoutcomes demo``
imports it into a temporary registry.

It is built deterministically (no random search) to mirror the published seed
study (see docs/study.md, "The synthetic cohort"):

* 50 treated, eligible stage IV NET patients of all sites and grades whose first
  I-131 MIBG therapy falls between June 2008 and June 2014;
* best symptomatic response 23 improved / 17 stable / 10 worse; best RECIST
  response PR in 5, no CR;
* 28 deaths before 6.0 years after the first therapy and nobody censored
  before that, so the Kaplan-Meier estimate at 6.0 years is 22/50 = 44%;
* survival from histological diagnosis (delayed entry at the first therapy):
  small bowel close to all NETs early and far above at 10 years, higher still
  without the poorly differentiated tumours, G1 small bowel about 21 points
  above small bowel;
* screened patients who fail one or more rules, or cannot be assessed, and a
  few Lu-177 DOTATATE patients so that a second protocol runs on the registry.

The calibration is the list of per-patient survival times in
``survival_specs``; ``tests/study/test_demo.py`` checks that the analysis of
the imported cohort reproduces every target.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netoutcomes.registry.model import TABLES
from netoutcomes.study import synthetic_followup as fu

DATA_CUTOFF = dt.date(2022, 6, 30)  # last contact of every patient still alive
FIRST_ENTRY = dt.date(2008, 7, 1)
LAST_ENTRY = dt.date(2014, 4, 30)
N_TREATED = 50
DAYS_PER_YEAR = 365.25
MCI = 37.0  # MBq per mCi
MIBG_INTERVAL_DAYS = 150  # between I-131 MIBG cycles


@dataclass(frozen=True)
class SurvivalSpec:
    """One treated patient's tumour and survival, before dates are attached."""

    site: str
    grade: str | None
    differentiation: str
    ki67: float
    gap_years: float  # histological diagnosis -> first therapy
    years_to_death: float | None  # from first therapy; None = alive at the cut-off
    lung_category: str | None = None


def _group(
    site: str,
    grade: str | None,
    differentiation: str,
    ki67s: list[float],
    gaps: list[float],
    deaths: list[float | None],
    lung_category: str | None = None,
) -> list[SurvivalSpec]:
    assert len(ki67s) == len(gaps) == len(deaths)
    return [
        SurvivalSpec(site, grade, differentiation, k, g, d, lung_category)
        for k, g, d in zip(ki67s, gaps, deaths, strict=True)
    ]


def survival_specs() -> list[SurvivalSpec]:
    """The 50 treated patients.  Times in years; the calibration lives here.

    Deaths before 6.0 years after therapy: 28 (SB 16, other sites 12); every
    survivor is followed past 8 years, so no censoring before 6.0 years.
    """
    alive = None
    return [
        # small bowel G1 (12): 2 early deaths, long survival
        *_group(
            "small_bowel",
            "G1",
            "well",
            [0.8, 1.0, 1.2, 1.5, 1.8, 2.0, 2.2, 2.4, 1.1, 0.9, 1.6, 2.6],
            [1.0, 1.3, 0.8, 1.6, 1.2, 1.9, 0.7, 1.1, 1.5, 2.0, 0.9, 1.4],
            [0.7, 3.2, 6.8, alive, alive, alive, alive, alive, alive, alive, alive, alive],
        ),
        # small bowel G2 (8)
        *_group(
            "small_bowel",
            "G2",
            "well",
            [4, 5, 6, 8, 10, 12, 14, 17],
            [0.8, 1.2, 0.9, 1.5, 1.0, 1.3, 0.7, 1.1],
            [0.7, 2.6, 4.3, 7.2, 8.6, alive, alive, alive],
        ),
        # small bowel G3, well differentiated (4)
        *_group(
            "small_bowel",
            "G3",
            "well",
            [22, 25, 30, 35],
            [1.4, 1.1, 0.9, 1.7],
            [0.9, 9.2, alive, alive],
        ),
        # small bowel NEC, poorly differentiated (4)
        *_group(
            "small_bowel",
            "G3",
            "poorly",
            [45, 55, 60, 70],
            [1.8, 2.2, 2.5, 2.0],
            [0.5, 1.1, 1.7, 2.4],
        ),
        # pancreas (10)
        *_group(
            "pancreas",
            "G2",
            "well",
            [3.5, 4, 6, 9, 12, 15, 18, 20, 5, 7],
            [1.1, 2.0, 2.6, 0.9, 1.8, 3.1, 1.4, 2.3, 1.9, 2.1],
            [0.8, 2.3, 3.5, 4.6, 5.3, 5.5, 5.7, 5.9, 6.6, 7.4],
        ),
        # lung (4): typical/atypical carcinoid, not graded G1-G3
        *_group(
            "lung",
            None,
            "well",
            [2, 4, 8, 12],
            [1.5, 2.7, 0.9, 2.0],
            [1.6, 3.9, 4.9, 5.4],
            lung_category="atypical",
        ),
        # unknown primary (4)
        *_group(
            "unknown_primary",
            "G2",
            "well",
            [5, 8, 11, 16],
            [0.7, 1.3, 1.9, 2.5],
            [3.0, 4.2, 5.0, 7.6],
        ),
        # rectum (2) and stomach (2)
        *_group("rectum", "G2", "well", [7, 13], [1.6, 2.4], [5.2, 7.5]),
        *_group("stomach", "G3", "well", [25, 40], [1.2, 0.8], [2.8, 5.8]),
    ]


def entry_dates(n: int = N_TREATED) -> list[dt.date]:
    """First-therapy dates: evenly spread over the window, interleaved across groups
    (patient k gets slot 17 k mod n, so every group spans the whole window)."""
    step = (LAST_ENTRY - FIRST_ENTRY).days / (n - 1)
    return [FIRST_ENTRY + dt.timedelta(days=round(((17 * k) % n) * step)) for k in range(n)]


def years(days: int) -> float:
    return days / DAYS_PER_YEAR


def after(start: dt.date, years_later: float) -> dt.date:
    return start + dt.timedelta(days=round(years_later * DAYS_PER_YEAR))


# --- from specs to registry rows ---------------------------------------------------

Row = dict[str, object]

TOPOGRAPHY = {
    "small_bowel": "C17.2",
    "pancreas": "C25.9",
    "lung": "C34.9",
    "unknown_primary": "C80.9",
    "rectum": "C20.9",
    "stomach": "C16.9",
}


def morphology(spec: SurvivalSpec) -> str:
    if spec.differentiation == "poorly":
        return "8246/3"
    return "8240/3" if spec.grade == "G1" else "8249/3"


def symptomatic_target(k: int) -> str:
    """23 improved, 17 stable, 10 worse, spread over the cohort (7 is prime to 50)."""
    slot = (7 * k) % N_TREATED
    return "improved" if slot < 23 else "stable" if slot < 40 else "worse"


def recist_target(k: int) -> str:
    """5 PR, no CR, 30 SD, 15 PD (11 is prime to 50)."""
    slot = (11 * k) % N_TREATED
    return "PR" if slot < 5 else "SD" if slot < 35 else "PD"


@dataclass
class Tables:
    rows: dict[str, list[Row]]

    def add(self, table: str, **row: object) -> None:
        self.rows.setdefault(table, []).append(row)


def _iso(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()


def add_patient_core(
    t: Tables,
    pid: str,
    k: int,
    spec: SurvivalSpec,
    diagnosis: dt.date,
    stage: str | None,
) -> None:
    t.add(
        "patients",
        patient_id=pid,
        sex="female" if k % 2 else "male",
        birth_year=1938 + (7 * k) % 25,
        site="SYNCENTRE",
    )
    t.add(
        "diagnoses",
        patient_id=pid,
        diagnosis_date=_iso(diagnosis),
        primary_site=spec.site,
        icdo3_topography=TOPOGRAPHY[spec.site],
        icdo3_morphology=morphology(spec),
        differentiation=spec.differentiation,
        who_grade=spec.grade or "",
        ki67_percent=spec.ki67,
        lung_category=spec.lung_category or "",
        stage=stage or "",
        m_category=("M1a" if k % 3 else "M1c") if stage == "IV" else "",
        metastatic_sites=("liver" if k % 3 else "liver;lymph_node") if stage == "IV" else "",
    )


def add_standard_of_care(
    t: Tables, pid: str, spec: SurvivalSpec, diagnosis: dt.date, progression: dt.date
) -> None:
    if spec.site == "small_bowel":
        t.add(
            "treatments",
            patient_id=pid,
            treatment_id=f"{pid}-T1",
            kind="cytoreductive_surgery",
            start_date=_iso(diagnosis + dt.timedelta(days=30)),
            end_date=_iso(diagnosis + dt.timedelta(days=30)),
        )
    t.add(
        "treatments",
        patient_id=pid,
        treatment_id=f"{pid}-T2",
        kind="somatostatin_analogue",
        start_date=_iso(diagnosis + dt.timedelta(days=60)),
        end_date="",
    )
    t.add(
        "progressions",
        patient_id=pid,
        progression_id=f"{pid}-P1",
        date=_iso(progression),
        basis="recist",
    )


def add_scan(
    t: Tables,
    pid: str,
    modality: str,
    day: dt.date,
    lesions: Sequence[tuple[str, float, int | None]],
) -> None:
    scan_id = f"{pid}-S1"
    t.add("scans", patient_id=pid, scan_id=scan_id, date=_iso(day), modality=modality)
    for i, (site, size, uptake) in enumerate(lesions, 1):
        t.add(
            "lesions",
            scan_id=scan_id,
            lesion_id=f"L{i}",
            site=site,
            longest_diameter_mm=size,
            uptake_grade="" if uptake is None else uptake,
        )


AVID_LESIONS: list[tuple[str, float, int | None]] = [
    ("liver", 34.0, 4),
    ("lymph_node", 18.0, 3),
    ("bone", 8.0, 1),  # <= 10 mm: not counted by the avidity rule
]


def add_followup(t: Tables, pid: str, death: dt.date | None) -> None:
    t.add(
        "followup",
        patient_id=pid,
        last_contact_date=_iso(death or DATA_CUTOFF),
        vital_status="dead" if death else "alive",
        death_date=_iso(death),
        death_cause="",
    )


def add_therapies(
    t: Tables,
    pid: str,
    agent: str,
    entry: dt.date,
    death: dt.date | None,
    mbq: float,
    cycles: int = 2,
    interval_days: int = 150,
) -> None:
    for cycle in range(1, cycles + 1):
        day = entry + dt.timedelta(days=(cycle - 1) * interval_days)
        if death is not None and day >= death - dt.timedelta(days=30):
            break
        t.add(
            "therapies",
            patient_id=pid,
            therapy_id=f"{pid}-R{cycle}",
            agent=agent,
            date=_iso(day),
            activity_mbq=mbq,
            cycle=cycle,
        )


def _assessment(t: Tables, pid: str, n: int, day: dt.date, kind: str, result: str) -> None:
    t.add(
        "assessments",
        patient_id=pid,
        assessment_id=f"{pid}-A{n}",
        date=_iso(day),
        kind=kind,
        symptomatic_response=result if kind == "symptomatic" else "",
        recist_response=result if kind == "recist" else "",
        biomarker="",
        value="",
        unit="",
    )


def add_responses(t: Tables, pid: str, entry: dt.date, symptoms: str, recist: str) -> None:
    """Assessments whose best response is the target: an improvement is preceded by a
    stable reading, a PR by SD; a stable symptom score is followed by a worse one."""
    day = entry.__add__
    if symptoms == "improved":
        _assessment(t, pid, 1, day(dt.timedelta(days=60)), "symptomatic", "stable")
        _assessment(t, pid, 2, day(dt.timedelta(days=120)), "symptomatic", "improved")
    elif symptoms == "stable":
        _assessment(t, pid, 1, day(dt.timedelta(days=60)), "symptomatic", "stable")
        _assessment(t, pid, 2, day(dt.timedelta(days=120)), "symptomatic", "worse")
    else:
        _assessment(t, pid, 1, day(dt.timedelta(days=60)), "symptomatic", "worse")
    if recist == "PR":
        _assessment(t, pid, 3, day(dt.timedelta(days=90)), "recist", "SD")
        _assessment(t, pid, 4, day(dt.timedelta(days=150)), "recist", "PR")
    else:
        _assessment(t, pid, 3, day(dt.timedelta(days=90)), "recist", recist)


def mibg_cycles(k: int) -> int:
    """Cycles planned: 1 to 4 (20% one, 40% two, 20% three, 20% four); none after
    progression is found, none within 30 days of death: given, a mean of 1.9 and a
    range of 1-4 (Nwosu 2008: mean 1.8, range 1-4)."""
    slot = (7 * k) % 10
    return 1 if slot < 2 else 2 if slot < 6 else 3 if slot < 8 else 4


def cycles_before_pd(k: int, entry: dt.date, death: dt.date | None) -> int:
    """``mibg_cycles(k)``, but none after the reading that finds progression."""
    death_days = None if death is None else (death - entry).days
    pd_day = fu.progression_reading(
        fu.plan(k, recist_target(k)).progression_days,
        death_days,
        (DATA_CUTOFF - entry).days,
        fu.FIRST_READING_DAYS,
    )
    cycles = mibg_cycles(k)
    if pd_day is None:
        return cycles
    return min(cycles, 1 + sum(1 for c in range(1, cycles) if c * MIBG_INTERVAL_DAYS < pd_day))


def add_follow_up_readings(
    t: Tables,
    pid: str,
    k: int,
    entry: dt.date,
    death: dt.date | None,
    recist: str,
    site: str,
    first: int = fu.FIRST_READING_DAYS,
) -> None:
    """Serial RECIST readings, the progression, biomarkers and adverse events."""
    death_days = None if death is None else (death - entry).days
    plan = fu.plan(k, recist)
    days = fu.add_recist_series(
        t.add, pid, entry, recist, plan.progression_days, death_days,
        (DATA_CUTOFF - entry).days, first,
    )  # fmt: skip
    small_bowel = site == "small_bowel"
    fu.add_biomarkers(t.add, pid, k, entry, small_bowel, plan.biochemical_responder, days)
    fu.add_adverse_events(t.add, pid, entry, f"{pid}-R1", fu.adverse_events(k, site))


def add_treated(t: Tables) -> None:
    for k, (spec, entry) in enumerate(zip(survival_specs(), entry_dates(), strict=True)):
        pid = f"SYN-{k + 1:03d}"
        diagnosis = after(entry, -spec.gap_years)
        death = None if spec.years_to_death is None else after(entry, spec.years_to_death)
        add_patient_core(t, pid, k, spec, diagnosis, "IV")
        add_standard_of_care(t, pid, spec, diagnosis, entry - dt.timedelta(days=90))
        add_scan(t, pid, "i123_mibg", entry - dt.timedelta(days=30), AVID_LESIONS)
        add_therapies(
            t, pid, "i131_mibg", entry, death, 200 * MCI, cycles_before_pd(k, entry, death)
        )
        add_responses(t, pid, entry, symptomatic_target(k), recist_target(k))
        add_follow_up_readings(t, pid, k, entry, death, recist_target(k), spec.site)
        add_followup(t, pid, death)


@dataclass(frozen=True)
class ScreenedCase:
    """A screened patient who fails or cannot be assessed: what differs from eligible."""

    why: str
    stage: str | None = "IV"
    lesions: tuple[tuple[str, float, int | None], ...] = tuple(AVID_LESIONS)
    progression_days_before: int = 90
    treated_on: dt.date | None = None  # None: screened on the scan, not treated


SCREENED_FAILURES: list[ScreenedCase] = [
    ScreenedCase("stage III, no distant metastasis", stage="III"),
    ScreenedCase("a 22 mm liver lesion only equal to liver", lesions=(("liver", 22.0, 2),)),
    ScreenedCase(
        "low uptake and no recent progression",
        lesions=(("liver", 40.0, 1), ("lymph_node", 15.0, 3)),
        progression_days_before=700,
    ),
    ScreenedCase("progression two years before screening", progression_days_before=730),
    ScreenedCase("treated before the window", treated_on=dt.date(2007, 9, 3)),
    ScreenedCase("treated after the window", treated_on=dt.date(2015, 3, 2)),
    ScreenedCase("uptake not read on a 30 mm lesion", lesions=(("liver", 30.0, None),)),
    ScreenedCase("stage not recorded", stage=None),
]


def add_screened(t: Tables) -> None:
    spec = SurvivalSpec("pancreas", "G2", "well", 8.0, 2.0, None)
    for i, case in enumerate(SCREENED_FAILURES):
        pid = f"SYN-{101 + i}"
        screened_on = case.treated_on or dt.date(2010, 1, 4) + dt.timedelta(days=97 * i)
        diagnosis = after(screened_on, -spec.gap_years)
        add_patient_core(t, pid, 101 + i, spec, diagnosis, case.stage)
        progression = screened_on - dt.timedelta(days=case.progression_days_before)
        add_standard_of_care(t, pid, spec, diagnosis, progression)
        add_scan(t, pid, "i123_mibg", screened_on - dt.timedelta(days=30), list(case.lesions))
        if case.treated_on is not None:
            add_therapies(t, pid, "i131_mibg", case.treated_on, None, 200 * MCI)
        add_followup(t, pid, None)


# Lu-177 DOTATATE patients (for the second protocol): site, grade, Ki-67, first
# therapy, years to death (None: alive), Ga-68 uptake of the largest lesion.
LU177_PATIENTS: list[tuple[str, str, float, dt.date, float | None, int]] = [
    ("pancreas", "G1", 2.0, dt.date(2016, 2, 1), None, 4),
    ("pancreas", "G2", 6.0, dt.date(2016, 9, 12), 4.1, 4),
    ("pancreas", "G2", 12.0, dt.date(2017, 4, 3), None, 3),
    ("pancreas", "G2", 15.0, dt.date(2017, 11, 20), 2.6, 4),
    ("pancreas", "G1", 1.5, dt.date(2018, 6, 4), None, 3),
    ("small_bowel", "G2", 5.0, dt.date(2018, 10, 1), None, 4),
    ("small_bowel", "G1", 1.0, dt.date(2019, 3, 11), 2.2, 4),
    ("pancreas", "G2", 9.0, dt.date(2019, 7, 1), None, 2),  # fails SSTR avidity
]


def add_lu177(t: Tables) -> None:
    for i, (site, grade, ki67, entry, to_death, uptake) in enumerate(LU177_PATIENTS):
        pid = f"SYN-{201 + i}"
        spec = SurvivalSpec(site, grade, "well", ki67, 3.0, to_death)
        diagnosis = after(entry, -spec.gap_years)
        death = None if to_death is None else after(entry, to_death)
        add_patient_core(t, pid, 201 + i, spec, diagnosis, "IV")
        add_standard_of_care(t, pid, spec, diagnosis, entry - dt.timedelta(days=120))
        lesions = [("liver", 28.0, uptake), ("lymph_node", 14.0, 4)]
        add_scan(t, pid, "ga68_dotatate", entry - dt.timedelta(days=40), lesions)
        if uptake >= 3:
            # NETTER-1's schedule: 4 cycles of 7.4 GBq every 8 weeks
            add_therapies(t, pid, "lu177_dotatate", entry, death, 7400.0, 4, 56)
            recist = "PR" if i % 3 == 0 else "SD"
            _assessment(t, pid, 1, entry + dt.timedelta(days=100), "recist", recist)
            add_follow_up_readings(t, pid, 201 + i, entry, death, recist, site, first=100)
        add_followup(t, pid, death)


def build_cohort() -> dict[str, list[Row]]:
    """Every table of the synthetic registry, rows in id order."""
    tables = Tables({name: [] for name in TABLES})
    add_treated(tables)
    add_screened(tables)
    add_lu177(tables)
    return tables.rows


def write_cohort(out_dir: str | Path) -> list[Path]:
    """Write one CSV per registry table (header = the model's field names)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in build_cohort().items():
        columns = TABLES[name].columns
        path = out / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c, "") for c in columns})
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = args[0] if args else str(Path(__file__).parents[1] / "data" / "demo_cohort")
    for path in write_cohort(out):
        print(path)


if __name__ == "__main__":
    main()
