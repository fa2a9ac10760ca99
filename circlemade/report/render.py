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
    return f"{value * 100:.1f} %" if percent else f"{value:,.{digits}f}"


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


def _table(header: list[str], rows: list[list[Any]]) -> Markup:
    def cell(value: Any, column: str) -> str:
        if isinstance(value, float):
            share = column in ("availability", "performance", "quality", "oee")
            return _number(value, 3 if "per" in column or "kwh" in column else 1, share)
        return escape("-" if value is None or value == "" else str(value))
    head = "".join(f"<th>{escape(h.replace('_', ' '))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v, h)}</td>" for v, h in zip(row, header,
                                                                          strict=True))
                   + "</tr>" for row in rows) or f'<tr><td colspan="{len(header)}">none</td></tr>'
    return Markup(f"<table><tr>{head}</tr>{body}</table>")


def _svg(draw: Callable[[Any], None], height: float = 2.6) -> Markup:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    global _charts
    _charts += 1
    # text as text (the page's fonts), and ids of each chart its own within the page
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": f"chart{_charts}",
                                "font.family": "DejaVu Sans"})
    figure, axes = pyplot.subplots(figsize=(7.2, height))
    draw(axes)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg")
    pyplot.close(figure)
    text = out.getvalue()
    return Markup(text[text.index("<svg"):])


def energy_chart(site: SiteReport) -> Markup:
    machines = sorted(set(site.now.energy) | set(site.before.energy))

    def draw(axes: Any) -> None:
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
        axes.set_xticks(range(len(machines)), machines)
        axes.set_ylabel("kWh")
        axes.legend(fontsize=7, ncols=2, frameon=False)
    return _svg(draw)


def machines_chart(site: SiteReport) -> Markup:
    machines = sorted(site.now.machines)

    def draw(axes: Any) -> None:
        figures = [site.now.machines[m] for m in machines]
        axes.bar(machines, [f.material_g - f.scrap_g for f in figures], color=GREEN,
                 label="material in good parts and other use (g)")
        axes.bar(machines, [f.scrap_g for f in figures],
                 bottom=[f.material_g - f.scrap_g for f in figures], color=AMBER,
                 label="scrap (g)")
        axes.set_ylabel("g")
        twin = axes.twinx()
        twin.plot(machines, [(f.oee or 0) * 100 for f in figures], "o", color="#1d3b5b",
                  label="OEE (%)")
        twin.set_ylim(0, 105)
        twin.set_ylabel("OEE %")
        twin.spines[["top"]].set_visible(False)
        axes.legend(fontsize=7, loc="upper left", frameon=False)
        twin.legend(fontsize=7, loc="upper right", frameon=False)
    return _svg(draw)


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
                "factor": site.now.co2e_kg_per_kwh, "factor_source": site.factor_source}
               for site in sites])


def pdf(page: str, path: Path) -> None:
    import logging

    from weasyprint import HTML

    # it warns of every SVG presentation property it reads as CSS, and draws them all
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=page).write_pdf(path)
