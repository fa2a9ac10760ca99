"""The strict pydantic base of every config model, and the identifiers that become
InfluxDB tags."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
"""Ids of sites, machines, meters and brokers: they become InfluxDB tags."""
Port = Annotated[int, Field(ge=1, le=65535)]
PositiveSeconds = Annotated[float, Field(gt=0)]


class StrictModel(BaseModel):
    """Config models reject unknown keys, so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
