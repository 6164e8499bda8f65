"""The study protocol: a YAML file validated with pydantic.

A protocol declares the enrolment window and the treatment that defines entry,
the eligibility rules (built from a few generic building blocks), the cohorts,
the outcomes, the survival analysis and the comparisons.  Nothing here knows
about MIBG: the agent, the scan modality and every threshold are data.

Errors name the YAML file, the line and the field (yaml node marks are kept
beside the parsed data so that a pydantic error location maps back to a line).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from netoutcomes.errors import InputError
from netoutcomes.study.protocol_base import Origin, _Strict
from netoutcomes.study.protocol_endpoints import (
    BiochemicalResponse,
    CategoricalCovariate,
    Covariate,
    CoxModel,
    DurationOfResponse,
    Endpoint,
    PfsCensoring,
    ProgressionFreeSurvival,
    SurvivalSpec,
    TimeToNextTreatment,
)
from netoutcomes.study.protocol_toxicity import Toxicity, ToxicityCategory

# the protocol's types, wherever they are defined, are imported from here
__all__ = [
    "BiochemicalResponse",
    "CategoricalCovariate",
    "Cohort",
    "CoxModel",
    "Covariate",
    "DisjointComparison",
    "DurationOfResponse",
    "EligibilityRule",
    "Endpoint",
    "Origin",
    "PfsCensoring",
    "ProgressionFreeSurvival",
    "Protocol",
    "ResponseOutcome",
    "SurvivalSpec",
    "TimeToNextTreatment",
    "Toxicity",
    "ToxicityCategory",
    "bundled_protocol_path",
    "load_protocol",
    "parse_protocol",
]


class PathError(ValueError):
    """A check across fields that knows which field is wrong (for the YAML line)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class EntryTreatment(_Strict):
    """Entry into the study: the first therapy with ``agent`` inside the window."""

    agent: str
    agent_label: str = ""  # how the report names the agent (default: the code)
    window_start: dt.date
    window_end: dt.date

    @model_validator(mode="after")
    def _window_ordered(self) -> EntryTreatment:
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self

    @property
    def agent_name(self) -> str:
        return self.agent_label or self.agent


# --- eligibility building blocks -------------------------------------------------


class StageRule(_Strict):
    """The patient's recorded stage is one of ``stages`` (e.g. IV)."""

    kind: Literal["stage"]
    id: str
    label: str = ""
    stages: list[str]


class ProgressionOnTreatmentRule(_Strict):
    """A progression event after a treatment of one of ``treatment_kinds`` started
    and before the entry therapy, within ``lookback_days`` before entry."""

    kind: Literal["progression_on_treatment"]
    id: str
    label: str = ""
    treatment_kinds: list[str]
    lookback_days: int = Field(gt=0)


class ScanAvidityRule(_Strict):
    """On the qualifying scan of ``modality`` (the latest one within
    ``lookback_days`` before entry) every lesion larger than
    ``min_lesion_size_mm`` has uptake grade >= ``min_uptake_grade``."""

    kind: Literal["scan_avidity"]
    id: str
    label: str = ""
    modality: str
    lookback_days: int = Field(default=365, gt=0)
    min_lesion_size_mm: float = Field(ge=0)
    min_uptake_grade: int = Field(ge=0)


class HistologyFilter(_Strict):
    """Any combination of site, grade, differentiation and Ki-67.  Every given filter
    must hold (``exclude_*`` filters must not); a missing value that a filter needs
    makes the match undecidable (a rule cannot assess it; a cohort leaves it out)."""

    sites: list[str] | None = None
    exclude_sites: list[str] | None = None
    grades: list[str] | None = None
    exclude_grades: list[str] | None = None
    differentiations: list[str] | None = None
    exclude_differentiations: list[str] | None = None
    ki67_min: float | None = None
    ki67_max: float | None = None


class HistologyRule(HistologyFilter):
    """The tumour matches a histology filter."""

    kind: Literal["histology"]
    id: str
    label: str = ""


EligibilityRule = Annotated[
    StageRule | ProgressionOnTreatmentRule | ScanAvidityRule | HistologyRule,
    Field(discriminator="kind"),
]


# --- cohorts, outcomes, survival, comparisons ------------------------------------


class Cohort(HistologyFilter):
    """A subset of the analysed patients, by histology."""

    id: str
    label: str


class ResponseOutcome(_Strict):
    """Best response of one assessment kind, on an ordered scale (best first)."""

    id: str
    label: str
    assessment: str
    categories: list[str]  # best first, e.g. [CR, PR, SD, PD]
    objective: list[str] = []  # categories counted in the objective response rate
    control: list[str] = []  # categories counted in the disease control rate
    objective_label: str = "objective response rate"
    control_label: str = "disease control rate"


class NestedComparison(_Strict):
    """A cohort against the cohort that contains it: descriptive differences."""

    cohort: str
    reference: str


class DisjointComparison(_Strict):
    """Two disjoint groups: log-rank, Cox HR, RMST difference."""

    group: str
    versus: str
    origin: Origin = "first_therapy"


Adjustment = Literal["holm", "bh", "none"]


class Comparisons(_Strict):
    nested: list[NestedComparison] = []
    disjoint: list[DisjointComparison] = []
    adjustment: Adjustment = "holm"
    rmst_tau_years: float | None = None  # default: the largest landmark


class Protocol(_Strict):
    name: str
    short_name: str
    entry: EntryTreatment
    eligibility: list[EligibilityRule]
    cohorts: list[Cohort] = Field(min_length=1)  # the first is the headline cohort
    outcomes: list[ResponseOutcome]
    survival: SurvivalSpec
    comparisons: Comparisons = Comparisons()
    endpoints: list[Endpoint] = []  # time-to-event endpoints beyond overall survival
    models: list[CoxModel] = []  # adjusted Cox models
    biochemical: list[BiochemicalResponse] = []  # best biochemical response per marker
    toxicity: Toxicity | None = None  # worst CTCAE grade per patient by category

    @model_validator(mode="after")
    def _references_exist(self) -> Protocol:
        ids = [c.id for c in self.cohorts]
        for i, cid in enumerate(ids):
            if cid in ids[:i]:
                raise PathError(("cohorts", i, "id"), f"cohort id {cid!r} is used twice")
        rule_ids = [r.id for r in self.eligibility]
        for i, rid in enumerate(rule_ids):
            if rid in rule_ids[:i]:
                raise PathError(("eligibility", i, "id"), f"rule id {rid!r} is used twice")
        endpoint_ids = [e.id for e in self.endpoints]
        for i, eid in enumerate(endpoint_ids):
            if eid in endpoint_ids[:i]:
                raise PathError(("endpoints", i, "id"), f"endpoint id {eid!r} is used twice")
        for i, model in enumerate(self.models):
            if model.endpoint != "overall_survival" and model.endpoint not in endpoint_ids:
                known = ", ".join(["overall_survival", *endpoint_ids])
                raise PathError(
                    ("models", i, "endpoint"), f"unknown endpoint {model.endpoint!r} ({known})"
                )
            if model.cohort is not None and model.cohort not in ids:
                raise PathError(("models", i, "cohort"), f"unknown cohort {model.cohort!r}")
        references = [
            (("comparisons", "nested", i, field), getattr(c, field))
            for i, c in enumerate(self.comparisons.nested)
            for field in ("cohort", "reference")
        ] + [
            (("comparisons", "disjoint", i, field), getattr(c, field))
            for i, c in enumerate(self.comparisons.disjoint)
            for field in ("group", "versus")
        ]
        for path, ref in references:
            if ref not in ids:
                raise PathError(path, f"unknown cohort {ref!r} (cohorts: {', '.join(ids)})")
        return self

    def cohort(self, cohort_id: str) -> Cohort:
        return next(c for c in self.cohorts if c.id == cohort_id)


# --- loading ---------------------------------------------------------------------


def _node_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[tuple, int]) -> None:
    """Record the 1-based line of every key/item, addressed by its path."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            _node_lines(value_node, child, out)
            out[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, (*path, i), out)


def _locate(loc: tuple[Any, ...], lines: dict[tuple, int]) -> tuple[int, str]:
    """Line and dotted field name of a pydantic error location.

    pydantic adds the discriminator tag to the location of union members; parts
    that are not in the YAML are dropped, except the last (a missing field)."""
    path: tuple[str | int, ...] = ()
    line = lines.get((), 1)
    for i, part in enumerate(loc):
        candidate = (*path, part)
        if candidate in lines:
            path = candidate
            line = lines[path]
        elif i == len(loc) - 1:
            path = candidate
    return line, ".".join(str(p) for p in path) or "(top level)"


def parse_protocol(text: str, source: str = "<protocol>") -> Protocol:
    """Parse and validate protocol YAML; InputError names the line and field."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{source}:{where}: not valid YAML: {problem}") from None
    if root is None or not isinstance(data, dict):
        raise InputError(f"{source}: line 1: a protocol must be a YAML mapping")
    lines: dict[tuple, int] = {}
    _node_lines(root, (), lines)
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, PathError):
            line, field = _locate((*err["loc"], *cause.path), lines)
            message = cause.message
        else:
            line, field = _locate(tuple(err["loc"]), lines)
            message = err["msg"]
        raise InputError(f"{source}: line {line}: field {field}: {message}") from None


def load_protocol(path: str | Path) -> Protocol:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read protocol: {exc.strerror}") from None
    return parse_protocol(text, source=str(path))


def bundled_protocol_path(name: str) -> Path:
    """Path of a protocol shipped with the package (e.g. ``mibg-net``)."""
    from importlib.resources import files

    return Path(str(files("netoutcomes") / "protocols" / f"{name}.yaml"))
