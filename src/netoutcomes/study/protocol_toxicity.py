"""The protocol's ``toxicity:`` section: CTCAE terms grouped into categories.

    toxicity:
      grade_threshold: 3          # rates of grade >= 3 (CTCAE "severe" and worse)
      categories:
        - {id: haematological, label: Haematological,
           terms: [neutrophil_count_decreased, platelet_count_decreased, anemia]}
        - {id: renal, label: Renal, terms: [creatinine_increased]}

A term may sit in several categories (``thrombocytopenia`` beside
``haematological``); the terms of no category make the ``other`` category.
Terms are the registry's CTCAE v5.0 codes (``registry.model.CtcaeTerm``): a
typo is an error naming its line, not a category that silently stays empty.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from netoutcomes.registry.model import CtcaeTerm
from netoutcomes.study.protocol_base import _Strict

OTHER = "other"


class ToxicityCategory(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    terms: list[str] = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _ctcae_terms(cls, terms: list[str]) -> list[str]:
        known = {t.value for t in CtcaeTerm}
        for term in terms:
            if term not in known:
                raise ValueError(
                    f"{term!r} is not a CTCAE term of the registry (e.g. "
                    "neutrophil_count_decreased, platelet_count_decreased, anemia)"
                )
        return terms


class Toxicity(_Strict):
    """Worst CTCAE grade per patient by category, and the rate of grade >= threshold."""

    grade_threshold: int = Field(default=3, ge=1, le=5)
    categories: list[ToxicityCategory] = Field(min_length=1)
    other_label: str = "Other"  # the terms of no category

    @model_validator(mode="after")
    def _ids_unique(self) -> Toxicity:
        ids = [c.id for c in self.categories]
        for i, cid in enumerate(ids):
            if cid in ids[:i] or cid == OTHER:
                raise ValueError(f"category id {cid!r} is used twice or is the reserved 'other'")
        return self

    def category_terms(self) -> dict[str, set[str]]:
        """category id -> its terms, with ``other``: every term of no category."""
        out = {c.id: set(c.terms) for c in self.categories}
        listed = set().union(*out.values())
        out[OTHER] = {t.value for t in CtcaeTerm} - listed
        return out

    def labels(self) -> dict[str, str]:
        return {**{c.id: c.label for c in self.categories}, OTHER: self.other_label}
