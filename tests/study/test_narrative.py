"""The Methods and Results paragraphs: numbers against independent references (counts from
the bundled CSV files, scipy's exact binomial interval, R's Cox fit on the same CSVs), every
linked number against its cell, journal formats and word counts."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from scipy.stats import binomtest

from netoutcomes.study.narrative import counted
from netoutcomes.study.results import Segment, StudyResult
from netoutcomes.study.run import analyse_registry, build_demo_registry, demo_cohort_dir
from netoutcomes.study.text_writer import MAX_WORDS, word_count

ROOT = Path(__file__).parents[2]
R_DEMO = json.loads((ROOT / "tests" / "fixtures" / "r" / "demo_cohort.json").read_text())
P_COLUMNS = {"logrank_p", "logrank_p_adjusted", "cox_p", "rmst_p"}


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StudyResult]:
    registry = build_demo_registry(tmp_path_factory.mktemp("reg") / "r.duckdb")
    return {
        name: analyse_registry(registry, ROOT / "protocols" / f"{name}.yaml")
        for name in ("mibg-net", "lu177-pnet")
    }


def read(name: str) -> list[dict[str, str]]:
    with (demo_cohort_dir() / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


def journal_p(p: float) -> str:
    """AMA style, written here independently of the code under test."""
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def test_results_numbers_equal_independent_references(studies: dict[str, StudyResult]) -> None:
    text = studies["mibg-net"].results_text()
    screened = len(read("patients"))
    assert text.startswith(f"Of {screened} patients screened, 50 were eligible, 50 were treated")
    # symptomatic: 23 / 17 / 10 of 50 (the seed abstract's 46 / 34 / 20%); control 40 of 50
    ci = binomtest(40, 50).proportion_ci(method="exact")
    assert "improved 46%, stable 34%, worse 20%" in text
    assert f"symptom control 80% (95% CI {100 * ci.low:.1f}-{100 * ci.high:.1f}%)" in text
    ci = binomtest(5, 50).proportion_ci(method="exact")
    assert f"objective response rate 10% (95% CI {100 * ci.low:.1f}-{100 * ci.high:.1f}%)" in text
    # 22 of 50 alive at 6 years after therapy, no one censored before (tests/study/test_demo.py)
    assert "44% (95% CI" in text and ") at 6 years" in text
    cox = R_DEMO["cox_sb_diagnosis"]
    hr = f"HR {cox['hr']:.2f}, 95% CI {cox['lower']:.2f}-{cox['upper']:.2f}"
    assert (
        f"Small-bowel NETs vs NETs of other sites (from diagnosis): {hr}; "
        "log-rank p < 0.001, Holm-adjusted p < 0.001." in text
    )
    ten = R_DEMO["survival_diagnosis"]
    for row, label in (("all_nets_delayed_entry", "All NETs"), ("sb_delayed_entry", "Small")):
        assert f"{100 * ten[row][2]:.1f}% for {label}" in text


def test_every_linked_number_is_its_cell_shown_in_journal_style(
    studies: dict[str, StudyResult],
) -> None:
    for result in studies.values():
        for segments, journal in ((result.results, True), (result.narrative, False)):
            linked = [s for s in segments if s.table]
            assert len(linked) > 15
            for seg in linked:
                assert seg.table and seg.row and seg.column
                assert seg.value == result.tables[seg.table].cell(seg.row, seg.column), seg
                assert seg.value is not None
                if journal and seg.column in P_COLUMNS:
                    assert seg.text == journal_p(seg.value), seg
                    continue
                shown = re.match(r"-?\d+(\.\d+)?", seg.text)
                assert shown is not None and float(shown.group()) == seg.value, seg


def test_journal_formats_and_word_counts(studies: dict[str, StudyResult]) -> None:
    for name, result in studies.items():
        results, methods = result.results_text(), result.methods_text()
        assert 0 < word_count(results) <= MAX_WORDS, name
        assert 0 < word_count(methods) <= MAX_WORDS, name
        assert MAX_WORDS == 300
        # no p printed to four significant digits, no 'adjusted 0.0009612'
        assert not re.search(r"p [=<] 0\.\d{4,}", results)
        assert "(adjusted" not in results
        # positive intervals as 66.3-90.0%, never '66.3% to 90%'
        assert not re.search(r"\d% to \d", results)
        assert "not estimable to not estimable" not in results
        # a percentage interval keeps one decimal on both ends when either has one
        for low, high in re.findall(r"95% CI (\d+(?:\.\d)?)-(\d+(?:\.\d)?)%", results):
            assert ("." in low) == ("." in high), (low, high)
        assert "95% CI 100-100%" not in results
        assert result.methods and all(s.table is None for s in result.methods)


def test_methods_describe_the_protocol(studies: dict[str, StudyResult]) -> None:
    methods = studies["mibg-net"].methods_text()
    assert "between 01 June 2008 and 30 June 2014" in methods
    assert "at 5, 6 and 10 years" in methods
    assert "left truncation" in methods and "Holm-adjusted" in methods
    assert "fewer than 10 patients or 5 deaths" in methods
    assert "Benjamini-Hochberg-adjusted" in studies["lu177-pnet"].methods_text()


def test_not_estimable_and_flags_reach_the_text(studies: dict[str, StudyResult]) -> None:
    result = studies["mibg-net"]
    text = result.results_text()
    assert "not tested: G1 small-bowel NETs: fewer than 5 deaths (3)" in text
    flagged = r"73\.6% for G1 small-bowel NETs \([^)]*\) \[fewer than 5 deaths \(3\)\]"
    assert re.search(flagged, text)
    # the nested differences sit beside their cohort; R's 10-year estimates on the same CSVs
    ten = R_DEMO["survival_diagnosis"]
    diff = 100 * (ten["sb_delayed_entry"][2] - ten["all_nets_delayed_entry"][2])
    assert f"51.6% for Small-bowel NETs ({diff:.1f} points vs All NETs, 95% CI" in text
    assert all(isinstance(s, Segment) for s in result.results)


def test_no_table_reports_past_its_follow_up(studies: dict[str, StudyResult]) -> None:
    """Every Kaplan-Meier row of both bundled protocols (survival and endpoints): a
    landmark after the row's last follow-up time has no estimate and says why."""
    checked = 0
    for result in studies.values():
        for table in result.tables.values():
            if "followup_end" not in table.columns:
                continue
            landmarks = [
                c[2:-5] for c in table.columns if c.startswith("s_") and c.endswith("_note")
            ]
            for row in table.rows:
                end = row["followup_end"]
                assert isinstance(end, float)
                for k in landmarks:
                    t = float(k.rstrip("y"))
                    if t > end + 0.005:  # the cell rounds the end to 0.01 years
                        assert row[f"s_{k}"] is None and row[f"s_{k}_lower"] is None
                        assert str(row[f"s_{k}_note"]).startswith("not estimable"), row
                        checked += 1
                    else:
                        assert row[f"s_{k}_note"] is None or "at risk" in str(row[f"s_{k}_note"])
    assert checked > 0  # the demo has such rows (e.g. other sites at 10 years)


def test_a_count_of_one_takes_the_singular() -> None:
    assert counted(1, "Deaths without progression") == "death without progression"
    assert counted(2, "Deaths without progression") == "deaths without progression"
    assert counted(1, "Progressions") == "progression"
    assert counted(0, "Progressions") == "progressions"
    assert counted(1, "Next treatments") == "next treatment"
    assert counted(1.0, "Deaths before a next treatment") == "death before a next treatment"
