"""A print that spans a restart of the edge, as a workshop has it: an OctoPrint printer
behind a Tasmota plug, real Mosquitto holding the edge's QoS 1 session while it is away,
real InfluxDB. The edge is stopped (SIGTERM) in the middle of one print and killed
(SIGKILL) in the middle of the next; each print's end comes while the edge is away or
after it is back. Each print must give exactly one ``job`` point with its true duration,
energy and filament, and after a clean stop the day's energy must be the plug's count."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from edge.pipeline.kpi.material import filament_grams
from simulators.local_servers import LocalServer
from tests.talk import publish, stored
from tests.test_kpi_restart import Edge
from tests.waiting import wait_for


def write_config(tmp_path: Path, mqtt: LocalServer, influx: LocalServer) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(tomli_w.dumps({
        "site": {"id": "w", "timezone": "Europe/Brussels"},
        "health_interval_s": 3600,
        "brokers": [{"port": mqtt.port, "client_id": "restart-octoprint"}],
        "influx": {"api": "v1", "url": influx.url, "database": "jobs",
                   "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "all", "start": "00:00", "end": "00:00"}]},
        "machines": [{"id": "mk3", "kind": "printer", "material": "PLA", "sources": [
            {"profile": "octoprint", "topic": "octoPrint/#"},
            {"profile": "tasmota", "topic": "tele/plug-mk3/+", "meter": "plug",
             "offline_state": False}]}]}))
    return path


class Workshop:
    """The printer and its plug, publishing as the real devices do."""

    def __init__(self, port: int) -> None:
        self.port, self.total_kwh, self.reports = port, 1.0, 0
        self.watts, self.last_s = 10.0, time.time()
        self.largest_kwh = 0.0
        """The most one report added: what the job's energy may be off by."""

    def plug(self, watts: float = 200.0) -> float:
        """A SENSOR report of what was used since the last one; returns the new total.
        Tasmota's ``Time`` has no zone, so the edge stamps a report when it comes: the
        reports are spaced as a plug's would be, if more closely."""
        time.sleep(0.3)
        now = time.time()
        used = self.watts * (now - self.last_s) / 3.6e6
        self.total_kwh = round(self.total_kwh + used, 6)  # as the plug reports it
        self.largest_kwh = max(self.largest_kwh, used)
        self.watts, self.last_s = watts, now
        self.reports += 1
        publish(self.port, "tele/plug-mk3/SENSOR", {
            "Time": "2026-12-05T10:00:00",
            "ENERGY": {"Total": self.total_kwh, "Power": watts, "Voltage": 231}})
        return self.total_kwh

    def event(self, event: str, t: float, **extra: Any) -> None:
        publish(self.port, f"octoPrint/event/{event}",
                {"_event": event, "_timestamp": t, **extra})


def query(influx: LocalServer, statement: str) -> list[dict[str, Any]]:
    return stored(influx.url, "jobs", statement)


@pytest.mark.servers
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_print_spans_a_restart(tmp_path: Path, how: signal.Signals,
                                 servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    edge = Edge(write_config(tmp_path, mqtt, influx), tmp_path / "edge.log")
    shop = Workshop(mqtt.port)

    def energy_reports() -> int:
        return len(query(influx, 'SELECT "energy_kwh" FROM "energy" WHERE "meter" = \'plug\''))

    edge.start()
    first_total = shop.plug(10.0)
    start = time.time()
    shop.event("PrintStarted", start, name="hinge.gcode")
    at_start = shop.plug()
    shop.plug()
    wait_for("the plug's reports stored", lambda: energy_reports() == shop.reports)
    edge.stop(how)

    # while the edge is away the broker keeps what the devices say (the plug's report
    # comes 0.3 s into the outage; its length matters to no figure, only that it spans it)
    during = shop.plug()
    edge.start()
    before_end = shop.plug()
    end = time.time()
    shop.event("PrintDone", end, name="hinge.gcode", filament=5000.0)
    wait_for("the job stored", lambda: len(query(influx, 'SELECT * FROM "job"')) == 1)
    assert during < before_end

    # the second print, whose filament count starts again at 0 on the device
    start2 = time.time()
    shop.event("PrintStarted", start2, name="hinge.gcode")
    shop.plug()
    shop.event("PrintDone", start2 + 30, name="hinge.gcode", filament=8000.0)
    last_total = shop.plug(10.0)
    wait_for("both jobs stored", lambda: len(query(influx, 'SELECT * FROM "job"')) == 2)
    wait_for("the plug's reports stored", lambda: energy_reports() == shop.reports)
    edge.stop(signal.SIGTERM)

    first, second = query(influx, 'SELECT * FROM "job" ORDER BY time')
    assert first["duration_s"] == pytest.approx(end - start, abs=1.0)
    # the energy the plug reported between the job's start and its end, within one report
    assert first["energy_kwh"] == pytest.approx(before_end - at_start, abs=shop.largest_kwh)
    assert first["material_g"] == pytest.approx(filament_grams(5000.0), rel=1e-6)
    assert second["material_g"] == pytest.approx(filament_grams(8000.0), rel=1e-6)
    assert second["duration_s"] == pytest.approx(30.0, abs=1e-3)
    events = [e["job_event"] for e in query(influx, 'SELECT * FROM "job_event" ORDER BY time')]
    assert events == ["start", "end", "start", "end"]

    # a clean stop writes the day as far as it went: all the plug counted (two days if
    # the test ran over midnight in Brussels)
    days = query(influx, "SELECT * FROM \"circularity\" WHERE \"window\" = 'day'")
    assert sum(day["energy_kwh"] for day in days) == pytest.approx(last_total - first_total,
                                                                   abs=1e-9)
