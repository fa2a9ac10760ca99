"""The KPI stage, and the edge's own alerts, as the last run left them: their memory is
read from the buffer's file, where it was stored with the points it produced. A state
this version cannot read is refused (:class:`StateRefused`), never silently replaced,
unless the service was told to start afresh (``circlemade run --reset-state``)."""

from __future__ import annotations

import logging

from contract.eventlog import log_event
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.kpi.memory import FORMAT_VERSION, READS, StateRefused
from edge.service.config import Config
from edge.service.edge_alerts import KEY, EdgeAlerts
from edge.storage.buffer import DurableBuffer

AFRESH = "'circlemade run --reset-state' starts the KPIs afresh"


async def restore(config: Config, buffer: DurableBuffer, reset_state: bool,
                  ) -> tuple[KpiEngine, EdgeAlerts | None]:
    version, memories = await buffer.load_state()
    edge_memory = memories.pop(KEY, None)
    if reset_state or not (memories or edge_memory):
        if memories:
            log_event("kpi.state_reset", logging.WARNING, path=str(buffer.path),
                      machines=len(memories))
        await buffer.reset_state(str(FORMAT_VERSION))
        return KpiEngine(config), _edge_alerts(config, None)
    if version not in READS:
        raise StateRefused(
            f"{buffer.path}: the KPI state stored there is of format {version}, this "
            f"version reads formats {' and '.join(sorted(READS))}; {AFRESH} (open jobs and "
            "windows are lost)")
    try:
        engine = KpiEngine(config, memories)
    except StateRefused as exc:
        raise StateRefused(f"{buffer.path}: {exc}; {AFRESH} (open jobs and windows are "
                           "lost)") from None
    buffer.state_version = str(FORMAT_VERSION)  # what it writes from now on
    edge = _edge_alerts(config, edge_memory)
    log_event("kpi.state_restored", machines=len(memories),
              open_jobs=sum(k.m.jobs.open is not None for k in engine.machines.values()))
    return engine, edge


def _edge_alerts(config: Config, memory: bytes | None) -> EdgeAlerts | None:
    if not any(rule.rule == "edge" for rule in config.alerts):
        return None
    try:
        return EdgeAlerts(config, memory)
    except StateRefused as exc:
        raise StateRefused(f"{config.buffer_path()}: {exc}; {AFRESH}") from None
