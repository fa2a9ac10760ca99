"""``circlemade report -c FILE --month 2026-11 [--site ID | --cluster] -o report.pdf``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from circlemade.extras import missing_extra
from circlemade.report.export import Origin, write_export
from circlemade.report.figures import (
    Row,
    SiteMonth,
    month_bounds,
    previous,
    site_month,
    sites_in,
)
from circlemade.report.render import SiteReport, html, month_name, pdf
from circlemade.report.sources import from_recording, from_store
from contract.errors import CirclemadeError
from edge.service.config import Config, load_config
from edge.storage.stores import STORES


class ReportError(CirclemadeError):
    """A report that cannot be made as asked; the text says why."""


def make_report(config: Config, month: str, output: Path, site: str | None = None,
                cluster: bool = False, recording: Path | None = None,
                store: str | None = None) -> list[Path]:
    """Write the report and its export; the paths written."""
    if output.suffix not in (".pdf", ".html"):
        raise ReportError(f"{output}: the report is written as .pdf or .html")
    before = previous(month)
    timezone = config.site.timezone
    rows = _rows(config, before, month, recording, store)
    found = sites_in(rows, month_bounds(before, timezone)[0], month_bounds(month, timezone)[1])
    wanted = ([s.id for s in config.cluster.sites] or found) if cluster else [
        site or config.site.id]
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ReportError(f"no KPI points of site {', '.join(missing)} in {month_name(before)} "
                          f"or {month_name(month)} (sites found: {', '.join(found) or 'none'})")
    names = config.shown_names(wanted)
    factor = config.site.co2e_kg_per_kwh
    materials = {m.id: m.material for m in config.machines if m.material}

    def of(site: str, period: str) -> SiteMonth:
        return site_month(rows, site, period, timezone, factor, config.products,
                          materials if site == config.site.id else None)

    reports = [SiteReport(names[s], of(s, month), of(s, before), config.site.co2e_source)
               for s in wanted]
    title = (f"Circularity report, {month_name(month)}: "
             + ("the cluster" if cluster else reports[0].name))
    source = f"the recording {recording.name}" if recording else "the store"
    page = html(reports, title, source, cluster, config.cluster.anonymise)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".pdf":
        pdf(page, output)
    else:
        output.write_text(page, encoding="utf-8")
    export = output.with_name(output.stem + "-export")
    cpc = {p.name: p.cpc for p in config.products}
    origins = [(r.now, Origin(r.name, config.site.country, config.site.co2e_source, cpc))
               for r in reports]
    return [output, *write_export(export, origins, timezone)]


def _rows(config: Config, before: str, month: str, recording: Path | None,
          store: str | None) -> dict[str, list[Row]]:
    if recording is not None:
        return from_recording(config, recording)
    stores = {s.name: s for s in config.stores()}
    chosen = stores.get(store or config.influx.name)
    if chosen is None:
        raise ReportError(f"--store {store}: no store of that name (the config has "
                          f"{', '.join(stores)})")
    if not STORES[chosen.api].readable:
        raise ReportError(f"store {chosen.name} ({chosen.api}) cannot be read back; name a "
                          "store InfluxQL reads with --store")
    start = month_bounds(before, config.site.timezone)[0]
    end = month_bounds(month, config.site.timezone)[1]
    return asyncio.run(from_store(chosen, start, end))


def main(config_path: Path, month: str, output: Path, site: str | None, cluster: bool,
         recording: Path | None, store: str | None) -> int:
    config = load_config(config_path, secrets=recording is None)
    print(f"report: reading the KPI points of {month_name(previous(month))} and "
          f"{month_name(month)} from {recording or 'the store'}", flush=True)
    try:
        written = make_report(config, month, output, site, cluster, recording, store)
    except ReportError as exc:
        print(f"report: {exc}")
        return 1
    except ModuleNotFoundError as exc:
        told = missing_extra(exc, "report")
        if told is None:
            raise
        print(f"report: {told}", file=sys.stderr)
        return 2
    print(f"report: wrote {written[0]} and {len(written) - 1} export files in "
          f"{written[0].with_name(written[0].stem + '-export')}")
    return 0
