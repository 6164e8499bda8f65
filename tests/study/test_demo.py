"""End to end: `netoutcomes demo` on the bundled SYNTHETIC cohort.

The references are independent of our code: the published seed abstract
(23/17/10 symptomatic, 5 PR and no CR, 44% alive at 6.0 years), counts made
directly from the bundled CSV files, and R's survival package run on those CSV
files (tests/fixtures/r/demo_cohort.R -> demo_cohort.json).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netoutcomes.interfaces.cli.main import _register_commands, app

_register_commands()
runner = CliRunner()
ROOT = Path(__file__).parents[2]
COHORT = ROOT / "src" / "netoutcomes" / "data" / "demo_cohort"
R_DEMO = json.loads((ROOT / "tests" / "fixtures" / "r" / "demo_cohort.json").read_text())
YEAR = 365.25


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text()), result.output


def cell(results: dict[str, Any], section: str, table: str, row: str, column: str) -> Any:
    t = results[section]["tables"][table]
    return next(r for r in t["rows"] if r[t["columns"][0]] == row)[column]


def read(name: str) -> list[dict[str, str]]:
    with (COHORT / f"{name}.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_top_level_keys_and_flow(demo: tuple[Path, dict[str, Any], str]) -> None:
    _, results, output = demo
    assert {"screening", "response", "survival", "comparisons", "narrative"} <= set(results)
    flow = results["screening"]["flow"]
    assert flow["enrolled"] == flow["treated"] == flow["analysed"] == 50
    assert flow["screened"] == len(read("patients"))
    assert results["study"]["synthetic"] is True
    assert "published (seed abstract) vs this cohort" in output.lower()


def test_published_counts(demo: tuple[Path, dict[str, Any], str]) -> None:
    _, r, _ = demo
    n = {c: cell(r, "response", "response_symptomatic", c, "n") for c in ("improved", "stable")}
    assert n == {"improved": 23, "stable": 17}
    assert cell(r, "response", "response_symptomatic", "worse", "n") == 10
    assert cell(r, "response", "response_symptomatic", "improved", "percent") == 46.0
    assert cell(r, "response", "response_recist", "objective_response", "n") == 5
    assert cell(r, "response", "response_recist", "objective_response", "percent") == 10.0
    assert cell(r, "response", "response_recist", "CR", "n") == 0
    row = "all_nets_from_origin"
    assert cell(r, "survival", "survival_first_therapy", row, "s_6y") == 44.0


def _treated_survival() -> dict[str, tuple[float, float, bool]]:
    """Per treated patient, from the CSVs: (years diagnosis->therapy, years diagnosis->exit,
    died)."""
    first: dict[str, dt.date] = {}
    for t in read("therapies"):
        if t["agent"] == "i131_mibg":
            d = dt.date.fromisoformat(t["date"])
            first[t["patient_id"]] = min(d, first.get(t["patient_id"], d))
    diagnosis = {
        d["patient_id"]: dt.date.fromisoformat(d["diagnosis_date"]) for d in read("diagnoses")
    }
    out = {}
    for f in read("followup"):
        pid = f["patient_id"]
        if not pid.startswith("SYN-0"):  # SYN-001..SYN-050 are the treated eligible patients
            continue
        exit_date = dt.date.fromisoformat(f["death_date"] or f["last_contact_date"])
        out[pid] = (
            (first[pid] - diagnosis[pid]).days / YEAR,
            (exit_date - diagnosis[pid]).days / YEAR,
            f["vital_status"] == "dead",
        )
    return out


def test_44_percent_at_6_years_by_hand() -> None:
    """No one is censored before 6.0 years, so KM at 6.0 years is alive / 50."""
    data = _treated_survival()
    assert len(data) == 50
    from_therapy = [(exit - entry, died) for entry, exit, died in data.values()]
    assert not any(t < 6.0 and not died for t, died in from_therapy)
    assert sum(t < 6.0 and died for t, died in from_therapy) == 28


def test_survival_matches_r_and_the_seed_targets(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    """Every landmark estimate equals R's survfit on the same CSVs (tables round to 0.1%)."""
    _, r, _ = demo
    ref = R_DEMO["survival_diagnosis"]
    for row, values in ref.items():
        for t, expected in zip(R_DEMO["landmarks"], values, strict=True):
            got = cell(r, "survival", "survival_diagnosis", row, f"s_{t:g}y")
            assert got == pytest.approx(100 * expected, abs=0.05 + 1e-9), (row, t)
    for cohort, values in R_DEMO["survival_first_therapy"].items():
        for t, expected in zip(R_DEMO["landmarks"], values, strict=True):
            got = cell(
                r, "survival", "survival_first_therapy", f"{cohort}_from_origin", f"s_{t:g}y"
            )
            assert got == pytest.approx(100 * expected, abs=0.05 + 1e-9), (cohort, t)

    def s(cohort: str, t: str) -> float:
        return float(cell(r, "survival", "survival_diagnosis", f"{cohort}_delayed_entry", t))

    # the seed's claims: similar early, SB >= 20 points above all NETs at 10 years,
    # SB without poorly differentiated higher still, G1 SB about 21 above SB (~41 above all)
    assert abs(s("sb", "s_5y") - s("all_nets", "s_5y")) < 5
    assert s("sb", "s_10y") - s("all_nets", "s_10y") >= 20
    assert s("sb_well", "s_10y") > s("sb", "s_10y")
    assert 19 <= s("sb_g1", "s_10y") - s("sb", "s_10y") <= 23
    assert 39 <= s("sb_g1", "s_10y") - s("all_nets", "s_10y") <= 45


def test_every_narrative_number_equals_its_table_cell(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    _, r, _ = demo
    sections = ("screening", "response", "survival", "comparisons")
    tables = {tid: t for s in sections for tid, t in r[s]["tables"].items()}
    numbers = [s for s in r["narrative"]["segments"] if s["table"]]
    assert len(numbers) > 20
    for seg in numbers:
        t = tables[seg["table"]]
        row = next(x for x in t["rows"] if x[t["columns"][0]] == seg["row"])
        shown = float(re.match(r"-?[0-9.e-]+", seg["text"]).group())  # type: ignore[union-attr]
        assert shown == row[seg["column"]] == seg["value"], seg
    # every number in the text is one of the linked numbers (or a landmark/label)
    assert r["narrative"]["text"] == "".join(s["text"] for s in r["narrative"]["segments"])


def test_html_is_self_contained_with_every_figure_and_links(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    out, r, _ = demo
    html = (out / "report.html").read_text()
    figures = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert set(figures) >= {"consort", "km_diagnosis", "km_first_therapy", "forest", "response"}
    for name in figures:
        assert f'id="figure-{name}"' in html
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert html.count("<svg") >= len(figures)
    assert "SYNTHETIC DATA" in html
    assert '<img src="http' not in html and "<script src" not in html
    assert '<meta name="viewport"' in html
    # the demo writes the report in all three formats
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "report.docx").read_bytes().startswith(b"PK")  # a zip (Office Open XML)
    for seg in r["narrative"]["segments"]:
        if seg["table"]:
            anchor = f"{seg['table']}--{seg['row']}--{seg['column']}"
            assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    for section in ("screening", "response", "survival", "comparisons"):
        for tid in r[section]["tables"]:
            assert (out / "tables" / f"{tid}.csv").exists()


def test_second_protocol_runs_on_the_same_registry(tmp_path: Path) -> None:
    from netoutcomes.study.run import build_demo_registry

    registry = build_demo_registry(tmp_path / "r.duckdb")
    out = tmp_path / "lu"
    result = runner.invoke(app, ["analyze", str(registry), "-p", "lu177-pnet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    r = json.loads((out / "results.json").read_text())
    assert r["study"]["entry_agent"] == "lu177_dotatate"
    assert r["screening"]["flow"]["analysed"] == 7  # 8 Lu-177 patients, one not SSTR-avid
    assert cell(r, "response", "response_recist", "PR", "n") == 3
    assert (out / "report.html").exists()
    screened = runner.invoke(app, ["screen", str(registry), "-p", "lu177-pnet", "--json"])
    verdicts = json.loads(screened.output)["verdicts"]
    failing = next(v for v in verdicts if v["patient_id"] == "SYN-208")
    assert [x["rule"] for x in failing["reasons"]] == ["sstr_avid"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["screen", str(tmp_path / "none.duckdb"), "-p", "mibg-net"])
    assert missing.exit_code == 2
    assert missing.output.strip().count("\n") == 0 and "no such registry" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nshort_name: y\nentry: {agent: a}\n")
    from netoutcomes.study.run import build_demo_registry

    registry = build_demo_registry(tmp_path / "r.duckdb")
    res = runner.invoke(app, ["screen", str(registry), "-p", str(bad)])
    assert res.exit_code == 2
    assert "line 3" in res.output and "entry.window_start" in res.output


def test_disjoint_comparison_matches_r(demo: tuple[Path, dict[str, Any], str]) -> None:
    """SB vs other sites: Cox HR with delayed entry and the log-rank test, as R."""
    _, r, _ = demo
    cox = R_DEMO["cox_sb_diagnosis"]
    row = "sb_vs_non_sb_diagnosis"
    for column, key in (("hr", "hr"), ("hr_lower", "lower"), ("hr_upper", "upper")):
        got = cell(r, "comparisons", "disjoint", row, column)
        assert got == pytest.approx(cox[key], abs=0.005 + 1e-9), column
    assert cell(r, "comparisons", "disjoint", row, "cox_p") == pytest.approx(cox["p"], rel=1e-3)
    lr = R_DEMO["logrank_sb_first_therapy"]
    row = "sb_vs_non_sb_first_therapy"
    assert cell(r, "comparisons", "disjoint", row, "logrank_chisq") == pytest.approx(
        lr["chisq"], abs=5e-4
    )
    assert cell(r, "comparisons", "disjoint", row, "logrank_p") == pytest.approx(lr["p"], rel=1e-3)


def test_screen_shows_every_reason(tmp_path: Path) -> None:
    from netoutcomes.study.run import build_demo_registry

    registry = build_demo_registry(tmp_path / "r.duckdb")
    res = runner.invoke(app, ["screen", str(registry), "-p", "mibg-net", "--json"])
    assert res.exit_code == 0, res.output
    verdicts = {v["patient_id"]: v for v in json.loads(res.output)["verdicts"]}
    two = verdicts["SYN-103"]
    assert two["verdict"] == "ineligible"
    assert {x["rule"] for x in two["reasons"]} == {"progression_on_soc", "mibg_avid"}
    assert verdicts["SYN-107"]["verdict"] == "cannot_assess"
    assert verdicts["SYN-108"]["reasons"][0]["detail"] == "stage not recorded"
    text = runner.invoke(app, ["screen", str(registry), "-p", "mibg-net"])
    assert text.exit_code == 0 and "SYN-103" in text.output and "screened" in text.output


def test_published_table_lists_the_seed_survival_claims(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    """The seed's claims from diagnosis sit beside this cohort's differences, which equal
    R's delayed-entry survfit differences (percentage points, rounded to 0.1)."""
    out, _, output = demo
    ref = R_DEMO["survival_diagnosis"]

    def points(cohort: str, reference: str, landmark: int) -> float:
        k = R_DEMO["landmarks"].index(landmark)
        return round(
            100 * (ref[f"{cohort}_delayed_entry"][k] - ref[f"{reference}_delayed_entry"][k]), 1
        )

    text = " ".join(output.split())
    claims = [
        ("SB vs all NETs at 5 years from diagnosis", "similar", points("sb", "all_nets", 5)),
        (">= 20 points", None, points("sb", "all_nets", 10)),
        ("Well-differentiated SB vs SB at 10 years", "better", points("sb_well", "sb", 10)),
        ("G1 SB vs SB at 10 years", "~21 points", points("sb_g1", "sb", 10)),
        ("G1 SB vs all NETs at 10 years", "~41 points", points("sb_g1", "all_nets", 10)),
    ]
    for label, published, value in claims:
        assert label in text, label
        if published is not None:
            assert published in text, published
        assert f"{value:g} points" in text, (label, value)
    # The demo keeps its registry beside the report, with its audit head file.
    assert (out / "registry.duckdb").exists() and (out / "registry.duckdb.audit-head").exists()


def test_at_risk_table_runs_to_the_end_of_follow_up(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    """The figure's x axis runs to the end of follow-up, and so does the number at risk
    under it; every count equals one made by hand from the CSVs (delayed entry: at risk
    on (therapy, exit], R's convention)."""
    _, r, _ = demo
    patients = _treated_survival()
    end = max(exit_ for _, exit_, _ in patients.values())
    curve = next(
        c
        for c in r["survival"]["curves"]
        if (c["cohort"], c["origin"], c["method"]) == ("all_nets", "diagnosis", "delayed_entry")
    )
    times = [row["time"] for row in curve["risk_table"]]
    assert times[-1] <= end < times[-1] + (times[1] - times[0]), (times, end)
    for row in curve["risk_table"]:
        t = row["time"]
        by_hand = sum(entry < t <= exit_ for entry, exit_, _ in patients.values())
        assert row["at_risk"] == by_hand, t
