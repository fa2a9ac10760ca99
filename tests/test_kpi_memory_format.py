"""An edge upgraded in the middle of a job: the KPI memory an edge of the version before
stored (format 1, tests/fixtures/kpi_memory_v1.md) is read by this version, which goes
on to the same figures as a run never interrupted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from edge.pipeline.kpi.memory import LifetimeMemory, StateRefused, dump, load
from edge.service.config import parse_config
from edge.tools.recording import Replayer
from simulators.cluster_month import SITES, recording, site_config

FIXTURE = Path(__file__).parent / "fixtures" / "kpi_memory_v1.json"
SPLIT = "2026-11-10T09:30"


def test_a_format_1_memory_is_the_memory_this_version_keeps_at_the_same_point() -> None:
    """The same session, replayed to the same instant by this version, leaves exactly
    the memory the format 1 file holds, and the edge goes on from either alike; but for
    the lifetime counters, whether a job was judged and what it cost, which format 1 did
    not have: they count from the upgrade."""
    site, name, seed = SITES[0]
    config = parse_config(site_config(site, name, seed))
    records = [orjson.loads(line) for line in recording(site, seed, ["2026-11"])]
    split = next(i for i, entry in enumerate(records) if entry["time"] >= SPLIT)
    stored = {machine: orjson.dumps(memory)
              for machine, memory in orjson.loads(FIXTURE.read_bytes()).items()}
    assert all(isinstance(orjson.loads(blob)["state"], str) for blob in stored.values())

    replayer = Replayer(config)
    list(replayer.lines(enumerate(records[:split], 1)))
    assert replayer.ingest.kpi is not None
    kept = replayer.ingest.kpi.take_state()
    assert set(kept) == set(stored)
    for machine, blob in stored.items():
        now = replace(load(kept[machine], machine), lifetime=LifetimeMemory())
        for job in now.jobs.ended:  # whether a verdict came, the cost: not in format 1
            job.judged, job.eur = False, {}
        now.material.unpriced_g = 0.0
        if now.jobs.open is not None:
            now.jobs.open.unpriced_g, now.jobs.open.energy_eur = 0.0, 0.0
        assert load(blob, machine) == now, machine

    rest = list(enumerate(records[split:], split + 1))
    from_format_1 = list(Replayer(config, stored).lines(iter(rest)))
    assert without_lifetime(from_format_1) == without_lifetime(
        list(Replayer(config, kept).lines(iter(rest))))
    assert sum(line.startswith("job,") for line in from_format_1) >= 3


def without_lifetime(lines: list[str]) -> list[str]:
    """What does not depend on the lifetime counters (a maintenance says its count)."""
    return [line for line in lines if not line.startswith(("lifetime,", "maintenance,"))]


def test_each_format_1_field_lands_in_its_slice() -> None:
    flat = orjson.loads(FIXTURE.read_bytes())["printer-2"]
    memory = load(orjson.dumps(flat), "machine printer-2")
    assert memory.clock.state == flat["state"] and memory.clock.since_ns == flat["since_ns"]
    assert memory.jobs.open is not None and memory.jobs.open.name == flat["job"]["name"]
    assert memory.material.lot is not None and memory.material.lot.lot == flat["lot"]["lot"]
    assert set(memory.energy.counters) == set(flat["counters"])
    assert set(memory.windows.open) == set(flat["windows"])
    assert len(memory.stops.ended) == len(flat["stops"])
    assert load(dump(memory), "again") == memory  # format 2 reads back as it was


def test_a_blob_that_is_not_json_is_refused_with_where_it_came_from() -> None:
    with pytest.raises(StateRefused, match="machine p: stored KPI state does not read back"):
        load(b'{"stat', "machine p")
