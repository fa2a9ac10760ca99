"""Record raw traffic from simulated devices (MQTT and OPC UA), replay it twice: the same
lines byte for byte, and the KPIs in them."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

import orjson
import tomli_w

from edge.service.config import load_config
from edge.tools.recording import Replayer, read_records, record, replay_to_file
from simulators.fleet import Fleet, MachineToolSpec, MeterSpec, PrinterSpec, Scenario
from simulators.local_servers import LocalServer, free_port
from tests.waiting import until


async def test_record_then_replay_is_deterministic(tmp_path: Path,
                                                   mosquitto: LocalServer) -> None:
    fleet = Fleet(Scenario(
        seed=4, speed=300, interval_s=0.1,
        printers=[PrinterSpec(id="x1", format="bambu", fail_rate=0.3)],
        meters=[MeterSpec(id="plug", format="tasmota", machine="x1")],
        machine_tools=[MachineToolSpec(id="mill", port=free_port(), scrap_rate=0.3)]))
    config_path = tmp_path / "edge.toml"
    config_path.write_text(tomli_w.dumps({
        "site": {"id": "rec"}, "brokers": [{"port": mosquitto.port}],
        "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "machines": fleet.machines_config(),
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "shifts": [{"name": "around-the-clock", "start": "00:00", "end": "00:00"}]},
    }))
    config = load_config(config_path)
    output = tmp_path / "session.jsonl"
    stop = asyncio.Event()
    recording = asyncio.create_task(record(config, output, None, stop))
    sim = asyncio.create_task(fleet.run("127.0.0.1", mosquitto.port))

    def sources_recorded() -> set[str]:
        if not output.exists():
            return set()
        lines = output.read_bytes().splitlines()
        return {orjson.loads(line)["source"] for line in lines[:-1]} if len(lines) > 51 else set()

    await until("both kinds of source recorded",
                lambda: sources_recorded() == {"mqtt", "opcua"}, timeout_s=120)
    stop.set()
    recorded = await recording
    sim.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sim
    entries = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    assert recorded == len(entries) > 50
    assert {e["source"] for e in entries} == {"mqtt", "opcua"}
    assert all(e["time"].endswith("Z") for e in entries)

    first, second = io.StringIO(), io.StringIO()
    replay_to_file(config, output, first)
    replay_to_file(config, output, second)
    assert first.getvalue() == second.getvalue()
    lines = first.getvalue().splitlines()
    measurements = {line.split(",", 1)[0] for line in lines}
    assert {"telemetry", "energy", "machine_state", "oee", "circularity"} <= measurements
    assert any(line.startswith("telemetry,kind=cnc,machine=mill") for line in lines)


def test_replay_rejects_a_broken_line(tmp_path: Path) -> None:
    import pytest

    from edge.service.config import parse_config
    from edge.tools.recording import RecordingError

    config = parse_config({"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
                           "machines": [{"id": "m", "kind": "meter", "sources": [
                               {"topic": "t", "profile": "json"}]}]})
    path = tmp_path / "broken.jsonl"
    path.write_text('{"time": "2026-01-01T00:00:00Z", "source": "mqtt", "topic": "t", '
                    '"payload": "{\\"power_w\\": 1}"}\n{"time": \n')
    with pytest.raises(RecordingError, match="broken.jsonl:2: not JSON"):
        list(Replayer(config).lines(read_records(path)))
