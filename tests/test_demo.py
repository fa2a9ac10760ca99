"""The README's demo command, as a user runs it, until what it shows is in InfluxDB:
data arrives, the dashboards are written, Ctrl-C stops everything it started."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.storage.influxql import InfluxQL, QueryError
from simulators import local_servers
from tests.conftest import REPO
from tests.waiting import wait_for

pytestmark = pytest.mark.servers  # the demo starts its own Mosquitto and InfluxDB
MACHINES = ("printer-1", "printer-2", "cnc-1", "mill-1")


def run_demo(tmp_path: Path, until_stored: Callable[[str], bool], *options: str) -> str:
    """The demo as a user runs it, stopped with Ctrl-C (SIGINT) once InfluxDB holds what
    ``until_stored(url)`` waits for; its output."""
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "circlemade.cli", "demo", "--speed", "60",
             "--data-dir", str(tmp_path), *options],
            stdout=sink, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        url = options[options.index("--influx") + 1] if "--influx" in options else ""
        if not url:
            wait_for("the demo's InfluxDB started", lambda: "started InfluxDB 1.x on " in
                     out.read_text())
            url = re.search(r"started InfluxDB 1.x on (\S+)",  # type: ignore[union-attr]
                            out.read_text()).group(1)
        wait_for("the demo's data stored", lambda: until_stored(url), timeout_s=180)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(120) == 0, out.read_text()[-2000:]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    return out.read_text()


def every_machine_has_jobs_and_oee(url: str) -> bool:
    """... and the simulated operator has said all three kinds of things."""
    try:
        counts = asyncio.run(_counts(url))
        said = asyncio.run(_said(url))
    except QueryError:  # no database yet
        return False
    return all(counts[m].get(machine, 0) > 0 for m in ("energy", "oee", "job")
               for machine in MACHINES) and {"load", "verdict", "downtime"} <= said


async def _said(url: str) -> set[str]:
    client = InfluxQL(url, "circlemade")
    try:
        series = await client.query('SELECT "action" FROM "operator_input"')
    finally:
        await client.close()
    return {row["action"] for s in series for row in s.rows}


def test_demo_shows_data_arriving_in_influxdb(tmp_path: Path) -> None:
    out = run_demo(tmp_path, every_machine_has_jobs_and_oee)
    assert "started Mosquitto on 127.0.0.1:" in out and "started InfluxDB 1.x on" in out
    assert re.search(r"the operators' terminal: http://127\.0\.0\.1:\d+/ \(PIN \d{6}", out)
    final = out[out.index("The shift, as stored in InfluxDB"):]
    for machine in MACHINES:
        assert re.search(rf"│ {machine}\s+│ (running|idle|stopped|fault)", final), final
    written = int(re.search(r"points written: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert written > 100 and "decode errors: 0" in out
    assert (tmp_path / "grafana" / "dashboards" / "shop-floor.json").exists()
    assert (tmp_path / "edge.log").read_text().count('"event":"service.started"') == 1
    # nothing left running: no process of ours has the demo's data directory open
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout

    # what it wrote stays for every simulated machine: energy, and jobs and OEE
    with local_servers.influxdb1(tmp_path / "influxdb") as influx:
        assert every_machine_has_jobs_and_oee(influx.url)
        energy = asyncio.run(_energy(influx.url))
    # a plug's energy counter says what its power x time says, however fast the jobs run
    # (at --speed 60 the counters used to count 60 times that); machines without a plug
    # have their power integrated by the edge, power x time by construction
    plugs = {key: value for key, value in energy.items() if key[1].startswith("plug-")}
    for meter, (counted_kwh, integral_kwh) in plugs.items():  # Tasmota counts in Wh
        assert integral_kwh > 0, meter
        assert abs(counted_kwh - integral_kwh) <= 0.2 * integral_kwh + 0.001, (
            meter, counted_kwh, integral_kwh)
    assert {"printer-1", "printer-2", "mill-1"} == {machine for machine, _ in plugs}


async def _counts(url: str) -> dict[str, dict[str, int]]:
    client = InfluxQL(url, "circlemade")
    found: dict[str, dict[str, int]] = {}
    try:
        for measurement, field in (("energy", "energy_kwh"), ("oee", "oee"),
                                   ("job", "duration_s")):
            series = await client.query(
                f'SELECT count("{field}") FROM "{measurement}" GROUP BY machine')
            found[measurement] = {s.tags["machine"]: int(s.rows[0]["count"]) for s in series}
    finally:
        await client.close()
    return found


async def _energy(url: str) -> dict[tuple[str, str], tuple[float, float]]:
    """Per machine and meter: the stored energy's increase, and power x time (kWh)."""
    client = InfluxQL(url, "circlemade")
    found: dict[str, dict[tuple[str, str], float]] = {}
    try:
        for name, select in (("counted", 'SPREAD("energy_kwh")'),
                             ("integral", 'INTEGRAL("power_w", 1h) / 1000')):
            series = await client.query(f'SELECT {select} AS v FROM "energy" '
                                        "GROUP BY machine, meter")
            found[name] = {(s.tags["machine"], s.tags["meter"]): float(s.rows[0]["v"])
                           for s in series if s.rows and s.rows[0]["v"] is not None}
    finally:
        await client.close()
    return {meter: (counted, found["integral"].get(meter, 0.0))
            for meter, counted in found["counted"].items()}


def test_demo_uses_configured_servers(tmp_path: Path, mosquitto: local_servers.LocalServer,
                                      influxdb1: local_servers.LocalServer) -> None:
    def energy_of_two_machines(url: str) -> bool:
        try:
            return {"printer-1", "mill-1"} <= set(asyncio.run(_counts(url))["energy"])
        except QueryError:  # no database yet
            return False

    out = run_demo(tmp_path, energy_of_two_machines, "--broker",
                   f"mqtt://127.0.0.1:{mosquitto.port}", "--influx", influxdb1.url)
    assert "started Mosquitto" not in out and "started InfluxDB" not in out
