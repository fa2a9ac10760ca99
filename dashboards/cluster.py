"""The cluster's dashboards: the members side by side, a ranking, and month over month.

They read the central store every member forwards to (docs/cluster.md), through
InfluxQL like the workshop's own (said again in PromQL for VictoriaMetrics:
dashboards/victoria.py). Each member is one query, named in the legend by
:func:`members`: with ``[cluster] anonymise = true`` a member reading them sees its own
name and "workshop A, B, ..." for the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grafanalib.core import Dashboard, Templating, Time

from contract.kpi_points import CIRCULARITY, OEE
from dashboards.grafana_json import dashboard_json
from dashboards.inputs import SiteConfig
from dashboards.panels import PanelSpec, build

Member = tuple[str, str]
"""Site id and the name its series carry."""
HOURLY = "\"window\" = 'hour'"
DAILY = "\"window\" = 'day'"


def members(config: SiteConfig) -> list[Member]:
    """The [cluster] sites with their shown names (every site, as one series per site, when
    none are listed)."""
    return list(config.shown_names([site.id for site in config.cluster.sites]).items())


def _ratio(measurement: str, part: str, whole: str, where: str, site: str,
           by: str = "", interval: str = "") -> str:
    fields = CIRCULARITY.fields if measurement == CIRCULARITY.name else OEE.fields
    assert part in fields and whole in fields, (part, whole)
    group = ", ".join(g for g in (f"time({interval})" if interval else "", by) if g)
    return (f'SELECT sum("{part}") / sum("{whole}") AS "value" FROM "{measurement}" '
            f"WHERE {where} AND {_site(site)} AND $timeFilter"
            + (f" GROUP BY {group}" if group else "") + (" fill(none)" if interval else ""))


def _site(site: str) -> str:
    return f"\"site\" = '{site}'" if site else '"site" =~ /.*/'


def _each(sites: list[Member], query: Callable[[str], str], suffix: str = "",
          ) -> tuple[list[str], list[str]]:
    """One query per member, and the legend name of each (``$tag_site`` when the members
    are not listed)."""
    listed = sites or [("", "$tag_site")]
    return [query(site) for site, _ in listed], [name + suffix for _, name in listed]


def side_by_side(sites: list[Member]) -> list[PanelSpec]:
    by_site = "" if sites else '"site"'
    kinds = '"kind"' if sites else '"site", "kind"'

    def ratio_panel(title: str, part: str, whole: str, unit: str, by: str = by_site,
                    suffix: str = "", description: str = "", width: int = 8) -> PanelSpec:
        queries, names = _each(sites, lambda s: _ratio(CIRCULARITY.name, part, whole, HOURLY,
                                                       s, by), suffix)
        return PanelSpec(title, "stat", queries, width, unit=unit, decimals=3,
                         aliases=names, description=description)

    oee_queries, oee_names = _each(sites, lambda s: (
        'SELECT sum("run_s") / sum("planned_s") AS "availability", mean("performance") AS '
        '"performance", mean("quality") AS "quality", mean("oee") AS "oee" FROM "oee" '
        f"WHERE {DAILY} AND {_site(s)} AND $timeFilter"
        + (' GROUP BY "site"' if not s else "")), " $col")
    ranking, ranking_names = _each(sites, lambda s: _ratio(
        CIRCULARITY.name, "energy_kwh", "good_parts", HOURLY, s, by_site))
    return [
        ratio_panel("kWh per good part, by machine kind", "energy_kwh", "good_parts",
                    "kwatth", by=kinds, suffix=" $tag_kind", width=12,
                    description="Energy of the hourly windows (standby included) over "
                    "their good parts."),
        ratio_panel("Grams per good part, by machine kind", "material_g", "good_parts",
                    "massg", by=kinds, suffix=" $tag_kind", width=12),
        ratio_panel("Scrap rate (mass)", "scrap_g", "material_g", "percentunit"),
        ratio_panel("Recycled share", "recycled_g", "material_g", "percentunit"),
        ratio_panel("Standby share of energy", "standby_kwh", "energy_kwh", "percentunit"),
        PanelSpec("OEE and its factors (daily windows)", "stat", oee_queries, 16,
                  unit="percentunit", decimals=1, aliases=oee_names),
        PanelSpec("Ranking: kWh per good part (lowest first)", "ranking", ranking, 8,
                  unit="kwatth", aliases=ranking_names),
    ]


def trends(sites: list[Member]) -> list[PanelSpec]:
    by_site = "" if sites else '"site"'

    def monthly(title: str, part: str, whole: str, unit: str,
                measurement: str = CIRCULARITY.name, where: str = HOURLY) -> PanelSpec:
        queries, names = _each(sites, lambda s: _ratio(measurement, part, whole, where, s,
                                                       by_site, "30d"))
        return PanelSpec(title, "timeseries", queries, 12, unit=unit, aliases=names)

    return [
        monthly("kWh per good part, month over month", "energy_kwh", "good_parts", "kwatth"),
        monthly("Scrap rate (mass), month over month", "scrap_g", "material_g",
                "percentunit"),
        monthly("Recycled share, month over month", "recycled_g", "material_g",
                "percentunit"),
        monthly("Availability, month over month", "run_s", "planned_s", "percentunit",
                OEE.name, DAILY),
    ]


CLUSTER_DASHBOARDS: dict[str, tuple[str, Callable[[list[Member]], list[PanelSpec]], str]] = {
    "cluster": ("Cluster: members side by side", side_by_side, "now-30d"),
    "cluster-trends": ("Cluster: month over month", trends, "now-1y"),
}


def dashboard(key: str, sites: list[Member]) -> Dashboard:
    title, specs, since = CLUSTER_DASHBOARDS[key]
    return Dashboard(title=f"circlemade: {title}", uid=f"circlemade-{key}",
                     panels=build(specs(sites)), templating=Templating(list=[]),
                     time=Time(since, "now"), refresh="1h", tags=["circlemade", "cluster"],
                     timezone="browser")


def as_json(key: str, sites: list[Member]) -> dict[str, Any]:
    return dashboard_json(dashboard(key, sites), tag="cluster")
