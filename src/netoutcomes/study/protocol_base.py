"""The shared pieces of the protocol's models (kept apart so that the endpoint
definitions in ``protocol_endpoints`` and the protocol itself can share them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Origin = Literal["diagnosis", "first_therapy"]
Landmarks = list[Annotated[float, Field(gt=0)]]
