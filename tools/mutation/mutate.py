"""Mutation testing of ``netoutcomes.survival``: a small ``ast`` mutator (``make mutation``).

One mutant at a time, on a private copy of ``src/`` (never the work tree others use):
the mutated module is written into the copy, the tests that exercise that module run
against it (``-x``, a timeout per mutant), and the module is restored.  A mutant is
*killed* when the tests fail (or run three times as long as unmutated: an endless
loop; reported as ``timeout``), *survived* when they pass.

To keep each run short the heavy third-party imports (numpy, scipy, pandas,
statsmodels, lifelines, hypothesis, pytest, duckdb, ibis) are loaded once in this
process, which never imports ``netoutcomes``; every mutant runs in a forked child
that puts the copy first on ``sys.path`` and calls ``pytest.main``.

Operators: arithmetic swaps (+ -, * /, // /, % //, ** *, @ *, & |), augmented
assignments likewise, comparison swaps (< <=, > >=, == !=, is / is not, in / not in),
``and``/``or``, removal of ``not``/unary minus/``~``, constants (0 -> 1, 1 -> 0,
n -> n + 1, True <-> False), negated ``if``/``while``/ternary conditions,
``return x`` -> ``return None``, and slices losing their lower or upper bound.
Docstrings, strings, annotations and ``raise`` statements are left alone.

    python tools/mutation/mutate.py                  # every module, writes the report
    python tools/mutation/mutate.py --module km.py   # one module
    python tools/mutation/mutate.py --list           # count the mutants only

The report (``--out``, default ``build/mutation/report.json``) lists every mutant with
its line, operator, the source line before and after, and the outcome; the score is
printed and written as ``killed/total``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path("src/netoutcomes/survival")
T = "tests/survival/"
FROZEN = T + "test_frozen_results.py"  # run first for every module: results stay frozen

# The modules mutated (all of survival/) and, for each, the tests that exercise it:
# fastest and most direct first, since -x stops at the first failure.
COX_TESTS = [
    T + "test_cox_mutation_newton.py",  # written for the split modules' survivors
    T + "test_cox_mutation_cox.py",
    T + "test_cox_mutation_sums.py",
    T + "test_cox_runaway.py",  # singular information mid-fit, risk sums past 1e150
    T + "test_cox_edges_reference.py",
    T + "test_cox_pvalues.py",  # the global tests' p and fit$iter against R
    T + "test_cox_time_terms.py",
    T + "test_cox_design.py",
    T + "test_cox_extra.py",
    T + "test_cox_reference.py",
    T + "test_cox_crosscheck.py",
    T + "test_concordance_fast.py",
    T + "test_edges_reference.py",
]
CIF_TESTS = [T + "test_cif_hand.py", T + "test_cif_reference.py", T + "test_cif_crosscheck.py"]
CONCORDANCE_TESTS = [
    T + "test_concordance_fast.py",
    T + "test_fenwick.py",  # also CodeLookup (concordance.py)
    "tests/engine/test_concordance_se_pairs.py",
    T + "test_cox_reference.py",
    T + "test_cox_extra.py",
]
TESTS: dict[str, list[str]] = {
    "km.py": [
        T + "test_km_quantile.py",
        T + "test_edges_reference.py",
        T + "test_hazard_curves_reference.py",
        T + "test_logrank_extra_reference.py",
        T + "test_km_reference.py",
        T + "test_km_logrank_properties.py",
    ],
    "hazard.py": [T + "test_hazard_curves_reference.py"],
    "logrank.py": [
        T + "test_edges_reference.py",
        T + "test_logrank_extra_reference.py",
        T + "test_logrank_reference.py",
        T + "test_km_logrank_properties.py",
    ],
    "multiplicity.py": [
        T + "test_edges_reference.py",
        T + "test_logrank_extra_reference.py",
        T + "test_km_logrank_properties.py",
    ],
    "twosample.py": [T + "test_edges_reference.py", T + "test_logrank_extra_reference.py"],
    "curves.py": [T + "test_km_reference.py", T + "test_logrank_extra_reference.py"],
    "counts.py": [
        T + "test_counts_split.py",
        T + "test_edges_reference.py",
        T + "test_km_reference.py",
        T + "test_logrank_reference.py",
        T + "test_km_logrank_properties.py",
    ],
    "groups.py": [
        T + "test_r_double_labels.py",
        T + "test_edges_reference.py",
        T + "test_logrank_extra_reference.py",
        T + "test_km_reference.py",
        T + "test_logrank_reference.py",
    ],
    "proportions.py": [T + "test_proportions_edges.py", "tests/study/test_proportions.py"],
    "design.py": [
        T + "test_cox_design.py",
        T + "test_r_double_labels.py",
        T + "test_cox_reference.py",
        T + "test_cox_extra.py",
    ],
    # survival/cox.py was split by job on 2 December (code moved unchanged); each part
    # runs the Cox tests, the part's own tests first.
    "cox.py": COX_TESTS,
    "cox_sums.py": [T + "test_cox_time_terms.py", *COX_TESTS],
    "cox_terms.py": [T + "test_cox_time_terms.py", T + "test_cox_efron_kernel.py", *COX_TESTS],
    # the engine's refit after aliasing reads column_scale once (memory refits recursively)
    "cox_newton.py": [*COX_TESTS, "tests/engine/test_cox_engine_passes.py"],
    "cox_fit.py": [T + "test_cox_pvalues.py", *COX_TESTS],
    "cox_model_data.py": [T + "test_cox_design.py", *COX_TESTS],
    "efron_kernel.py": [T + "test_cox_efron_kernel.py", T + "test_cox_time_terms.py", *COX_TESTS],
    "chisq.py": [T + "test_cox_pvalues.py", T + "test_cox_reference.py", T + "test_cox_extra.py"],
    "cox_zph.py": [
        T + "test_mutation_gaps_zph.py",  # the rank transform, worked by hand
        T + "test_cox_extra.py",
        T + "test_cox_reference.py",
    ],
    # the shared Cox contract: read by the API's formula front end and by every engine
    # (the in-memory design matrix is the oracle the DuckDB variants are compared with)
    "model_spec.py": [
        T + "test_model_spec.py",
        "tests/api/test_formula.py",
        "tests/api/test_cox_columns.py",
        "tests/engine/test_engine_cox.py",
        "tests/engine/test_cox_engine_passes.py",
        "tests/api/test_predict_r.py",
        "tests/engine/test_engine_analysis.py",
    ],
    "cif.py": CIF_TESTS,
    "gray.py": CIF_TESTS,
    "concordance.py": CONCORDANCE_TESTS,
    "fenwick.py": [T + "test_fenwick.py", *CONCORDANCE_TESTS],
    "timefix.py": [
        T + "test_counts_split.py",
        T + "test_cox_edges_reference.py",
        T + "test_edges_reference.py",
        T + "test_cox_reference.py",
        T + "test_km_reference.py",
    ],
}

BINOP_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
}
COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Site:
    """One mutation: the n-th visited node of the module and what is done to it."""

    index: int
    operator: str
    line: int


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, raise statements, strings."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                mark(a.annotation)
            if node.args.vararg:
                mark(node.args.vararg.annotation)
            if node.args.kwarg:
                mark(node.args.kwarg.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.Raise | ast.JoinedStr | ast.ImportFrom | ast.Import):
            mark(node)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                mark(first)
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            mark(node)
    return skip


def _operators(node: ast.AST) -> list[str]:
    """The mutations that apply to one node."""
    ops: list[str] = []
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in BINOP_SWAPS:
        ops.append(f"{type(node.op).__name__}->{BINOP_SWAPS[type(node.op)].__name__}")
    if isinstance(node, ast.Compare):
        ops += [
            f"cmp{i}:{type(op).__name__}->{COMPARE_SWAPS[type(op)].__name__}"
            for i, op in enumerate(node.ops)
            if type(op) in COMPARE_SWAPS
        ]
    if isinstance(node, ast.BoolOp):
        ops.append("and->or" if isinstance(node.op, ast.And) else "or->and")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.Invert):
        ops.append(f"drop-{type(node.op).__name__}")
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            ops.append("negate-bool")
        elif isinstance(v, int | float):
            ops.append("0->1" if v == 0 else "1->0" if v == 1 else "n->n+1")
    if isinstance(node, ast.If | ast.While | ast.IfExp):
        ops.append("negate-condition")
    returns_none = isinstance(node, ast.Return) and (
        node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
    )
    if isinstance(node, ast.Return) and not returns_none:
        ops.append("return-None")
    if isinstance(node, ast.Slice):
        if node.lower is not None:
            ops.append("slice-drop-lower")
        if node.upper is not None:
            ops.append("slice-drop-upper")
    return ops


def _walk(tree: ast.Module) -> list[ast.AST]:
    skip = _skipped_nodes(tree)
    return [n for n in ast.walk(tree) if id(n) not in skip]


def sites(source: str) -> list[Site]:
    tree = ast.parse(source)
    return [
        Site(i, op, getattr(node, "lineno", 0))
        for i, node in enumerate(_walk(tree))
        for op in _operators(node)
    ]


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().visit(node)


def mutate(source: str, site: Site) -> str:
    """The module's source with one mutation applied (unparsed: comments are lost)."""
    tree = ast.parse(source)
    node = _walk(tree)[site.index]
    op = site.operator
    new: ast.AST = copy.deepcopy(node)
    if isinstance(new, ast.BinOp | ast.AugAssign) and "->" in op and not op.startswith("cmp"):
        new.op = BINOP_SWAPS[type(node.op)]()  # type: ignore[attr-defined]
    elif op.startswith("cmp") and isinstance(new, ast.Compare):
        i = int(op[3 : op.index(":")])
        new.ops[i] = COMPARE_SWAPS[type(new.ops[i])]()
    elif op in ("and->or", "or->and") and isinstance(new, ast.BoolOp):
        new.op = ast.Or() if op == "and->or" else ast.And()
    elif op.startswith("drop-") and isinstance(new, ast.UnaryOp):
        new = new.operand
    elif op == "negate-bool" and isinstance(new, ast.Constant):
        new.value = not new.value
    elif op in ("0->1", "1->0", "n->n+1") and isinstance(new, ast.Constant):
        v = new.value
        new.value = type(v)(1 if op == "0->1" else 0 if op == "1->0" else v + 1)
    elif op == "negate-condition" and isinstance(new, ast.If | ast.While | ast.IfExp):
        new.test = ast.UnaryOp(op=ast.Not(), operand=new.test)
    elif op == "return-None" and isinstance(new, ast.Return):
        new.value = ast.Constant(value=None)
    elif op == "slice-drop-lower" and isinstance(new, ast.Slice):
        new.lower = None
    elif op == "slice-drop-upper" and isinstance(new, ast.Slice):
        new.upper = None
    else:
        raise ValueError(f"cannot apply {op} to {ast.dump(node)[:80]}")
    tree = _Replace(node, new).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


def _preload() -> None:
    """Third-party imports the tests need, loaded once before forking (never netoutcomes)."""
    import hypothesis  # noqa: F401
    import lifelines  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import pytest  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    import statsmodels.api  # noqa: F401

    for optional in ("duckdb", "ibis", "pyarrow", "polars", "formulaic"):
        with contextlib.suppress(ImportError):
            __import__(optional)
    assert "netoutcomes" not in sys.modules


def run_tests(src_copy: Path, workdir: Path, tests: list[str], timeout: float) -> str:
    """'passed', 'failed' or 'timeout': the tests in a forked child on the copy of src/."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.chdir(workdir)
            sys.path.insert(0, str(src_copy))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            # start-up is most of a killed mutant's time: no third-party plugins (the
            # tests need none; hypothesis works without its plugin), no assertion
            # rewriting (a failing assert fails all the same)
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            snapshot = src_copy.parent  # the run's own copy of src/, tests/, pyproject
            args = [str(snapshot / t) for t in tests]
            args += ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:faulthandler"]
            args += ["--assert=plain", "--rootdir", str(snapshot), "-W", "ignore"]
            # not the Spark variants of the engine tests: the same survival kernels run
            # on the DuckDB variant, and a JVM per mutant costs minutes
            args += ["-m", "not spark"]
            code = pytest.main(args)
            os._exit(0 if code == 0 else 1)
        except BaseException:
            os._exit(3)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "passed" if os.waitstatus_to_exitcode(status) == 0 else "failed"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


@dataclass(frozen=True)
class Outcome:
    module: str
    line: int
    operator: str
    before: str
    after: str
    result: str  # killed (tests failed), timeout (counted killed), survived
    seconds: float


def _changed_line(original: str, mutated: str, line: int) -> tuple[str, str]:
    """The mutated statement as unparsed text, before and after (for the report)."""
    before = ast.unparse(ast.parse(original)).splitlines()
    after = mutated.splitlines()
    for a, b in zip(before, after, strict=False):
        if a != b:
            return a.strip(), b.strip()
    return (original.splitlines()[line - 1].strip() if line else "", "")


def _survivors_of(report: dict, plans: dict[str, list[Site]]) -> dict[str, list[Site]]:
    """The sites of ``plans`` whose mutant survived in ``report``."""
    wanted = {
        (m["module"], m["operator"], m["before"], m["after"])
        for m in report["mutants"]
        if m["result"] == "survived"
    }
    operators = {(m, op) for m, op, _, _ in wanted}
    chosen: dict[str, list[Site]] = {}
    for module, module_sites in plans.items():
        original = (ROOT / PACKAGE / module).read_text()
        chosen[module] = [
            site
            for site in module_sites
            if (module, site.operator) in operators  # cheap test first: mutating costs
            and (module, site.operator, *_changed_line(original, mutate(original, site), site.line))
            in wanted
        ]
    return {m: s for m, s in chosen.items() if s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="survival module file, e.g. km.py")
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds per mutant at least (3x the unmutated run when that is longer)",
    )
    parser.add_argument("--out", default="build/mutation/report.json")
    parser.add_argument("--list", action="store_true", help="count the mutants and stop")
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="NUMBA_DISABLE_JIT=1 in the mutants (no recompiling, but NOT the same numbers:"
        " interpreted, numpy keeps int8 weights int8 and overflows where numba widens them;"
        " the concordance tests fail unmutated)",
    )
    parser.add_argument("--shard", metavar="K/N", help="every N-th mutant from the K-th")
    parser.add_argument("--lines", metavar="A-B", help="only mutants on lines A to B")
    parser.add_argument(
        "--resume",
        metavar="REPORT",
        action="append",
        help="take the outcome of mutants already run in this (stopped) report",
    )
    parser.add_argument(
        "--rerun",
        metavar="REPORT",
        help="only the mutants that survived in this earlier report (matched by module,"
        " operator and the changed line, so edits elsewhere in the module do not matter)",
    )
    args = parser.parse_args()
    modules = args.module or [m for m in TESTS if (ROOT / PACKAGE / m).exists()]
    plans = {m: sites((ROOT / PACKAGE / m).read_text()) for m in modules}
    if args.rerun:
        plans = _survivors_of(json.loads(Path(args.rerun).read_text()), plans)
    if args.lines:
        first, last = (int(v) for v in args.lines.split("-"))
        plans = {m: [s for s in ss if first <= s.line <= last] for m, ss in plans.items()}
    if args.shard:
        k, n = (int(v) for v in args.shard.split("/"))
        plans = {m: [s for i, s in enumerate(ss) if i % n == k] for m, ss in plans.items()}
    done: dict[tuple[str, str, str, str], Outcome] = {}
    for path in args.resume or []:
        for m in json.loads(Path(path).read_text())["mutants"]:
            if m["result"] != "timeout" and m["seconds"] < 55.0:  # else: run it again
                done[(m["module"], m["operator"], m["before"], m["after"])] = Outcome(**m)
    for m, s in plans.items():
        print(f"{m}: {len(s)} mutants", flush=True)
    print(f"total: {sum(len(s) for s in plans.values())} mutants", flush=True)
    if args.list:
        return 0
    _preload()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        # A snapshot of src/, tests/ and pyproject.toml taken now: the tests are not read
        # from the work tree while the run goes on.  (An earlier run read them live: a
        # test committed mid-run that failed on the copied src/ made every later mutant
        # count as killed, which inflated the old cox.py's score to 402 / 407.)
        src_copy = Path(tmp) / "src"
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
        shutil.copytree(ROOT / "src", src_copy, ignore=skip)
        shutil.copytree(ROOT / "tests", Path(tmp) / "tests", ignore=skip)
        shutil.copy2(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        # numba reads these when a child first imports it (this process never does).
        # Compiled by default: the kernels the mutant does not touch come from the
        # run's own on-disk cache (a mutated module's file changes, so its kernels
        # are compiled again: several seconds per mutant of fenwick / efron_kernel).
        os.environ["NUMBA_DISABLE_JIT"] = "1" if args.no_jit else "0"
        os.environ["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cache")
        sys.dont_write_bytecode = True
        for module, module_sites in plans.items():
            target = src_copy / "netoutcomes" / "survival" / module
            original = target.read_text()
            tests = list(
                dict.fromkeys([FROZEN] + [t for t in TESTS[module] if (Path(tmp) / t).exists()])
            )
            # the unmutated (unparsed) module must pass, or the module's score means nothing
            target.write_text(ast.unparse(ast.parse(original)))
            started = time.monotonic()
            baseline = run_tests(src_copy, workdir, tests, 3600.0)
            if baseline != "passed":
                target.write_text(original)
                print(f"{module}: tests do not pass unmutated ({baseline}); skipped", flush=True)
                continue
            # a mutant is stopped (and counted killed: an endless loop) only well beyond
            # the time the unmutated tests took, so a slow machine does not kill mutants
            timeout = max(args.timeout, 3.0 * (time.monotonic() - started))
            print(f"{module}: unmutated tests pass; timeout {timeout:.0f} s per mutant", flush=True)
            for k, site in enumerate(module_sites, 1):
                mutated = mutate(original, site)
                before, after = _changed_line(original, mutated, site.line)
                earlier = done.get((module, site.operator, before, after))
                if earlier is not None:
                    outcomes.append(earlier)
                    continue
                target.write_text(mutated)
                started = time.monotonic()
                result = run_tests(src_copy, workdir, tests, timeout)
                seconds = time.monotonic() - started
                outcome = {"passed": "survived", "failed": "killed"}.get(result, "timeout")
                outcomes.append(
                    Outcome(module, site.line, site.operator, before, after, outcome, seconds)
                )
                if outcome == "survived":
                    print(f"  SURVIVED {module}:{site.line} {site.operator}: {after}", flush=True)
                if k % 25 == 0:
                    print(f"{module}: {k}/{len(module_sites)}", flush=True)
                _write_report(ROOT / args.out, outcomes, finished=False)
            target.write_text(original)
    killed = _write_report(ROOT / args.out, outcomes, finished=True)
    print(f"mutation score: {killed}/{len(outcomes)} killed", flush=True)
    return 0


def _write_report(out: Path, outcomes: list[Outcome], finished: bool) -> int:
    """The report so far (rewritten after every mutant, so a stopped run keeps its work)."""
    killed = sum(o.result in ("killed", "timeout") for o in outcomes)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "finished": finished,
        "killed": killed,
        "total": len(outcomes),
        "score": killed / len(outcomes) if outcomes else None,
        "mutants": [asdict(o) for o in outcomes],
    }
    out.write_text(json.dumps(report, indent=1))
    return killed


if __name__ == "__main__":
    raise SystemExit(main())
