"""The mutation score of ``survival/`` from the reports of ``mutate.py`` (``make mutation``).

    python tools/mutation/score.py build/mutation/a.json build/mutation/b.json ...

Reports are read in the order given; a later report's outcome of a mutant replaces an
earlier one's (a ``--rerun`` of the survivors after new tests comes after the full run).
A mutant is identified by its module, operator and the statement before and after the
change; the same change of the same statement text at several places counts once, and
as killed only if it was killed at every place.  Prints one markdown row per module
(killed / distinct mutants), the total, and with ``--survivors`` every survivor.
With ``--current`` only the mutants the modules' current code makes count (a mutant of a
statement changed since its run drops out), and those of the current code no report
ran are counted per module as "not run".
Exit status 1 if a report is unfinished (a stopped run) unless ``--partial``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate  # noqa: E402  (the same directory: the mutants the current code makes)

Key = tuple[str, str, str, str]


def outcomes(paths: list[Path]) -> tuple[dict[Key, dict[int, str]], list[Path]]:
    """For each distinct mutant, its result at each line where it was made; and the
    reports that did not finish."""
    result: dict[Key, dict[int, str]] = defaultdict(dict)
    unfinished = []
    for path in paths:
        report = json.loads(path.read_text())
        if not report.get("finished"):
            unfinished.append(path)
        for m in report["mutants"]:
            key = (m["module"], m["operator"], m["before"], m["after"])
            result[key].pop(m["line"], None)  # re-inserted last: the latest outcome
            result[key][m["line"]] = m["result"]
    return result, unfinished


def current_mutants(modules: set[str]) -> dict[Key, int]:
    """Every distinct mutant ``mutate.py`` makes of the modules' code as it is now, with
    the number of places it is made."""
    keys: dict[Key, int] = defaultdict(int)
    for module in modules:
        source = (mutate.ROOT / mutate.PACKAGE / module).read_text()
        for site in mutate.sites(source):
            before, after = mutate._changed_line(source, mutate.mutate(source, site), site.line)
            keys[(module, site.operator, before, after)] += 1
    return keys


def latest(results: dict[int, str], places: int) -> dict[int, str]:
    """The outcomes of the last ``places`` lines reported (``outcomes`` keeps report order):
    a statement that moved since an earlier run was run again at its new line, and the
    earlier outcome at the old line is not of the code as it is now."""
    return dict(list(results.items())[-places:])


def killed(results: dict[int, str]) -> bool:
    return all(r in ("killed", "timeout") for r in results.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--partial", action="store_true", help="accept unfinished reports")
    parser.add_argument(
        "--current", action="store_true", help="only the mutants of the code as it is now"
    )
    args = parser.parse_args()
    result, unfinished = outcomes(args.reports)
    not_run: dict[str, int] = defaultdict(int)
    if args.current:
        now = current_mutants({key[0] for key in result})
        result = defaultdict(dict, {k: latest(v, now[k]) for k, v in result.items() if k in now})
        for key in set(now) - set(result):
            not_run[key[0]] += 1
    for path in unfinished:
        print(f"unfinished report: {path}")
    by_module: dict[str, list[Key]] = defaultdict(list)
    for key in result:
        by_module[key[0]].append(key)
    header = "| module | killed / mutants |" + (" not run |" if args.current else "")
    print(header + "\n|---|---|" + ("---|" if args.current else ""))
    total_killed = total = 0
    for module in sorted(by_module):
        keys = by_module[module]
        k = sum(killed(result[key]) for key in keys)
        total_killed, total = total_killed + k, total + len(keys)
        extra = f" {not_run[module]} |" if args.current else ""
        print(f"| `{module}` | {k} / {len(keys)} |{extra}")
    share = 100.0 * total_killed / total if total else float("nan")
    extra = f" {sum(not_run.values())} |" if args.current else ""
    print(f"| **all** | **{total_killed} / {total} ({share:.1f}%)** |{extra}")
    if args.survivors:
        print()
        for key in sorted(result, key=lambda k: (k[0], min(result[k]))):
            if not killed(result[key]):
                module, operator, before, after = key
                lines = ", ".join(str(n) for n, r in sorted(result[key].items()) if r == "survived")
                print(f"- `{module}` {lines} {operator}: `{before}` -> `{after}`")
    return 1 if unfinished and not args.partial else 0


if __name__ == "__main__":
    raise SystemExit(main())
