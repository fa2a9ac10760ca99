"""How a stored measurement is described: its tags, and each field's unit, type and
plausible range. contract/schema.py and contract/kpi_points.py describe every one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BASE_TAGS: tuple[str, ...] = ("site", "machine", "kind")

FieldType = Literal["float", "string"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    unit: str | None
    """Canonical pint unit of the stored value; ``None`` for strings and counts."""
    type: FieldType = "float"
    doc: str = ""
    limits: tuple[float, float] | None = None
    """Physically plausible range; a device value outside it is flagged, not stored."""


@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    name: str
    tags: tuple[str, ...]
    fields: Mapping[str, FieldSpec]
    doc: str = ""
    extra_tags: tuple[str, ...] = field(default=())


def measurement(
    name: str, doc: str, fields: list[FieldSpec], extra_tags: tuple[str, ...] = ()
) -> MeasurementSpec:
    return MeasurementSpec(
        name=name,
        tags=BASE_TAGS + extra_tags,
        fields={f.name: f for f in fields},
        doc=doc,
        extra_tags=extra_tags,
    )
