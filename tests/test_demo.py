"""The README's demo command, as a user runs it, for a few seconds: data arrives in
InfluxDB, the dashboards are written, and nothing it started keeps running."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from edge.influxql import InfluxQL
from simulators import local_servers
from tests.conftest import REPO


def test_demo_shows_data_arriving_in_influxdb(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "demo", "--duration", "20", "--speed", "60",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "started Mosquitto on 127.0.0.1:" in out and "started InfluxDB 1.x on" in out
    final = out[out.index("The shift, as stored in InfluxDB"):]
    for machine in ("printer-1", "printer-2", "cnc-1", "mill-1"):
        assert re.search(rf"│ {machine}\s+│ (running|idle|stopped|fault)", final), final
    written = int(re.search(r"points written: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert written > 100 and "decode errors: 0" in out
    assert (tmp_path / "grafana" / "dashboards" / "shop-floor.json").exists()
    assert (tmp_path / "edge.log").read_text().count('"event":"service.started"') == 1
    # nothing left running: no process of ours has the demo's data directory open
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout

    # what it wrote is there for every simulated machine: energy, and jobs and OEE
    with local_servers.influxdb1(tmp_path / "influxdb") as influx:
        counts = asyncio.run(_counts(influx.url))
        energy = asyncio.run(_energy(influx.url))
    for machine in ("printer-1", "printer-2", "cnc-1", "mill-1"):
        for measurement in ("energy", "oee", "job"):
            assert counts[measurement].get(machine, 0) > 0, (machine, measurement, counts)
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
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "demo", "--duration", "12", "--speed", "60",
         "--data-dir", str(tmp_path), "--broker", f"mqtt://127.0.0.1:{mosquitto.port}",
         "--influx", influxdb1.url], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "started Mosquitto" not in result.stdout and "started InfluxDB" not in result.stdout
    counts = asyncio.run(_counts(influxdb1.url))
    assert {"printer-1", "mill-1"} <= set(counts["energy"])
