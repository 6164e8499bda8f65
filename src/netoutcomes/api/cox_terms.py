"""Cox model terms -> ``CoxSpec`` design columns, named as R's ``model.matrix`` names them.

A term is a tuple of variables (``("age",)``, ``("sex", "age")`` for ``sex:age``);
a variable is a data column used by value (numeric) or as a factor (a text
column, or ``factor(x)``).  R's rules, reproduced here (checked against R in
tests/api/test_formula.py):

- a factor gets treatment contrasts (its reference level left out) when the
  term without it is in the model (the empty term counts: coxph's design has
  an intercept, dropped afterwards); otherwise every level gets a column (R's
  ``age:sex`` without ``age`` gives ``age:sexfemale`` and ``age:sexmale``);
- a term's variables are ordered as they first appear in the formula, and its
  columns run with the first variable's levels varying fastest
  (``factor(ph_ecog)0:sexfemale``, ``factor(ph_ecog)1:sexfemale``, ...);
- levels are in R's sort order (``survival.design.factor_levels``), taken from
  the rows the model uses; the reference level is the first unless chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from netoutcomes.errors import InputError
from netoutcomes.survival.design import factor_levels, is_numeric
from netoutcomes.survival.groups import format_level
from netoutcomes.survival.model_spec import DesignColumn


@dataclass(frozen=True)
class Variable:
    """A data column as a model uses it."""

    label: str  # as R prints it: "age", "sex", "factor(ph_ecog)"
    column: str  # the data column
    factor: bool  # True for a factor (explicit ``factor(x)`` or a text column)


def level_texts(values: np.ndarray) -> list[str]:
    """A column's distinct values as R's factor levels (numbers as R prints them)."""
    if is_numeric(values):
        distinct = sorted(set(np.asarray(values, dtype=np.float64).tolist()))
        return [format_level(v) for v in distinct]
    return factor_levels(np.asarray([str(v) for v in values], dtype=object))


def design_columns(
    terms: Sequence[tuple[Variable, ...]],
    columns: Mapping[str, np.ndarray],
    reference: Mapping[str, str],
) -> tuple[tuple[DesignColumn, ...], dict[str, str]]:
    """The design columns of ``terms`` on the rows of ``columns`` (the rows kept), and
    each factor's reference level (by variable label)."""
    present: set[frozenset[str]] = {frozenset(v.label for v in t) for t in terms} | {frozenset()}
    levels: dict[str, list[str]] = {}
    references: dict[str, str] = {}
    for variable in {v.label: v for t in terms for v in t}.values():
        if not variable.factor:
            continue
        found = level_texts(np.asarray(columns[variable.column]))
        ref = reference.get(variable.column, reference.get(variable.label))
        if ref is not None:
            if ref not in found:
                raise InputError(
                    f"reference: {ref!r} is not a level of {variable.column!r} "
                    f"(levels: {', '.join(found)})"
                )
            found = [ref] + [lv for lv in found if lv != ref]
        levels[variable.label] = found
        references[variable.label] = found[0]
    out: list[DesignColumn] = []
    for term in terms:
        label = ":".join(v.label for v in term)
        labels = {v.label for v in term}
        options: list[list[tuple[str, tuple[str, str | None]]]] = []
        for v in term:
            if not v.factor:
                options.append([(v.label, (v.column, None))])
                continue
            contrasts = frozenset(labels - {v.label}) in present
            used = levels[v.label][1:] if contrasts else levels[v.label]
            options.append([(f"{v.label}{lv}", (v.column, lv)) for lv in used])
        # R: the first variable's levels vary fastest
        for combo in itertools.product(*reversed(options)):
            parts = list(reversed(combo))
            out.append(
                DesignColumn(
                    name=":".join(n for n, _ in parts),
                    term=label,
                    parts=tuple(p for _, p in parts),
                )
            )
        if not any(c.term == label for c in out):
            raise InputError(
                f"singular design: covariate {label} has only one value in the rows used"
            )
    return tuple(out), references


def covariate_terms(
    covariates: Sequence[str], columns: Mapping[str, np.ndarray]
) -> list[tuple[Variable, ...]]:
    """``covariates=["age", "sex"]``: one term per column; a text column is a factor."""
    return [(Variable(c, c, not is_numeric(np.asarray(columns[c]))),) for c in covariates]
