"""The config wins over the KPI memory for what the config says: a restart with a
changed calendar or meter limit computes with the new config, the memory keeps only what
happened."""

from __future__ import annotations

from typing import Any

import pytest

from edge.service.config import parse_config
from tests.replayed import mqtt, replay_in_parts, utc, windows

T = utc("2026-11-24T06:00:00")  # UTC site: 06:00 is 06:00
STATUS, PLUG = "m/status", "m/plug"


def config(shift_end: str, max_power_w: float = 30_000.0) -> Any:
    return parse_config({
        "site": {"id": "s", "timezone": "UTC"},
        "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "calendar": {"weekdays": ["tue"], "shifts": [
            {"name": "early", "start": "06:00", "end": shift_end}]},
        "machines": [{"id": "m", "kind": "cnc", "max_power_w": max_power_w, "sources": [
            {"topic": STATUS, "profile": "json", "time": {"path": "ts", "format": "unix_s"}},
            {"topic": PLUG, "profile": "json", "meter": "plug",
             "time": {"path": "ts", "format": "unix_s"}}]}]})


def at(hour: float, topic: str = STATUS, **fields: Any) -> tuple[int, dict[str, Any]]:
    t = T + (hour - 6) * 3600
    return 0, mqtt(t, topic, {"ts": t, **fields})


def test_a_moved_shift_end_is_taken_at_restart() -> None:
    """Running from 06:00 to 17:00; at 10:00 the edge restarts with the shift's end
    moved from 14:00 to 18:00: the shift's OEE counts 11 of 12 planned hours."""
    before = [at(6, state="running")]
    after = [at(10, state="running"), at(17, state="stopped"), at(19, state="stopped")]
    lines = replay_in_parts([config("14:00"), config("18:00")], [before, after])
    oee = windows(lines, "oee", "m", "shift")[T]
    assert oee["planned_s"] == pytest.approx(12 * 3600)
    assert oee["run_s"] == pytest.approx(11 * 3600)
    assert oee["availability"] == pytest.approx(11 / 12)


def test_a_corrected_meter_limit_is_taken_at_restart() -> None:
    """A 10 kW machine with a wrong limit of 1 kW: its counter's steps are taken for a
    new meter and dropped. After the limit is corrected and the edge restarted, the
    energy counts."""
    steps = [at(6 + h / 60, PLUG, energy_kwh=100 + 10 * h / 60) for h in range(0, 31, 10)]
    lines = replay_in_parts([config("14:00", 1000.0), config("14:00", 20_000.0)],
                            [steps[:2], steps[2:]])
    hour = windows(lines, "circularity", "m", "hour")[T]
    # 06:00-06:10 dropped under the wrong limit; 06:10-06:30 at 10 kW counted
    assert hour["energy_kwh"] == pytest.approx(10 * 20 / 60)


def test_the_restored_shift_window_ends_where_the_calendar_now_says() -> None:
    from contract.reading import Reading
    from edge.pipeline.kpi.engine import KpiEngine

    ns = 10**9
    before = KpiEngine(config("14:00"))
    before.process([Reading("s", "m", "state", "running", None, T * ns),
                    Reading("s", "m", "state", "running", None, (T + 3600) * ns)])
    memories = before.take_state()
    assert before.machines["m"].m.windows.open["shift"][T * ns].end_ns == (T + 8 * 3600) * ns
    after = KpiEngine(config("18:00"), memories)
    assert after.machines["m"].m.windows.open["shift"][T * ns].end_ns == (T + 12 * 3600) * ns
