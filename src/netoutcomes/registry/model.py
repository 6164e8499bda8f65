"""The registry's domain model: one pydantic model per table, and the ordered table list.

This module is the contract between the registry and the study layer. Every
table is a CSV file ``<table>.csv`` whose header is exactly the model's field
names; every field's ``description`` feeds the generated data dictionary
(``docs/data-dictionary.md``). Coded values are ``StrEnum`` members whose value
is what is stored and written in CSV files.

Rules that need only one row live here (as pydantic validators); rules that
compare rows of several tables (birth <= diagnosis <= therapy, death is the
last event) live in ``registry.consistency``.

Clinical definitions: WHO Classification of Tumours, 5th ed. (2019) for
grading; AJCC 8th ed. for the M categories; ICD-O-3 for codes; RECIST 1.1
(Eisenhauer 2009) for response. See ``docs/registry.md``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

# A pseudonymous study id: starts with a letter, holds at least one digit, no
# spaces. The digit and the no-space rule keep names ("John Smith") out; the
# leading letter keeps bare hospital record numbers (all digits) out.
PATIENT_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*$"
PATIENT_ID_MAX_LENGTH = 32
# Ids of rows below a patient (treatments, scans, lesions, ...): short codes.
RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
RECORD_ID_MAX_LENGTH = 64
PATIENT_ID_RULE = (
    "a pseudonymous study id starts with a letter, contains at least one digit and holds "
    "only letters, digits, '-' and '_' (no spaces, no names, no bare record numbers)"
)
RECORD_ID_RULE = "an id starts with a letter or digit and holds only letters, digits, '.', '-', '_'"

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
EARLIEST_DATE = dt.date(1900, 1, 1)  # no event of a living registry predates it

# Shapes of postcodes a centre code must not have (a postcode narrows a patient's
# home to a street): US ZIP / ZIP+4, 4-6 digit codes (most of Europe, India),
# UK full and outward codes (SW1A 1AA, M1), Canadian (K1A 0B1), Dutch (1234 AB).
POSTCODE_SHAPES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"[0-9]{4,6}",
        r"[0-9]{5}[- ]?[0-9]{4}",
        r"[A-Z]{1,2}[0-9][A-Z0-9]?( ?[0-9][A-Z]{2})?",
        r"[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]",
        r"[0-9]{4} ?[A-Z]{2}",
        r"[0-9]{2,3}[- ][0-9]{3,4}",
    )
)
# What each pattern means, in words (a message never shows a regular expression).
PATTERN_RULES: dict[str, str] = {}
MBQ_PER_MCI = 37.0  # 1 mCi = 37 MBq exactly.
# activity_mbq and activity_mci given together must agree to within rounding.
MBQ_MCI_TOLERANCE = 0.01
# Impossible magnitudes (errors, not warnings): no single administration of any
# radiopharmaceutical reaches 100 GBq, and no patient has 100 cycles.
MAX_ACTIVITY_MBQ = 100_000.0
MAX_CYCLE = 99


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class PrimarySite(StrEnum):
    small_bowel = "small_bowel"
    pancreas = "pancreas"
    lung = "lung"
    stomach = "stomach"
    appendix = "appendix"
    colon = "colon"
    rectum = "rectum"
    unknown_primary = "unknown_primary"
    other = "other"


class WhoGrade(StrEnum):
    """WHO 2019 grade of a well-differentiated GEP NET (NECs are not graded G1/G2)."""

    G1 = "G1"
    G2 = "G2"
    G3 = "G3"


class Differentiation(StrEnum):
    well = "well"
    poorly = "poorly"  # neuroendocrine carcinoma (NEC)


class LungCategory(StrEnum):
    """WHO classification of lung neuroendocrine tumours (not graded G1-G3)."""

    typical = "typical"  # typical carcinoid: < 2 mitoses / 2 mm2, no necrosis
    atypical = "atypical"  # atypical carcinoid: 2-10 mitoses or focal necrosis
    LCNEC = "LCNEC"  # large-cell neuroendocrine carcinoma
    SCLC = "SCLC"  # small-cell lung carcinoma


class Stage(StrEnum):
    I = "I"  # noqa: E741 - the stage is called I
    II = "II"
    III = "III"
    IV = "IV"


class MCategory(StrEnum):
    """AJCC 8th ed. NET M1 subcategories (stage IV)."""

    M1a = "M1a"  # hepatic metastases only
    M1b = "M1b"  # extrahepatic only
    M1c = "M1c"  # both hepatic and extrahepatic


class BodySite(StrEnum):
    """Where a lesion or a metastasis is."""

    primary = "primary"
    liver = "liver"
    lymph_node = "lymph_node"
    bone = "bone"
    lung = "lung"
    peritoneum = "peritoneum"
    mesentery = "mesentery"
    other = "other"


class TreatmentKind(StrEnum):
    cytoreductive_surgery = "cytoreductive_surgery"
    somatostatin_analogue = "somatostatin_analogue"
    liver_directed = "liver_directed"
    chemotherapy = "chemotherapy"
    targeted = "targeted"
    other = "other"


class ProgressionBasis(StrEnum):
    recist = "recist"
    clinical = "clinical"
    biochemical = "biochemical"


class ScanModality(StrEnum):
    i123_mibg = "i123_mibg"  # diagnostic MIBG scan
    i131_mibg_post_therapy = "i131_mibg_post_therapy"
    ga68_dotatate = "ga68_dotatate"
    ct = "ct"
    mri = "mri"


# Semi-quantitative uptake relative to liver; the protocol decides which grades
# count as "intense" (usually 3 or 4).
UPTAKE_GRADE_MEANING: dict[int, str] = {
    0: "no uptake",
    1: "below liver",
    2: "equal to liver",
    3: "above liver",
    4: "intense: above spleen/kidney",
}


class Agent(StrEnum):
    i131_mibg = "i131_mibg"
    lu177_dotatate = "lu177_dotatate"
    other = "other"


class AssessmentKind(StrEnum):
    symptomatic = "symptomatic"
    recist = "recist"
    biomarker = "biomarker"


class SymptomaticResponse(StrEnum):
    improved = "improved"
    stable = "stable"
    worse = "worse"


class RecistResponse(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


class Biomarker(StrEnum):
    hiaa5_urine = "5hiaa_urine"
    hiaa5_plasma = "5hiaa_plasma"
    chromogranin_a = "chromogranin_a"


class VitalStatus(StrEnum):
    alive = "alive"
    dead = "dead"


# ICD-O-3 morphology codes of neuroendocrine neoplasms (DOMAIN.md).
NET_MORPHOLOGY_CODES: dict[str, str] = {
    "8240/3": "neuroendocrine tumour G1 (carcinoid)",
    "8249/3": "neuroendocrine tumour G2/G3 (atypical carcinoid)",
    "8241/3": "enterochromaffin-cell (serotonin-producing) carcinoid",
    "8246/3": "neuroendocrine carcinoma",
    "8041/3": "small-cell carcinoma",
    "8013/3": "large-cell neuroendocrine carcinoma",
    "8154/3": "mixed neuroendocrine / non-neuroendocrine neoplasm (MiNEN)",
}
MORPHOLOGY_PATTERN = r"^[0-9]{4}/[0-9]$"
TOPOGRAPHY_PATTERN = r"^C[0-9]{2}(\.[0-9])?$"
PATTERN_RULES.update(
    {
        PATIENT_ID_PATTERN: PATIENT_ID_RULE,
        RECORD_ID_PATTERN: RECORD_ID_RULE,
        MORPHOLOGY_PATTERN: "an ICD-O-3 morphology code is four digits, '/', one digit (8240/3)",
        TOPOGRAPHY_PATTERN: "an ICD-O-3 topography code is C, two digits, then optionally "
        "'.' and one digit (C17.2)",
    }
)

# Units of biomarker values (a coded column: free text could carry a name).
BIOMARKER_UNITS: dict[str, str] = {
    "mg/24h": "milligrams per 24 hours (urine)",
    "umol/24h": "micromoles per 24 hours (urine)",
    "nmol/L": "nanomoles per litre",
    "umol/L": "micromoles per litre",
    "pmol/L": "picomoles per litre",
    "ng/mL": "nanograms per millilitre",
    "ug/L": "micrograms per litre",
    "mg/L": "milligrams per litre",
    "U/L": "units per litre",
}

# Which ICD-O-3 topography codes agree with a primary site (prefix match).
TOPOGRAPHY_PREFIXES: dict[PrimarySite, tuple[str, ...]] = {
    PrimarySite.small_bowel: ("C17",),
    PrimarySite.pancreas: ("C25",),
    PrimarySite.lung: ("C34",),
    PrimarySite.stomach: ("C16",),
    PrimarySite.appendix: ("C18.1",),
    PrimarySite.colon: ("C18.0", "C18.2", "C18.3", "C18.4", "C18.5", "C18.6", "C18.7")
    + ("C18.8", "C18.9", "C19"),
    PrimarySite.rectum: ("C20",),
    PrimarySite.unknown_primary: ("C80",),
}


@dataclass(frozen=True)
class GradeThresholds:
    """WHO 2019 grading thresholds for GEP NETs; configurable for a clinic's protocol.

    G1: Ki-67 < ``ki67_g2_from`` and mitoses < ``mitoses_g2_from``;
    G3: Ki-67 > ``ki67_g3_above`` or mitoses > ``mitoses_g3_above``; G2 between.
    """

    ki67_g2_from: float = 3.0
    ki67_g3_above: float = 20.0
    mitoses_g2_from: float = 2.0
    mitoses_g3_above: float = 20.0


WHO_2019 = GradeThresholds()


def grade_from_ki67(ki67_percent: float, thresholds: GradeThresholds = WHO_2019) -> WhoGrade:
    if ki67_percent < thresholds.ki67_g2_from:
        return WhoGrade.G1
    if ki67_percent <= thresholds.ki67_g3_above:
        return WhoGrade.G2
    return WhoGrade.G3


def grade_from_mitoses(mitotic_count: float, thresholds: GradeThresholds = WHO_2019) -> WhoGrade:
    if mitotic_count < thresholds.mitoses_g2_from:
        return WhoGrade.G1
    if mitotic_count <= thresholds.mitoses_g3_above:
        return WhoGrade.G2
    return WhoGrade.G3


def derive_who_grade(
    ki67_percent: float | None,
    mitotic_count: float | None,
    thresholds: GradeThresholds = WHO_2019,
) -> WhoGrade | None:
    """The WHO 2019 grade: the higher of the Ki-67 grade and the mitotic grade.

    None when neither measurement is recorded.
    """
    grades = []
    if ki67_percent is not None:
        grades.append(grade_from_ki67(ki67_percent, thresholds))
    if mitotic_count is not None:
        grades.append(grade_from_mitoses(mitotic_count, thresholds))
    if not grades:
        return None
    return max(grades, key=lambda g: g.value)  # "G1" < "G2" < "G3"


def _text_or_none(value: Any) -> Any:
    """Blank cells are missing values (CSV and spreadsheets hold '' for 'not recorded')."""
    if isinstance(value, str) and value.strip() == "":
        return None
    return value.strip() if isinstance(value, str) else value


class RegistryRecord(BaseModel):
    """Base of every table row: strict about unknown columns, blank cell = missing."""

    # No infinities or NaN: "inf" is not a size or an activity.
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: _text_or_none(v) for k, v in data.items()}
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _iso_dates_only(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic alone would read "0" as 1970-01-01 (a Unix time): dates must be ISO.
        if (
            isinstance(value, str)
            and info.field_name in _date_fields(cls)
            and not ISO_DATE.fullmatch(value)
        ):
            raise ValueError("not a date: write dates as YYYY-MM-DD")
        codes = _case_free_codes(cls, info.field_name or "")
        if isinstance(value, str) and codes and value.strip() not in codes.values():
            # Codes are matched whatever their case ("Female", "pr"); the code is stored.
            return codes.get(value.strip().casefold().replace("µ", "u"), value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _dates_in_the_past(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dt.date) and info.field_name in _date_fields(cls):
            if value > dt.date.today():
                raise ValueError(f"date is in the future (today is {dt.date.today()})")
            if value < EARLIEST_DATE:
                raise ValueError("date is before 1900")
        return value


@functools.cache
def _case_free_codes(model: type[BaseModel], name: str) -> dict[str, str]:
    """casefolded code -> code, for a field holding an enum or declared codes."""
    field = model.model_fields.get(name)
    if field is None:
        return {}
    annotation = field.annotation
    args = typing.get_args(annotation) or (annotation,)
    for arg in args:
        if isinstance(arg, type) and issubclass(arg, StrEnum):
            return {m.value.casefold(): m.value for m in arg}
    extra = field.json_schema_extra
    codes = extra.get("codes") if isinstance(extra, dict) else None
    if isinstance(codes, dict) and field.metadata == []:  # text codes, not uptake grades
        return {str(c).casefold(): str(c) for c in codes}
    return {}


@functools.cache
def _date_fields(model: type[BaseModel]) -> frozenset[str]:
    date_types = (dt.date, dt.date | None)
    return frozenset(n for n, f in model.model_fields.items() if f.annotation in date_types)


def _codes(meanings: dict[str, str]) -> dict[str, Any]:
    """Field metadata: the codes a column allows and what they mean (for the data dictionary)."""
    return {"codes": dict(meanings)}


def _patient_id() -> Any:
    return Field(
        description=(
            "Pseudonymous study id: starts with a letter, contains a digit, only letters, "
            "digits, '-' and '_' (no names, no medical record numbers)."
        ),
        pattern=PATIENT_ID_PATTERN,
        max_length=PATIENT_ID_MAX_LENGTH,
    )


def _record_id(what: str) -> Any:
    return Field(
        description=f"Id of the {what}, unique in the registry (letters, digits, '.', '-', '_').",
        pattern=RECORD_ID_PATTERN,
        max_length=RECORD_ID_MAX_LENGTH,
    )


class Patient(RegistryRecord):
    patient_id: str = _patient_id()
    sex: Sex = Field(description="Sex recorded at registration.")
    birth_year: int = Field(
        description="Year of birth (the registry holds no full birth date); not in the future.",
        ge=1900,
        le=2100,
    )
    site: str = Field(
        description="Treating centre (short code, not a postcode).",
        pattern=RECORD_ID_PATTERN,
        max_length=RECORD_ID_MAX_LENGTH,
    )

    @field_validator("birth_year")
    @classmethod
    def _born(cls, year: int) -> int:
        if year > dt.date.today().year:
            raise ValueError(f"birth_year is in the future (this year is {dt.date.today().year})")
        return year

    @field_validator("site")
    @classmethod
    def _not_a_postcode(cls, site: str) -> str:
        if any(shape.fullmatch(site) for shape in POSTCODE_SHAPES):
            raise ValueError(
                "looks like a postcode (a postcode narrows down where a patient lives); "
                "use the centre's short code, e.g. CTR1"
            )
        return site


class Diagnosis(RegistryRecord):
    """The index (histologically confirmed) NET diagnosis: one per patient."""

    patient_id: str = _patient_id()
    diagnosis_date: dt.date = Field(description="Date of histological diagnosis (YYYY-MM-DD).")
    primary_site: PrimarySite = Field(description="Site of the primary tumour.")
    icdo3_topography: str | None = Field(
        default=None,
        description="ICD-O-3 topography code, e.g. C17.2 (ileum); must agree with primary_site.",
        pattern=TOPOGRAPHY_PATTERN,
    )
    icdo3_morphology: str | None = Field(
        default=None,
        description="ICD-O-3 morphology code of a neuroendocrine neoplasm, e.g. 8240/3.",
        pattern=MORPHOLOGY_PATTERN,
        json_schema_extra=_codes(NET_MORPHOLOGY_CODES),
    )
    differentiation: Differentiation | None = Field(
        default=None, description="well, or poorly (= neuroendocrine carcinoma, NEC)."
    )
    who_grade: WhoGrade | None = Field(
        default=None,
        description=(
            "WHO 2019 grade as recorded by the pathologist (GEP NETs); flagged when it "
            "contradicts the grade derived from ki67_percent and mitotic_count."
        ),
    )
    ki67_percent: float | None = Field(
        default=None, description="Ki-67 proliferation index in percent.", ge=0, le=100
    )
    mitotic_count: float | None = Field(default=None, description="Mitotic count per 2 mm2.", ge=0)
    lung_category: LungCategory | None = Field(
        default=None, description="WHO category of a lung NET (only when primary_site is lung)."
    )
    stage: Stage | None = Field(default=None, description="AJCC 8th ed. stage at diagnosis.")
    m_category: MCategory | None = Field(
        default=None,
        description="Stage IV M1 subcategory: M1a hepatic only, M1b extrahepatic only, M1c both.",
    )
    metastatic_sites: str | None = Field(
        default=None,
        description=(
            "Sites of distant metastasis, separated by ';' (values: "
            + ", ".join(s.value for s in BodySite if s is not BodySite.primary)
            + ")."
        ),
    )

    @field_validator("icdo3_morphology")
    @classmethod
    def _known_morphology(cls, code: str | None) -> str | None:
        if code is not None and code not in NET_MORPHOLOGY_CODES:
            known = ", ".join(NET_MORPHOLOGY_CODES)
            raise ValueError(f"not a neuroendocrine ICD-O-3 morphology code (known: {known})")
        return code

    @field_validator("metastatic_sites")
    @classmethod
    def _known_sites(cls, text: str | None) -> str | None:
        if text is None:
            return None
        sites = [s.strip() for s in text.split(";") if s.strip()]
        allowed = {s.value for s in BodySite if s is not BodySite.primary}
        unknown = [s for s in sites if s not in allowed]
        if unknown:
            raise ValueError(f"unknown metastatic site {unknown[0]!r} (allowed: {sorted(allowed)})")
        return ";".join(sites) or None

    @model_validator(mode="after")
    def _consistent(self) -> Diagnosis:
        if self.icdo3_topography is not None and self.primary_site in TOPOGRAPHY_PREFIXES:
            prefixes = TOPOGRAPHY_PREFIXES[self.primary_site]
            if not self.icdo3_topography.startswith(prefixes):
                raise ValueError(
                    f"icdo3_topography {self.icdo3_topography} does not agree with primary_site "
                    f"{self.primary_site.value} (expected {'/'.join(prefixes)}...)"
                )
        if self.lung_category is not None and self.primary_site is not PrimarySite.lung:
            raise ValueError("lung_category is only for primary_site lung")
        if self.differentiation is Differentiation.poorly and self.who_grade in (
            WhoGrade.G1,
            WhoGrade.G2,
        ):
            raise ValueError("a poorly differentiated tumour (NEC) is not graded G1/G2")
        if self.m_category is not None and self.stage is not Stage.IV:
            raise ValueError("m_category (M1a/M1b/M1c) requires stage IV")
        sites = split_sites(self.metastatic_sites)
        if sites and self.stage is not None and self.stage is not Stage.IV:
            raise ValueError("metastatic_sites (distant metastases) require stage IV")
        if sites and self.m_category is not None and m_category_of(sites) != self.m_category:
            raise ValueError(
                f"m_category {self.m_category.value} contradicts metastatic_sites "
                f"{self.metastatic_sites}, which give {m_category_of(sites).value} "
                "(AJCC 8th: M1a hepatic only, M1b extrahepatic only, M1c both)"
            )
        return self

    @property
    def derived_grade(self) -> WhoGrade | None:
        """WHO 2019 grade from Ki-67 and mitoses (higher of the two), default thresholds."""
        return derive_who_grade(self.ki67_percent, self.mitotic_count)

    @property
    def grade(self) -> WhoGrade | None:
        """The grade to analyse: the recorded one, else the one derived from Ki-67/mitoses."""
        return self.who_grade if self.who_grade is not None else self.derived_grade

    def grade_conflict(self, thresholds: GradeThresholds = WHO_2019) -> str | None:
        """A message when the recorded grade (or lung category) contradicts the counts.

        GEP NETs: ``who_grade`` against Ki-67 and mitoses (WHO 2019). Lung NETs:
        ``lung_category`` against the mitotic count (typical < 2, atypical 2-10,
        LCNEC/SCLC > 10 per 2 mm2); an atypical carcinoid with fewer mitoses is
        allowed, since focal necrosis alone makes it atypical.
        """
        if self.primary_site is PrimarySite.lung:
            return self._lung_conflict()
        if self.who_grade is None:
            return None
        derived = derive_who_grade(self.ki67_percent, self.mitotic_count, thresholds)
        if derived is None or derived == self.who_grade:
            return None
        measured = []
        if self.ki67_percent is not None:
            measured.append(f"Ki-67 {self.ki67_percent:g}%")
        if self.mitotic_count is not None:
            measured.append(f"{self.mitotic_count:g} mitoses per 2 mm2")
        return (
            f"who_grade {self.who_grade.value} contradicts {' and '.join(measured)}, "
            f"which gives {derived.value} (WHO 2019: the higher of the Ki-67 and mitotic grades)"
        )

    def _lung_conflict(self) -> str | None:
        mitoses, category = self.mitotic_count, self.lung_category
        if mitoses is None or category is None:
            return None
        high_grade = category in (LungCategory.LCNEC, LungCategory.SCLC)
        if (
            (category is LungCategory.typical and mitoses >= 2)
            or (category is LungCategory.atypical and mitoses > 10)
            or (high_grade and mitoses <= 10)
        ):
            return (
                f"lung_category {category.value} contradicts {mitoses:g} mitoses per 2 mm2 "
                "(WHO: typical < 2, atypical 2-10, LCNEC/SCLC > 10)"
            )
        return None


def m_category_of(sites: list[BodySite]) -> MCategory:
    """AJCC 8th M1 subcategory of a set of distant metastatic sites."""
    if BodySite.liver not in sites:
        return MCategory.M1b
    return MCategory.M1a if set(sites) == {BodySite.liver} else MCategory.M1c


class Treatment(RegistryRecord):
    """A standard-of-care treatment."""

    patient_id: str = _patient_id()
    treatment_id: str = _record_id("treatment")
    kind: TreatmentKind = Field(description="Kind of standard-of-care treatment.")
    start_date: dt.date = Field(description="Start date (YYYY-MM-DD).")
    end_date: dt.date | None = Field(
        default=None, description="End date (YYYY-MM-DD); blank while ongoing."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Treatment:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        return self


class Progression(RegistryRecord):
    patient_id: str = _patient_id()
    progression_id: str = _record_id("progression event")
    date: dt.date = Field(description="Date progression was documented (YYYY-MM-DD).")
    basis: ProgressionBasis = Field(description="Evidence: RECIST 1.1, clinical, biochemical.")


class Scan(RegistryRecord):
    patient_id: str = _patient_id()
    scan_id: str = _record_id("scan")
    date: dt.date = Field(description="Scan date (YYYY-MM-DD).")
    modality: ScanModality = Field(description="Imaging modality / tracer.")


class Lesion(RegistryRecord):
    scan_id: str = _record_id("scan the lesion was seen on")
    lesion_id: str = Field(
        description="Id of the lesion, unique within its scan.",
        pattern=RECORD_ID_PATTERN,
        max_length=RECORD_ID_MAX_LENGTH,
    )
    site: BodySite = Field(description="Organ or region of the lesion.")
    longest_diameter_mm: float | None = Field(
        default=None, description="Longest diameter in mm (> 0).", gt=0
    )
    uptake_grade: int | None = Field(
        default=None,
        description=(
            "Tracer uptake relative to liver: "
            + "; ".join(f"{k} {v}" for k, v in UPTAKE_GRADE_MEANING.items())
            + ". The protocol decides which grades count as intense."
        ),
        ge=0,
        le=4,
        json_schema_extra=_codes({str(k): v for k, v in UPTAKE_GRADE_MEANING.items()}),
    )


class Therapy(RegistryRecord):
    """A radiopharmaceutical therapy administration."""

    patient_id: str = _patient_id()
    therapy_id: str = _record_id("therapy administration")
    agent: Agent = Field(description="Radiopharmaceutical.")
    date: dt.date = Field(description="Administration date (YYYY-MM-DD).")
    activity_mbq: float = Field(
        description=(
            "Administered activity in MBq (> 0). An activity_mci column is accepted on "
            "import instead and converted (1 mCi = 37 MBq); given both, they must agree."
        ),
        gt=0,
        le=MAX_ACTIVITY_MBQ,
    )
    cycle: int = Field(
        description="Cycle number, 1 for the first administration.", ge=1, le=MAX_CYCLE
    )

    @model_validator(mode="before")
    @classmethod
    def _mci_to_mbq(cls, data: Any) -> Any:
        if not (isinstance(data, dict) and "activity_mci" in data):
            return data
        data = dict(data)
        mci_text = _text_or_none(data.pop("activity_mci"))
        if mci_text is None:
            return data
        mci = _positive_number(mci_text)
        if mci is None:
            raise ValueError(f"activity_mci {mci_text!r} is not a positive number of mCi")
        mbq_text = _text_or_none(data.get("activity_mbq"))
        if mbq_text is None:
            data["activity_mbq"] = mci * MBQ_PER_MCI
            return data
        mbq = _positive_number(mbq_text)
        if mbq is not None and abs(mbq - mci * MBQ_PER_MCI) > MBQ_MCI_TOLERANCE * mbq:
            raise ValueError(
                f"activity_mci {mci:g} mCi ({mci * MBQ_PER_MCI:g} MBq) and activity_mbq "
                f"{mbq:g} MBq disagree (1 mCi = 37 MBq; give one of the two)"
            )
        return data


def _positive_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


class Assessment(RegistryRecord):
    """One response assessment: symptomatic, RECIST 1.1 or a biomarker value."""

    patient_id: str = _patient_id()
    assessment_id: str = _record_id("assessment")
    date: dt.date = Field(description="Assessment date (YYYY-MM-DD).")
    kind: AssessmentKind = Field(description="Which of the response fields is filled.")
    symptomatic_response: SymptomaticResponse | None = Field(
        default=None, description="Carcinoid-syndrome symptoms (kind symptomatic)."
    )
    recist_response: RecistResponse | None = Field(
        default=None, description="RECIST 1.1 overall response (kind recist)."
    )
    biomarker: Biomarker | None = Field(
        default=None, description="Marker measured (kind biomarker)."
    )
    value: float | None = Field(default=None, description="Biomarker value (>= 0).", ge=0)
    unit: str | None = Field(
        default=None,
        description="Unit of the biomarker value (a code, so that no free text rides along).",
        json_schema_extra=_codes(BIOMARKER_UNITS),
    )

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None and unit not in BIOMARKER_UNITS:
            raise ValueError(f"not a known unit (known: {', '.join(BIOMARKER_UNITS)})")
        return unit

    @model_validator(mode="after")
    def _kind_fields(self) -> Assessment:
        required = {
            AssessmentKind.symptomatic: ("symptomatic_response",),
            AssessmentKind.recist: ("recist_response",),
            AssessmentKind.biomarker: ("biomarker", "value", "unit"),
        }[self.kind]
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"kind {self.kind.value} requires {', '.join(missing)}")
        return self


class Followup(RegistryRecord):
    patient_id: str = _patient_id()
    last_contact_date: dt.date = Field(description="Date the patient was last known alive or died.")
    vital_status: VitalStatus = Field(description="Vital status at last contact.")
    death_date: dt.date | None = Field(
        default=None, description="Date of death; required when vital_status is dead."
    )
    death_cause: str | None = Field(
        default=None,
        description="Cause of death (free text; dropped from de-identified exports).",
        max_length=200,
        json_schema_extra={"free_text": True},
    )

    @model_validator(mode="after")
    def _death_agrees(self) -> Followup:
        if self.vital_status is VitalStatus.dead and self.death_date is None:
            raise ValueError("vital_status dead requires death_date")
        if self.vital_status is VitalStatus.alive and self.death_date is not None:
            raise ValueError("death_date given but vital_status is alive")
        if self.vital_status is VitalStatus.alive and self.death_cause is not None:
            raise ValueError("death_cause given but vital_status is alive")
        if self.death_date is not None and self.last_contact_date > self.death_date:
            raise ValueError(
                f"last_contact_date {self.last_contact_date} is after death_date {self.death_date}"
            )
        return self


class CtcaeTerm(StrEnum):
    """CTCAE v5.0 terms (NCI, 2017) seen after radiopharmaceutical therapy, snake_case.

    A term not listed is recorded as ``other`` (no free text: it could carry a name).
    """

    neutrophil_count_decreased = "neutrophil_count_decreased"
    platelet_count_decreased = "platelet_count_decreased"
    anemia = "anemia"
    white_blood_cell_decreased = "white_blood_cell_decreased"
    lymphocyte_count_decreased = "lymphocyte_count_decreased"
    febrile_neutropenia = "febrile_neutropenia"
    myelodysplastic_syndrome = "myelodysplastic_syndrome"
    creatinine_increased = "creatinine_increased"
    acute_kidney_injury = "acute_kidney_injury"
    chronic_kidney_disease = "chronic_kidney_disease"
    alanine_aminotransferase_increased = "alanine_aminotransferase_increased"
    aspartate_aminotransferase_increased = "aspartate_aminotransferase_increased"
    blood_bilirubin_increased = "blood_bilirubin_increased"
    alkaline_phosphatase_increased = "alkaline_phosphatase_increased"
    nausea = "nausea"
    vomiting = "vomiting"
    diarrhea = "diarrhea"
    fatigue = "fatigue"
    abdominal_pain = "abdominal_pain"
    hypothyroidism = "hypothyroidism"
    hypertension = "hypertension"
    alopecia = "alopecia"
    other = "other"


# The highest grade CTCAE v5.0 defines for a term (the others reach 5, death): a
# laboratory value is not itself a cause of death, and nausea, fatigue and alopecia
# stop at 3, 3 and 2. A higher grade is impossible, so an error.
CTCAE_MAX_GRADE: dict[CtcaeTerm, int] = {
    CtcaeTerm.neutrophil_count_decreased: 4,
    CtcaeTerm.platelet_count_decreased: 4,
    CtcaeTerm.white_blood_cell_decreased: 4,
    CtcaeTerm.lymphocyte_count_decreased: 4,
    CtcaeTerm.creatinine_increased: 4,
    CtcaeTerm.alanine_aminotransferase_increased: 4,
    CtcaeTerm.aspartate_aminotransferase_increased: 4,
    CtcaeTerm.blood_bilirubin_increased: 4,
    CtcaeTerm.alkaline_phosphatase_increased: 4,
    CtcaeTerm.nausea: 3,
    CtcaeTerm.fatigue: 3,
    CtcaeTerm.alopecia: 2,
}

CTCAE_GRADE_MEANING: dict[int, str] = {
    1: "mild",
    2: "moderate",
    3: "severe or medically significant",
    4: "life-threatening",
    5: "death related to the adverse event",
}


class Attribution(StrEnum):
    """How likely the adverse event was caused by the therapy (NCI attribution scale)."""

    unrelated = "unrelated"
    unlikely = "unlikely"
    possible = "possible"
    probable = "probable"
    definite = "definite"


class AdverseEvent(RegistryRecord):
    """One adverse event graded by CTCAE v5.0, optionally linked to a therapy administration."""

    patient_id: str = _patient_id()
    ae_id: str = _record_id("adverse event")
    term: CtcaeTerm = Field(description="CTCAE v5.0 term (snake_case); other when not listed.")
    grade: int = Field(
        description=(
            "CTCAE v5.0 grade: "
            + "; ".join(f"{k} {v}" for k, v in CTCAE_GRADE_MEANING.items())
            + ". Not above the highest grade CTCAE defines for the term."
        ),
        ge=1,
        le=5,
        json_schema_extra=_codes({str(k): v for k, v in CTCAE_GRADE_MEANING.items()}),
    )
    onset_date: dt.date = Field(description="Date of onset (YYYY-MM-DD).")
    therapy_id: str | None = Field(
        default=None,
        description=(
            "The therapy administration (therapies.therapy_id) the event followed, which "
            "gives its agent and cycle; blank when not linked to a therapy."
        ),
        pattern=RECORD_ID_PATTERN,
        max_length=RECORD_ID_MAX_LENGTH,
    )
    attribution: Attribution | None = Field(
        default=None,
        description="Attribution to the therapy (unrelated ... definite); blank when not assessed.",
    )

    @model_validator(mode="after")
    def _grade_defined(self) -> AdverseEvent:
        highest = CTCAE_MAX_GRADE.get(self.term, 5)
        if self.grade > highest:
            raise ValueError(
                f"grade {self.grade} is not defined for {self.term.value} "
                f"(CTCAE v5.0 grades it 1-{highest})"
            )
        return self


@dataclass(frozen=True)
class ForeignKey:
    """``columns`` of this table refer to the primary key of ``parent``."""

    parent: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[RegistryRecord]
    primary_key: tuple[str, ...]
    foreign_key: ForeignKey | None
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.model.model_fields)


def _spec(
    name: str,
    model: type[RegistryRecord],
    primary_key: tuple[str, ...],
    parent: str | None,
    description: str,
    fk_columns: tuple[str, ...] = ("patient_id",),
) -> TableSpec:
    fk = ForeignKey(parent, fk_columns) if parent else None
    return TableSpec(name, model, primary_key, fk, description)


# Ordered so that every parent comes before its children (import and export order).
TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        _spec("patients", Patient, ("patient_id",), None, "One row per patient."),
        _spec(
            "diagnoses",
            Diagnosis,
            ("patient_id",),
            "patients",
            "The index (histologically confirmed) NET diagnosis: one per patient.",
        ),
        _spec("treatments", Treatment, ("treatment_id",), "patients", "Standard of care."),
        _spec("progressions", Progression, ("progression_id",), "patients", "Progression events."),
        _spec("scans", Scan, ("scan_id",), "patients", "Imaging studies."),
        _spec(
            "lesions",
            Lesion,
            ("scan_id", "lesion_id"),
            "scans",
            "Lesions seen on a scan.",
            fk_columns=("scan_id",),
        ),
        _spec("therapies", Therapy, ("therapy_id",), "patients", "Radiopharmaceutical therapy."),
        _spec("assessments", Assessment, ("assessment_id",), "patients", "Response assessments."),
        _spec("followup", Followup, ("patient_id",), "patients", "Last contact and vital status."),
        _spec(
            "adverse_events",
            AdverseEvent,
            ("ae_id",),
            "patients",
            "Adverse events graded by CTCAE v5.0.",
        ),
    )
}


def table_of(model: type[RegistryRecord]) -> TableSpec:
    """The table a model is stored in."""
    for spec in TABLES.values():
        if spec.model is model:
            return spec
    raise KeyError(model.__name__)


def split_sites(metastatic_sites: str | None) -> list[BodySite]:
    """The ';'-separated metastatic_sites cell as a list."""
    if not metastatic_sites:
        return []
    return [BodySite(s) for s in re.split(r"\s*;\s*", metastatic_sites.strip()) if s]
