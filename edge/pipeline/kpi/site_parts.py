"""The KPI stage's parts that are the site's, not a machine's, each as the last run left
it (its row in the buffer's ``kpi_state``): the batches and products, the grid
connection, the air at the sensors."""

from __future__ import annotations

from edge.pipeline.kpi.air import Air
from edge.pipeline.kpi.air_memory import AirMemory, load_air
from edge.pipeline.kpi.batch_memory import BatchesMemory, load_batches
from edge.pipeline.kpi.batches import Batches
from edge.pipeline.kpi.grid import Grid
from edge.pipeline.kpi.grid_memory import GridMemory, load_grid
from edge.pipeline.kpi.products import Products
from edge.pipeline.kpi.settings import KpiConfig
from edge.pipeline.kpi.tariffs import TariffClock


def site_grid(config: KpiConfig, memory: bytes | None) -> Grid | None:
    """The site's grid connection, as the last run left it (None: no grid meter)."""
    site = config.site
    if site.grid_meter is None:
        return None
    return Grid(load_grid(memory) if memory else GridMemory(), site.id, site.grid_meter,
                site.timezone, config.grid,
                TariffClock(config.tariffs, site.timezone) if config.tariffs else None,
                [m.id for m in config.machines if m.id != site.grid_meter])


def site_batches(config: KpiConfig, memory: bytes | None) -> Batches:
    """The site's batches and products, as the last run left them."""
    m = load_batches(memory) if memory else BatchesMemory()
    site = config.site
    products = Products(m.products, site.id, site.timezone, site.co2e_kg_per_kwh,
                        site.labour_per_h is not None, config.readiness,
                        {p.name: p.cost_target for p in config.products
                         if p.cost_target is not None})
    return Batches(m, site.id, products)


def site_air(config: KpiConfig, memory: bytes | None) -> Air:
    """The air at the site's sensors (machines of kind sensor)."""
    site = config.site
    return Air(load_air(memory) if memory else AirMemory(), site.id, site.timezone,
               config.neighbours, [m for m in config.machines if m.kind == "sensor"])
