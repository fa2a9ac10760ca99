"""The ten dashboards: shop floor, machine, energy, material and scrap, losses,
equipment life, products (dashboards/products.py), site energy
(dashboards/site_energy.py), neighbours (dashboards/neighbours.py), edge health.

Every query is built from :mod:`contract.schema`; widths of each row add up to 24 columns.
"""

from __future__ import annotations

from typing import Any

from grafanalib.core import Annotations, Dashboard, Template, Templating, Time

from contract.kpi_points import (
    ALERT,
    CIRCULARITY,
    DOWNTIME,
    JOB,
    LIFETIME,
    MAINTENANCE,
    MATERIAL,
    MATERIAL_LOT,
    OEE,
    RELIABILITY,
    SCRAP,
)
from contract.product_points import BATCH
from contract.schema import EDGE_HEALTH, ENERGY, MACHINE_STATE, OPERATOR_INPUT, TELEMETRY
from dashboards.grafana_json import dashboard_json
from dashboards.neighbours import neighbours
from dashboards.panels import DATASOURCE, PanelSpec, build
from dashboards.products import products
from dashboards.queries import SCOPE, select, tag_values
from dashboards.site_energy import site_energy

F = {m.name: m.fields for m in (CIRCULARITY, DOWNTIME, EDGE_HEALTH, ENERGY, JOB, LIFETIME,
                                MACHINE_STATE, MAINTENANCE, MATERIAL, MATERIAL_LOT, OEE,
                                OPERATOR_INPUT, RELIABILITY, SCRAP, TELEMETRY)}
DAY, HOUR, SHIFT = "\"window\" = 'day'", "\"window\" = 'hour'", "\"window\" = 'shift'"
HEALTH_SCOPE = '"site" =~ /^$site$/'


def _fields(measurement: str, names: list[str], where: str = "", by: str = "") -> str:
    for name in names:
        assert name in F[measurement], f"{name} not in {measurement}"
    columns = ", ".join(f'"{n}"' for n in names)
    extra = f" AND {where}" if where else ""
    group = f" GROUP BY {by}" if by else ""
    return f'SELECT {columns} FROM "{measurement}" WHERE {SCOPE}{extra} AND $timeFilter{group}'


def shop_floor() -> list[PanelSpec]:
    state = F["machine_state"]["state"]
    return [
        PanelSpec("States", "state", [select(MACHINE_STATE, state, "last")], 24,
                  expects="text", description="What each machine did: running, idle, "
                  "stopped, fault, maintenance, offline (the last state of each interval "
                  "Grafana draws: over a month, an hour)."),
        PanelSpec("Now", "stat", [select(MACHINE_STATE, state, "last", interval=False)], 8,
                  expects="text"),
        PanelSpec("OEE today", "stat", [select(OEE, F["oee"]["oee"], "last", where=DAY,
                                               interval=False)], 8, unit="percentunit",
                  decimals=1),
        PanelSpec("Availability, performance, quality (hourly)", "timeseries",
                  [select(OEE, F["oee"][name], "mean", where=HOUR, alias=name)
                   for name in ("availability", "performance", "quality")], 8,
                  unit="percentunit"),
        PanelSpec("Energy today", "stat", [select(CIRCULARITY, F["circularity"]["energy_kwh"],
                                                  "sum", where=HOUR, interval=False)], 6,
                  unit="kwatth", decimals=2),
        PanelSpec("Material today", "stat", [select(CIRCULARITY, F["circularity"]["material_g"],
                                                    "sum", where=HOUR, interval=False)], 6,
                  unit="massg", decimals=0),
        PanelSpec("Scrap today", "stat", [select(CIRCULARITY, F["circularity"]["scrap_g"],
                                                 "sum", where=HOUR, interval=False)], 6,
                  unit="massg", decimals=0),
        PanelSpec("Jobs by outcome", "stat", [select(JOB, F["job"]["duration_s"], "count",
                                                     by='"outcome"', interval=False)], 6),
    ]


def machine() -> list[PanelSpec]:
    t = F["telemetry"]
    return [
        PanelSpec("Temperatures", "timeseries", [
            select(TELEMETRY, t[name], alias=name)
            for name in ("nozzle_temp_c", "bed_temp_c", "chamber_temp_c")], 8, unit="celsius"),
        PanelSpec("Spindle", "timeseries", [select(TELEMETRY, t["spindle_speed_rpm"])], 8,
                  unit="rotrpm"),
        PanelSpec("Progress", "timeseries", [select(TELEMETRY, t["progress_pct"], "max")], 8,
                  unit="percent"),
        PanelSpec("Power", "timeseries", [select(ENERGY, F["energy"]["power_w"],
                                                 by='"machine", "meter"')], 12, unit="watt"),
        PanelSpec("State", "state", [select(MACHINE_STATE, F["machine_state"]["state"],
                                            "last")], 12, expects="text"),
        PanelSpec("Jobs", "table", [_fields("job", ["job", "duration_s", "good_parts",
                                                     "scrap_parts", "energy_kwh", "material_g",
                                                     "co2e_kg"], by='"machine", "outcome"')],
                  24, expects="text"),
        PanelSpec("OEE by shift", "timeseries", [
            select(OEE, F["oee"][name], "mean", where=SHIFT, alias=name)
            for name in ("oee", "availability", "performance", "quality")], 24,
            unit="percentunit"),
    ]


def energy() -> list[PanelSpec]:
    c = F["circularity"]
    return [
        PanelSpec("Power by machine", "timeseries", [select(ENERGY, F["energy"]["power_w"])],
                  12, unit="watt"),
        PanelSpec("Energy by kind", "timeseries", [select(CIRCULARITY, c["energy_kwh"], "sum",
                                                          by='"kind"', where=HOUR)], 12,
                  unit="kwatth"),
        PanelSpec("kWh per good part", "timeseries", [select(CIRCULARITY,
                                                             c["kwh_per_good_part"],
                                                             where=DAY)], 8, unit="kwatth"),
        PanelSpec("CO2e of jobs", "timeseries", [select(JOB, F["job"]["co2e_kg"], "sum")], 8,
                  unit="masskg"),
        PanelSpec("Standby share of energy", "timeseries", [select(CIRCULARITY,
                                                                   c["standby_share"],
                                                                   where=HOUR)], 8,
                  unit="percentunit", description="Energy used while not running."),
    ]


def material() -> list[PanelSpec]:
    c = F["circularity"]
    return [
        PanelSpec("Material by machine and material", "timeseries", [
            select(MATERIAL, F["material"]["consumed_g"], "max",
                   by='"machine", "material"')], 12, unit="massg"),
        PanelSpec("Scrap rate", "timeseries", [
            select(CIRCULARITY, c[name], where=HOUR, alias=name)
            for name in ("scrap_rate_count", "scrap_rate_mass")], 12, unit="percentunit"),
        PanelSpec("Grams per good part", "timeseries", [select(CIRCULARITY,
                                                               c["g_per_good_part"],
                                                               where=HOUR)], 12, unit="massg"),
        PanelSpec("Failed and aborted jobs", "timeseries", [
            select(JOB, F["job"]["duration_s"], "count", where="\"outcome\" != 'good'")],
            12),
        PanelSpec("Material lots", "table", [_fields(
            "material_lot", ["lot", "material", "recycled_pct", "consumed_g", "recycled_g",
                             "supplier"], by='"machine"')], 12, expects="text",
            description="The lots people loaded, and how much of each was used."),
        PanelSpec("Recycled share of material (daily)", "timeseries", [
            select(CIRCULARITY, c["recycled_share"], where=DAY)], 12, unit="percentunit"),
    ]


def losses() -> list[PanelSpec]:
    d, scrap = F["downtime"], F["scrap"]
    return [
        PanelSpec("Availability losses by reason", "pareto", [
            select(DOWNTIME, d["lost_s"], "sum", by='"reason"', interval=False)], 12,
            unit="s", description="Planned time the machines stood still, by the reason "
            "people gave (unassigned: nobody said), largest first."),
        PanelSpec("Quality losses by scrap reason", "pareto", [
            select(SCRAP, scrap["scrap_parts"], "sum", by='"reason"', interval=False)], 12,
            description="Parts people judged scrap, by reason, largest first."),
        PanelSpec("Stop time without a reason", "stat", [
            select(DOWNTIME, d["lost_s"], "sum", by="", where="\"reason\" = 'unassigned'",
                   interval=False)], 6, unit="s"),
        PanelSpec("Stops", "table", [_fields("downtime", ["duration_s", "lost_s", "by"],
                                             by='"machine", "reason"')], 18),
    ]


MACHINE_ITSELF = "\"component\" = 'machine'"
DUE_LIST = (  # one row per component, the most used share of its interval first
    'SELECT last("due_pct") AS "due_pct", last("status") AS "status", '
    'last("due_in") AS "due_in", last("due_counts") AS "counts" FROM "lifetime" '
    f'WHERE {SCOPE} AND $timeFilter GROUP BY "machine", "component"')


def equipment_life() -> list[PanelSpec]:
    life, rel = F["lifetime"], F["reliability"]
    return [
        PanelSpec("Due list", "urgency", [DUE_LIST], 12, expects="text",
                  description="Every component with a service interval, the most urgent "
                  "first: the share of its interval used, its status (ok, warning, due, "
                  "overdue) and what is left, in the unit of its counter."),
        PanelSpec("Share of the interval used", "timeseries", [
            select(LIFETIME, life["due_pct"], "last", by='"machine", "component"')], 12,
            unit="percent"),
        PanelSpec("Run hours since installation", "timeseries", [
            select(LIFETIME, life["run_h"], "last", where=MACHINE_ITSELF)], 8, unit="h"),
        PanelSpec("Jobs since installation", "stat", [
            select(LIFETIME, life["jobs"], "last", where=MACHINE_ITSELF, interval=False)],
            8),
        PanelSpec("Energy since installation", "stat", [
            select(LIFETIME, life["kwh"], "last", where=MACHINE_ITSELF, interval=False)],
            8, unit="kwatth"),
        PanelSpec("Mean operating time between failures (daily)", "timeseries", [
            select(RELIABILITY, rel["mtbf_s"], "last", where=DAY)], 8, unit="s",
            description="ISO 22400-2 MTBF: run time over failures (docs/lifetime.md)."),
        PanelSpec("Mean time to restoration (daily)", "timeseries", [
            select(RELIABILITY, rel["mttr_s"], "last", where=DAY)], 8, unit="s",
            description="ISO 22400-2 MTTR: from a failure's stop to running again."),
        PanelSpec("Failures (daily)", "timeseries", [
            select(RELIABILITY, rel["failures"], "sum", where=DAY)], 8),
        PanelSpec("Maintenance done", "table", [_fields(
            "maintenance", ["action", "note", "by", "since_service"],
            by='"machine", "component"')], 24, expects="text"),
    ]


def _health(field: str, aggregate: str = "max", derivative: bool = False) -> str:
    assert field in F["edge_health"]
    expression = f'{aggregate}("{field}")'
    if derivative:
        expression = f"non_negative_difference({expression})"
    return (f'SELECT {expression} FROM "edge_health" WHERE {HEALTH_SCOPE} AND $timeFilter '
            'GROUP BY time($__interval), "source" fill(none)')


def edge_health() -> list[PanelSpec]:
    return [
        PanelSpec("Messages in by source", "timeseries",
                  [_health("messages_in", derivative=True)], 12),
        PanelSpec("Decode errors and dead letters", "timeseries",
                  [_health("decode_errors"), _health("dead_letters")], 12),
        PanelSpec("Buffer depth", "timeseries", [_health("buffer_depth")], 8),
        PanelSpec("Write latency", "timeseries", [_health("write_latency_ms", "mean")], 8,
                  unit="ms"),
        PanelSpec("Machines offline now", "stat", [
            f'SELECT last("state") FROM "machine_state" WHERE {HEALTH_SCOPE} AND $timeFilter '
            'GROUP BY "machine"'], 8, expects="text"),
    ]


DASHBOARDS = {
    "shop-floor": ("Shop floor", shop_floor),
    "machine": ("Machine", machine),
    "energy": ("Energy", energy),
    "material": ("Material and scrap", material),
    "losses": ("Losses", losses),
    "equipment-life": ("Equipment life", equipment_life),
    "products": ("Products", products),
    "site-energy": ("Site energy", site_energy),
    "neighbours": ("Neighbours", neighbours),
    "edge-health": ("Edge health", edge_health),
}


def _variable(name: str, query: str, multi: bool = True) -> Template:
    return Template(name=name, label=name, query=query, dataSource=DATASOURCE,
                    includeAll=multi, multi=multi, allValue=".*", refresh=2, sort=1,
                    type="query")


def templating(single_machine: bool = False, by_product: bool = False,
               by_site: bool = False) -> Templating:
    if by_site:  # the grid connection is the site's
        return Templating(list=[_variable("site", tag_values(MACHINE_STATE, "site"))])
    if by_product:  # batches and products are the site's, not a machine's
        return Templating(list=[
            _variable("site", tag_values(MACHINE_STATE, "site")),
            _variable("product", tag_values(BATCH, "product", '"site" =~ /^$site$/'))])
    return Templating(list=[
        _variable("site", tag_values(MACHINE_STATE, "site")),
        _variable("kind", tag_values(MACHINE_STATE, "kind", '"site" =~ /^$site$/')),
        _variable("machine", tag_values(MACHINE_STATE, "machine",
                                        '"site" =~ /^$site$/ AND "kind" =~ /^$kind$/'),
                  multi=not single_machine),
    ])


ANNOTATION_QUERY = (
    f'SELECT "action", "reason", "job", "lot", "by" FROM "{OPERATOR_INPUT.name}" '
    f"WHERE {SCOPE} AND $timeFilter")
"""What people said (verdicts, stop reasons, lots), as annotations."""


MAINTENANCE_QUERY = (
    f'SELECT "action", "note", "by", "component" FROM "{MAINTENANCE.name}" '
    f"WHERE {SCOPE} AND $timeFilter")
"""Maintenance people recorded, as annotations."""


ALERT_QUERY = (f'SELECT "message", "state" FROM "{ALERT.name}" WHERE {SCOPE} AND $timeFilter')
"""Alerts that fired or resolved, as annotations."""
EDGE_ALERT_QUERY = (f'SELECT "message", "state", "check" FROM "{ALERT.name}" '
                    """WHERE "site" =~ /^$site$/ AND "rule" = 'edge' AND $timeFilter""")
"""The edge's own trouble (InfluxDB away, the buffer filling up, points dropped)."""


ALERTS = {"name": "Alerts", "datasource": DATASOURCE, "enable": True, "iconColor": "red",
          "query": ALERT_QUERY, "textColumn": "message", "tagsColumn": "state"}


def what_people_said() -> Annotations:
    return Annotations(list=[{
        "name": "What people said", "datasource": DATASOURCE, "enable": True,
        "iconColor": "purple", "query": ANNOTATION_QUERY, "textColumn": "reason",
        "tagsColumn": "action,job,lot,by"}, ALERTS])


def edge_trouble() -> Annotations:
    return Annotations(list=[{
        "name": "Edge alerts", "datasource": DATASOURCE, "enable": True, "iconColor": "red",
        "query": EDGE_ALERT_QUERY, "textColumn": "message", "tagsColumn": "check,state"}])


def maintenance_done() -> Annotations:
    return Annotations(list=[{
        "name": "Maintenance", "datasource": DATASOURCE, "enable": True,
        "iconColor": "blue", "query": MAINTENANCE_QUERY, "textColumn": "note",
        "tagsColumn": "component,action,by"}, ALERTS])


def annotations_for(key: str) -> Annotations:
    if key in ("machine", "shop-floor", "losses"):
        return what_people_said()
    if key == "equipment-life":
        return maintenance_done()
    return edge_trouble() if key == "edge-health" else Annotations()


def dashboard(key: str) -> Dashboard:
    title, specs = DASHBOARDS[key]
    return Dashboard(title=f"circlemade: {title}", uid=f"circlemade-{key}",
                     panels=build(specs()),
                     templating=templating(key == "machine", key == "products",
                                           key == "site-energy"),
                     time=Time("now/M" if key == "site-energy" else "now-24h", "now"),
                     refresh="30s", tags=["circlemade"],
                     timezone="browser",
                     annotations=annotations_for(key))


def specs(key: str) -> list[PanelSpec]:
    return DASHBOARDS[key][1]()


TO_MACHINE = {"title": "Open ${__field.labels.machine}",
              "url": "/d/circlemade-machine/?var-machine=${__field.labels.machine}"
                     "&${__url_time_range}"}
"""From a machine's figure on the shop floor to its own dashboard (a Grafana data link)."""


def as_json(key: str) -> dict[str, Any]:
    return dashboard_json(dashboard(key), data_link=TO_MACHINE if key == "shop-floor" else None)
