"""The report for people: HTML with charts drawn by matplotlib (inline SVG), printed to
PDF by WeasyPrint with the DejaVu fonts from Debian."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from circlemade.report.export import tables
from circlemade.report.figures import SiteMonth

GREEN, GREY, AMBER = "#2f7d52", "#a9c4b4", "#d9a441"
_charts = 0


@dataclass
class SiteReport:
    name: str
    now: SiteMonth
    before: SiteMonth
    factor_source: str


def month_name(month: str) -> str:
    return date.fromisoformat(month + "-01").strftime("%B %Y")


def _number(value: float | None, digits: int = 2, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}\u00a0%" if percent else f"{value:,.{digits}f}"


def hours_minutes(seconds: float) -> str:
    """26,820 s -> ``7 h 27 min``: how people say a loss."""
    minutes = round(seconds / 60)
    return f"{minutes // 60}\u00a0h\u00a0{minutes % 60:02d}\u00a0min" if minutes >= 60 \
        else f"{minutes}\u00a0min"


def _change(now: float | None, before: float | None, percent: bool) -> str:
    if now is None or before is None:
        return ""
    if percent:
        return f"{(now - before) * 100:+.1f} points"
    return f"{(now - before) / before * 100:+.0f} %" if before else ""


HEADLINE: list[tuple[str, Callable[[SiteMonth], float | None], int, bool]] = [
    ("Energy (kWh)", lambda m: m.energy_kwh, 2, False),
    ("of which standby (kWh)", lambda m: m.standby_kwh, 2, False),
    ("Good parts", lambda m: m.total("good_parts"), 0, False),
    ("kWh per good part", lambda m: m.kwh_per_good_part, 3, False),
    ("Material (g)", lambda m: m.total("material_g"), 0, False),
    ("Recycled share", lambda m: m.share("recycled_g", "material_g"), 1, True),
    ("Scrap (g)", lambda m: m.total("scrap_g"), 0, False),
    ("Scrap rate (mass)", lambda m: m.share("scrap_g", "material_g"), 1, True),
    ("Availability", lambda m: m.availability, 1, True),
    ("OEE", lambda m: m.oee, 1, True),
    ("Jobs", lambda m: float(sum(m.jobs.values())), 0, False),
]
"""The figures compared month over month, for a site and side by side for the cluster."""


def headline(now: SiteMonth, before: SiteMonth) -> list[tuple[str, str, str, str]]:
    return [(label, _number(get(now), digits, percent), _number(get(before), digits, percent),
             _change(get(now), get(before), percent))
            for label, get, digits, percent in HEADLINE]


def cluster_table(sites: list[SiteReport]) -> dict[str, Any]:
    header = [label for label, *_ in HEADLINE]
    rows = [(site.name, [f"{_number(get(site.now), d, p)} ({_number(get(site.before), d, p)})"
                         for _, get, d, p in HEADLINE]) for site in sites]
    return {"header": header, "rows": rows}


HEADERS = {"lost_s": "lost time", "oee": "OEE", "co2e_kg": "CO2e kg",
           "co2e_kg_per_good_part": "CO2e kg per good part"}
"""Column names in words where the CSV's name would not do."""
NOT_MEASURED = "not reported"
"""A material figure of a machine that reports no material: not 0 g."""


def _table(header: list[str], rows: list[list[Any]]) -> Markup:
    def cell(value: Any, column: str) -> str:
        if value is None and column.endswith("_g"):
            return NOT_MEASURED
        if column.endswith("_s") and isinstance(value, int | float):
            return hours_minutes(value)
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            share = column in ("availability", "performance", "quality", "oee")
            return _number(value, 3 if "per" in column or "kwh" in column else 1, share)
        return escape("-" if value is None or value == "" else str(value))
    head = "".join(f"<th>{escape(HEADERS.get(h, h.replace('_', ' ')))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v, h)}</td>" for v, h in zip(row, header,
                                                                          strict=True))
                   + "</tr>" for row in rows) or f'<tr><td colspan="{len(header)}">none</td></tr>'
    return Markup(f"<table><tr>{head}</tr>{body}</table>")


def _svg(draw: Callable[[Any, list[str]], None], groups: dict[str, list[str]],
         height: float = 2.6) -> Markup:
    """One chart, a panel per machine kind (its own scale: a printer's grams stay visible
    beside a mill's kilograms), the legend above the panels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    global _charts
    _charts += 1
    # text as text (the page's fonts), and ids of each chart its own within the page
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": f"chart{_charts}",
                                "font.family": "DejaVu Sans"})
    kinds = sorted(groups) or [""]
    figure, panels = pyplot.subplots(
        1, len(kinds), figsize=(7.2, height), squeeze=False,
        width_ratios=[max(len(groups.get(kind, [])), 1) + 0.6 for kind in kinds])
    for axes, kind in zip(panels[0], kinds, strict=True):
        draw(axes, groups.get(kind, []))
        axes.set_title(kind, fontsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    handles, labels = panels[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7, ncols=4, frameon=False, loc="upper center")
    figure.tight_layout(rect=(0, 0, 1, 0.86))
    out = io.StringIO()
    figure.savefig(out, format="svg")
    pyplot.close(figure)
    text = out.getvalue()
    return Markup(text[text.index("<svg"):])


def by_kind(kinds: dict[str, str]) -> dict[str, list[str]]:
    """Machine ids by their kind, each sorted."""
    groups: dict[str, list[str]] = {}
    for machine, kind in sorted(kinds.items()):
        groups.setdefault(kind or "other", []).append(machine)
    return groups


def energy_chart(site: SiteReport) -> Markup:
    kinds = {m: e.kind for month in (site.before, site.now) for m, e in month.energy.items()}

    def draw(axes: Any, machines: list[str]) -> None:
        width = 0.38
        for offset, month, colours in ((-width / 2, site.before, (GREY, "#d8d8d8")),
                                       (width / 2, site.now, (GREEN, AMBER))):
            running = [month.energy[m].running_kwh if m in month.energy else 0 for m in machines]
            standby = [month.energy[m].standby_kwh if m in month.energy else 0 for m in machines]
            positions = [i + offset for i in range(len(machines))]
            label = month_name(month.month)
            axes.bar(positions, running, width, color=colours[0], label=f"{label}: running")
            axes.bar(positions, standby, width, bottom=running, color=colours[1],
                     label=f"{label}: standby")
        axes.set_xticks(range(len(machines)), machines, fontsize=7)
        axes.set_ylabel("kWh", fontsize=7)
    return _svg(draw, by_kind(kinds))


def machines_chart(site: SiteReport) -> Markup:
    figures = site.now.machines

    def draw(axes: Any, machines: list[str]) -> None:
        made = [figures[m].material_g - figures[m].scrap_g for m in machines]
        axes.bar(machines, made, color=GREEN, label="material in good parts and other use (g)")
        axes.bar(machines, [figures[m].scrap_g for m in machines], bottom=made, color=AMBER,
                 label="scrap (g)")
        axes.set_ylabel("g", fontsize=7)
        axes.tick_params(axis="x", labelsize=7)
        twin = axes.twinx()
        twin.plot(machines, [(figures[m].oee or 0) * 100 for m in machines], "o",
                  color="#1d3b5b")
        twin.set_ylim(0, 105)
        twin.set_ylabel("OEE % (dots)", fontsize=7)
        twin.spines[["top"]].set_visible(False)
    return _svg(draw, by_kind({m: f.kind for m, f in figures.items()}))


def html(sites: list[SiteReport], title: str, source: str, cluster: bool,
         anonymised: bool) -> str:
    month, previous = sites[0].now.month, sites[0].before.month
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("circlemade.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]))
    return environment.get_template("report.html").render(
        title=title, period=month_name(month), previous_period=month_name(previous),
        period_short=month, previous_short=previous, source=source, anonymised=anonymised,
        cluster=cluster_table(sites) if cluster else None,
        sites=[{"name": site.name, "headline": headline(site.now, site.before),
                "charts": {"energy": energy_chart(site), "machines": machines_chart(site)},
                "tables": {key: _table(*table) for key, table in tables(site.now).items()},
                "has_reasons": bool(site.now.scrap_reasons),
                "has_batches": bool(site.now.batches),
                "has_grid": bool(site.now.site_energy.get("peak")),
                "has_neighbours": any(site.now.cohabitation.values()),
                "factor": site.now.co2e_kg_per_kwh, "factor_source": site.factor_source}
               for site in sites])


def pdf(page: str, path: Path) -> None:
    import logging

    from weasyprint import HTML

    # it warns of every SVG presentation property it reads as CSS, and draws them all
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=page).write_pdf(path)
