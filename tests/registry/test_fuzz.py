"""Seeded fuzzing of the three import formats: every mutated source either imports or is
refused with InputError (one clean error), and a refusal leaves the registry unchanged.

CI runs FUZZ_CASES per format (seeded: the same cases every run). For thousands:
    NETOUTCOMES_FUZZ_CASES=3000 .venv/bin/python -m pytest tests/registry/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.exceptions import IllegalCharacterError

from netoutcomes.errors import InputError
from netoutcomes.registry.chain import head_path
from netoutcomes.registry.importing import import_sources

FUZZ_CASES = int(os.environ.get("NETOUTCOMES_FUZZ_CASES", "60"))
REDCAP = Path(__file__).parent / "data" / "redcap"

JUNK = [
    "",
    " ",
    '"',
    "'",
    ",",
    ";",
    "{",
    "}",
    "{}",
    "{record_id:d}",
    "\x00",
    "é",
    "NaN",
    "inf",
    "-1",
    "0",
    "1e308",
    "9223372036854775808",
    "99999999999999999999",
    "2099-01-01",
    "9999-12-31",
    "1899-12-31",
    "2010-02-30",
    "=1+1",
    "x" * 200_000,
    "Female",
    "g2",
    "\n",
    "\r\n",
]


def _mutate_text(text: str, rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:  # cut anywhere (a truncated file or export)
        return text[: rng.randrange(len(text) + 1)]
    if kind == 1:  # flip characters
        chars = list(text)
        for _ in range(rng.randint(1, 5)):
            chars[rng.randrange(len(chars))] = rng.choice(',;"\n\x00x9-')
        return "".join(chars)
    lines = text.splitlines(keepends=True)
    if kind == 2:  # duplicate or drop a line
        i = rng.randrange(len(lines))
        return "".join(lines[: i + 1] + (lines[i:] if rng.random() < 0.5 else lines[i + 2 :]))
    # replace one cell with junk
    i = rng.randrange(len(lines))
    cells = lines[i].rstrip("\r\n").split(",")
    cells[rng.randrange(len(cells))] = rng.choice(JUNK)
    lines[i] = ",".join(cells) + "\n"
    return "".join(lines)


def _csv_case(tmp: Path, clinic: Path, rng: random.Random) -> list[Path]:
    folder = tmp / "src"
    shutil.copytree(clinic, folder)
    target = rng.choice(sorted(folder.glob("*.csv")))
    target.write_text(_mutate_text(target.read_text(), rng), encoding="utf-8")
    return [folder]


def _xlsx_case(tmp: Path, clinic: Path, rng: random.Random) -> list[Path]:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in sorted(clinic.glob("*.csv")):
        sheet = book.create_sheet(path.stem if rng.random() < 0.9 else path.stem.title())
        for line in path.read_text().splitlines():
            sheet.append(line.split(","))
    sheet = rng.choice(book.worksheets)
    row = rng.randint(1, max(1, sheet.max_row))
    column = rng.randint(1, max(1, sheet.max_column))
    value = rng.choice(JUNK[:-3] + [3.5, -2, 10**30, True])
    with contextlib.suppress(ValueError, TypeError, IllegalCharacterError):  # refused by openpyxl
        sheet.cell(row, column).value = value
    path = tmp / "book.xlsx"
    book.save(path)
    if rng.random() < 0.3:  # damage one member of the zip
        damaged = tmp / "damaged.xlsx"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
            victim = rng.choice([i.filename for i in src.infolist()])
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == victim:
                    data = data[: rng.randrange(len(data) + 1)]
                dst.writestr(item, data)
        return [damaged]
    return [path]


def _redcap_case(tmp: Path, clinic: Path, rng: random.Random) -> list[Path]:
    folder = tmp / "redcap"
    shutil.copytree(REDCAP, folder)
    target = folder / rng.choice(["records.csv", "records.csv", "dictionary.csv", "mapping.yaml"])
    target.write_text(_mutate_text(target.read_text(), rng), encoding="utf-8")
    return [folder / "mapping.yaml"]


FORMATS: dict[str, Callable[[Path, Path, random.Random], list[Path]]] = {
    "csv": _csv_case,
    "xlsx": _xlsx_case,
    "redcap": _redcap_case,
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_fuzzed_sources_import_or_fail_cleanly(
    fmt: str, tmp_path: Path, clinic_registry: Path, clinic_source: Path
) -> None:
    rng = random.Random(f"netoutcomes-fuzz-{fmt}")
    registry_bytes = clinic_registry.read_bytes()
    head_bytes = head_path(clinic_registry).read_bytes()
    outcomes = {"imported": 0, "refused": 0}
    for case in range(FUZZ_CASES):
        work = tmp_path / f"{fmt}{case}"
        work.mkdir()
        registry = work / "r.duckdb"
        registry.write_bytes(registry_bytes)
        head_path(registry).write_bytes(head_bytes)
        sources = FORMATS[fmt](work, clinic_source, rng)
        try:
            import_sources(registry, sources, user="fuzz")
        except InputError as exc:
            assert str(exc) and registry.read_bytes() == registry_bytes, (fmt, case)
            outcomes["refused"] += 1
        else:
            outcomes["imported"] += 1
        shutil.rmtree(work)
    assert outcomes["refused"] > 0  # the mutations do reach the checks
