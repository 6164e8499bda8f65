"""The mutation score of ``survival/`` from the reports of ``mutate.py`` (``make mutation``).

    python tools/mutation/score.py build/mutation/a.json build/mutation/b.json ...

Reports are read in the order given; a later report's outcome of a mutant replaces an
earlier one's (a ``--rerun`` of the survivors after new tests comes after the full run).
A mutant is identified by its module, operator and the statement before and after the
change; the same change of the same statement text at several places counts once, and
as killed only if it was killed at every place.  Prints one markdown row per module
(killed / distinct mutants), the total, and with ``--survivors`` every survivor.
Exit status 1 if a report is unfinished (a stopped run) unless ``--partial``.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

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
            result[key][m["line"]] = m["result"]
    return result, unfinished


def killed(results: dict[int, str]) -> bool:
    return all(r in ("killed", "timeout") for r in results.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    parser.add_argument("--partial", action="store_true", help="accept unfinished reports")
    args = parser.parse_args()
    result, unfinished = outcomes(args.reports)
    for path in unfinished:
        print(f"unfinished report: {path}")
    by_module: dict[str, list[Key]] = defaultdict(list)
    for key in result:
        by_module[key[0]].append(key)
    print("| module | killed / mutants |\n|---|---|")
    total_killed = total = 0
    for module in sorted(by_module):
        keys = by_module[module]
        k = sum(killed(result[key]) for key in keys)
        total_killed, total = total_killed + k, total + len(keys)
        print(f"| `{module}` | {k} / {len(keys)} |")
    share = 100.0 * total_killed / total if total else float("nan")
    print(f"| **all** | **{total_killed} / {total} ({share:.1f}%)** |")
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
