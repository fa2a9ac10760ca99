"""Two simulated workshops over two months, as recordings: what the cluster dashboards'
checks, the monthly report's tests and its sample page replay.

Each site works a few mornings in the month and in the month before it (an operator
loads recycled spools and gives verdicts), so month-over-month figures exist; the
recordings are made without a broker, hours of shop floor in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from simulators.fleet import Fleet, Scenario
from simulators.recorded_shift import fleet_recording

SITES = (("atelier-nord", "Atelier Nord", 11), ("fablab-sud", "FabLab Sud", 29))
"""Site id, name, and the simulation's seed."""
DAYS = (10, 11)
"""Days of each month that are worked (a few hours each)."""
HOURS = 3.0
STEP_S = 60


def fleet(seed: int, site: str) -> Fleet:
    return Fleet(Scenario.from_counts(printers=2, meters=2, cnc=1, seed=seed,
                                      operator_site=site))


def site_config(site: str, name: str, seed: int, influx: dict[str, Any] | None = None,
                ) -> dict[str, Any]:
    """The site's config (``influx``: where its points go; a placeholder by default)."""
    return {
        "site": {"id": site, "name": name, "timezone": "Europe/Brussels",
                 "co2e_kg_per_kwh": 0.16,
                 "co2e_source": "placeholder: Belgian grid mix, order of magnitude"},
        "influx": influx or {"api": "v1", "url": "http://127.0.0.1:9"},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "day", "start": "08:00", "end": "17:00"}]},
        "products": [{"name": "bracket", "jobs": ["printer-*"]},
                     {"name": "birch panel", "jobs": ["panel_birch*"]}],
        "machines": fleet(seed, site).machines_config(),
    }


def recording(site: str, seed: int, months: Sequence[str]) -> list[bytes]:
    """JSON lines of the site's mornings in ``months`` (``2026-11``), in order."""
    simulated = fleet(seed, site)
    lines: list[bytes] = []
    for worked in months:
        for day in DAYS:
            start = datetime.fromisoformat(f"{worked}-{day:02d}T08:00:00").replace(tzinfo=UTC)
            lines += fleet_recording(simulated, int(start.timestamp()), HOURS, STEP_S)
    return lines
