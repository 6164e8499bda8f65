"""R's survival formulas, read with the ``formulaic`` library (no parser of our own).

``Surv(time, status) ~ age + factor(ph_ecog) + sex:age + strata(inst) + cluster(id)``
and ``Surv(start, stop, event) ~ ...``; ``*`` and ``:`` interactions are
expanded by formulaic.  Each factor of a term is one of:

- ``x``: a data column (a factor when it holds text, numeric otherwise);
- ``factor(x)``: the column as a factor (R's ``factor(ph_ecog)1`` names);
- ``C(x, contr.treatment("b"))``: a factor with reference level ``b`` (columns
  named as R names them after ``relevel(x, "b")``: ``xa``, ``xc``);
- ``strata(a, b)``: separate baseline hazards (crossed), ``cluster(id)``: robust
  SE clustered on ``id``; neither is a design column.

Column names with dots or spaces are written in backticks (`` `ph.ecog` ``).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netoutcomes.api.cox_terms import Variable
from netoutcomes.errors import InputError


@dataclass(frozen=True)
class ParsedFormula:
    """A Cox formula as named columns; factors' kinds are settled once the data is read."""

    time: str
    event: str
    entry: str | None
    terms: tuple[tuple[tuple[str, str, bool | None], ...], ...]  # (label, column, factor?)
    strata: tuple[str, ...]
    cluster: str | None
    reference: Mapping[str, str]  # column -> reference level from C(x, contr.treatment("b"))

    @property
    def columns(self) -> list[str]:
        """The data columns the right-hand side reads (not time, event or entry)."""
        names = [col for t in self.terms for _, col, _ in t]
        names += list(self.strata) + ([self.cluster] if self.cluster else [])
        return list(dict.fromkeys(names))

    def variables(self, numeric: Mapping[str, bool]) -> list[tuple[Variable, ...]]:
        """The terms as ``Variable``s, a bare column a factor unless it is numeric."""
        return [
            tuple(
                Variable(label, col, (not numeric[col]) if factor is None else factor)
                for label, col, factor in term
            )
            for term in self.terms
        ]


def _bad(formula: str, what: str) -> InputError:
    return InputError(f"formula {formula!r}: {what}")


def _name(node: ast.expr, formula: str) -> str:
    if isinstance(node, ast.Name):
        return node.id
    raise _bad(formula, f"expected a column name, got {ast.unparse(node)!r}")


def _surv(lhs: str, formula: str) -> tuple[str, str, str | None]:
    try:
        node = ast.parse(lhs.strip(), mode="eval").body
    except SyntaxError:
        raise _bad(formula, "the left-hand side must be Surv(time, event)") from None
    if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "Surv"):
        raise _bad(formula, "the left-hand side must be Surv(time, event)")
    names = [_name(a, formula) for a in node.args]
    if len(names) == 2:
        return names[0], names[1], None
    if len(names) == 3:
        return names[1], names[2], names[0]
    raise _bad(formula, "Surv() takes (time, event) or (start, stop, event)")


def _factor(expr: str, formula: str) -> tuple[str, tuple[str, str, bool | None] | None, Any]:
    """One factor of a term: ("var", (label, column, factor?), reference) or
    ("strata", None, [columns]) or ("cluster", None, column)."""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise _bad(formula, f"cannot read {expr!r}") from None
    if isinstance(node, ast.Name):
        return "var", (node.id, node.id, None), None
    if isinstance(node, ast.Call):
        fn = ast.unparse(node.func)
        if fn == "factor" and len(node.args) == 1:
            col = _name(node.args[0], formula)
            return "var", (f"factor({col})", col, True), None
        if fn == "strata" and node.args:
            return "strata", None, [_name(a, formula) for a in node.args]
        if fn == "cluster" and len(node.args) == 1:
            return "cluster", None, _name(node.args[0], formula)
        if fn == "C" and len(node.args) == 2:
            col = _name(node.args[0], formula)
            contrast = node.args[1]
            if (
                isinstance(contrast, ast.Call)
                and ast.unparse(contrast.func) == "contr.treatment"
                and len(contrast.args) == 1
                and isinstance(contrast.args[0], ast.Constant)
            ):
                return "var", (col, col, True), str(contrast.args[0].value)
    raise _bad(
        formula,
        f'{expr!r} is not supported (use columns, factor(x), C(x, contr.treatment("ref")), '
        "strata(...), cluster(id), and : or * between them)",
    )


def parse_formula(formula: str) -> ParsedFormula:
    """Read ``Surv(...) ~ terms`` with formulaic; InputError for what a Cox model cannot use."""
    from formulaic import Formula  # deferred: only formula users pay for its import

    if formula.count("~") != 1:
        raise _bad(formula, "write it as Surv(time, event) ~ terms")
    lhs, rhs = formula.split("~")
    time, event, entry = _surv(lhs, formula)
    try:
        parsed = Formula(rhs)
    except Exception as exc:
        raise _bad(formula, f"cannot read the right-hand side: {exc}") from None
    terms: list[tuple[tuple[str, str, bool | None], ...]] = []
    strata: list[str] = []
    cluster: str | None = None
    reference: dict[str, str] = {}
    for term in parsed:
        exprs = [f.expr for f in term.factors]
        if exprs == ["1"] or exprs == ["0"]:
            continue
        variables = []
        for expr in exprs:
            kind, variable, extra = _factor(expr, formula)
            if kind in {"strata", "cluster"} and len(exprs) > 1:
                raise _bad(formula, f"{expr} cannot be part of an interaction")
            if kind == "strata":
                strata += extra
            elif kind == "cluster":
                cluster = extra
            else:
                assert variable is not None
                variables.append(variable)
                if extra is not None:
                    reference[variable[1]] = extra
        if variables:
            terms.append(tuple(_in_formula_order(variables, rhs)))
    if not terms:
        raise _bad(formula, "no covariates on the right-hand side")
    return ParsedFormula(
        time, event, entry, tuple(terms), tuple(dict.fromkeys(strata)), cluster, reference
    )


def _in_formula_order(
    variables: list[tuple[str, str, bool | None]], rhs: str
) -> list[tuple[str, str, bool | None]]:
    """R orders a term's variables as they first appear in the formula (``~ age + sex:age``
    has the term ``age:sex``)."""
    import re

    def first(v: tuple[str, str, bool | None]) -> int:
        m = re.search(rf"(?<![\w.]){re.escape(v[0])}(?![\w.(])", rhs)
        return m.start() if m else len(rhs)

    return sorted(variables, key=first)
