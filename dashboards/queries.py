"""InfluxQL for the panels, built from the schema objects so that a renamed measurement or
field breaks the generator (and its tests), never a panel in silence.

InfluxQL rather than Flux: it runs on InfluxDB 1.x, 2.x (through a DBRP mapping) and 3.x.
Grafana substitutes ``$timeFilter``, ``$__interval`` and the template variables.
"""

from __future__ import annotations

from contract.measurement import FieldSpec, MeasurementSpec

SCOPE = '"site" =~ /^$site$/ AND "kind" =~ /^$kind$/ AND "machine" =~ /^$machine$/'
"""Every panel follows the site, kind and machine selectors."""


def select(measurement: MeasurementSpec, field: FieldSpec, aggregate: str = "mean",
           by: str = '"machine"', alias: str | None = None, where: str = "",
           interval: bool = True) -> str:
    assert field.name in measurement.fields, f"{field.name} not in {measurement.name}"
    expression = f'{aggregate}("{field.name}")' if aggregate else f'"{field.name}"'
    name = f' AS "{alias}"' if alias else ""
    group = ", ".join(g for g in ("time($__interval)" if interval else "", by) if g)
    extra = f" AND {where}" if where else ""
    query = (f'SELECT {expression}{name} FROM "{measurement.name}" '
             f"WHERE {SCOPE}{extra} AND $timeFilter")
    if group:
        query += f" GROUP BY {group}"
    if interval and aggregate:
        query += " fill(none)"
    return query


def each_field(measurement: MeasurementSpec, names: list[str], scope: str, by: str = "",
               how: str = "last", where: str = "") -> str:
    """``how`` of each named field, per ``by``: one row per batch, machine or band for a
    table or bars, or a series per group."""
    for name in names:
        assert name in measurement.fields, f"{name} not in {measurement.name}"
    columns = ", ".join(f'{how}("{n}") AS "{n}"' for n in names)
    extra = f" AND {where}" if where else ""
    group = f" GROUP BY {by}" if by else ""
    return (f'SELECT {columns} FROM "{measurement.name}" WHERE {scope}{extra} '
            f"AND $timeFilter{group}")


def tag_values(measurement: MeasurementSpec, key: str, where: str = "") -> str:
    clause = f" WHERE {where}" if where else ""
    return f'SHOW TAG VALUES FROM "{measurement.name}" WITH KEY = "{key}"{clause}'
