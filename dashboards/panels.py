"""Panel specifications and their grafanalib objects.

A dashboard is a list of :class:`PanelSpec`; :func:`build` turns it into grafanalib panels
with ids, InfluxQL targets on the provisioned data source, units and grid positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from grafanalib.core import BarChart, Panel, Stat, StateTimeline, Table, TimeSeries
from grafanalib.influxdb import InfluxDBTarget

from contract.machine_state import MachineState
from dashboards.layout import Cursor

DATASOURCE_UID = "circlemade-influxdb"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}

STATE_COLOURS = {"running": "green", "idle": "yellow", "stopped": "orange", "fault": "red",
                 "maintenance": "blue", "offline": "gray"}
STATE_MAPPINGS = [{"type": "value", "options": {
    key: {"text": state.value, "color": STATE_COLOURS[state.value], "index": i}
    for i, state in enumerate(MachineState) for key in (state.value, str(state.code))}}]
"""By name (InfluxQL reads ``state``) and by code (PromQL reads ``state_code``)."""

Kind = Literal["timeseries", "stat", "state", "table", "pareto", "ranking", "urgency", "bars"]
PARETO = [  # one row per series (a reason) with its total, largest first
    {"id": "reduce", "options": {"reducers": ["sum"], "mode": "seriesToRows"}},
    {"id": "sortBy", "options": {"sort": [{"field": "Total", "desc": True}]}},
]

RANKING = [  # one row per series (a member) with its value, lowest first
    {"id": "reduce", "options": {"reducers": ["lastNotNull"], "mode": "seriesToRows"}},
    {"id": "sortBy", "options": {"sort": [{"field": "Last *", "desc": False}]}},
]

URGENCY = [  # the rows of every series in one table, the most used interval first
    {"id": "merge", "options": {}},
    {"id": "sortBy", "options": {"sort": [{"field": "due_pct", "desc": True}]}},
]


@dataclass
class PanelSpec:
    title: str
    kind: Kind
    queries: list[str]
    width: int
    height: int = 8
    unit: str = ""
    description: str = ""
    decimals: int | None = None
    expects: Literal["number", "text"] = "number"
    """What the queries return; the dashboard test checks it."""
    options: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    """Legend names of the queries' series (InfluxDB patterns such as ``$tag_kind``)."""


def build(specs: list[PanelSpec]) -> list[Panel]:
    cursor = Cursor()
    panels = []
    for number, spec in enumerate(specs, 1):
        table = spec.kind in ("table", "urgency", "bars")
        names = spec.aliases or [""] * len(spec.queries)
        targets = [InfluxDBTarget(query=q, refId=chr(ord("A") + i), datasource=DATASOURCE,
                                  format="table" if table else "time_series", alias=name)
                   for i, (q, name) in enumerate(zip(spec.queries, names, strict=True))]
        common: dict[str, Any] = {"title": spec.title, "dataSource": DATASOURCE,
                                  "targets": targets, "id": number,
                                  "gridPos": cursor.place(spec.width, spec.height),
                                  "description": spec.description}
        panel: Panel
        if spec.kind == "timeseries":
            panel = TimeSeries(unit=spec.unit, valueDecimals=spec.decimals, **common)
        elif spec.kind == "stat":
            panel = Stat(format=spec.unit or "none", decimals=spec.decimals,
                         mappings=STATE_MAPPINGS if spec.expects == "text" else [],
                         reduceCalc="lastNotNull", textMode="value_and_name",
                         graphMode="none", **common)
        elif spec.kind == "state":
            panel = StateTimeline(mappings=STATE_MAPPINGS, showValue="never", **common)
        elif spec.kind == "ranking":
            panel = Table(unit=spec.unit, transformations=RANKING, **common)
        elif spec.kind == "urgency":
            panel = Table(unit=spec.unit, transformations=URGENCY, **common)
        elif spec.kind == "bars":  # one bar group per row (a batch), side by side
            panel = BarChart(transformations=[{"id": "merge", "options": {}}], **common)
        elif spec.kind == "pareto":
            panel = BarChart(transformations=PARETO, orientation="horizontal",
                             showLegend=False, **common)
        else:
            panel = Table(unit=spec.unit, **common)
        panels.append(panel)
    return panels
