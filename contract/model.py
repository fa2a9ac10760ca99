"""The strict pydantic base of every config model, the identifiers that become
InfluxDB tags, and the forms of the config's other strings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CPC_PATTERN = r"^\d{1,5}$"
SHARD_PATTERN = r"^[1-9][0-9]*/[1-9][0-9]*$"
TOPIC_LEVELS_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
"""Ids of sites, machines, meters and brokers: they become InfluxDB tags."""
Port = Annotated[int, Field(ge=1, le=65535)]
PositiveSeconds = Annotated[float, Field(gt=0)]


class StrictModel(BaseModel):
    """Config models reject unknown keys, so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


def one_of(value: str, known: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``known``, else the error a config check gives for it."""
    names = list(known)
    if value not in names:
        raise ValueError(f"unknown {what}; expected one of: {', '.join(names)}")
    return value
