"""OPC UA end to end: the simulated machine tool -> the gateway -> InfluxDB, including a
server restart mid-stream, polling, browsing and security."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL
from simulators.cnc import SimulatedCnc
from simulators.local_servers import LocalServer, free_port
from simulators.opcua_machine_tool import MachineToolServer
from tests.talk import running
from tests.waiting import until


class RecordingServer(MachineToolServer):
    """The simulator, keeping the spindle speeds it wrote with their source timestamps."""

    written: list[tuple[int, float]]

    async def _write(self, key: str, value: Any, stamp: datetime) -> None:
        await super()._write(key, value, stamp)
        if key == "speed":
            self.written.append((int(stamp.timestamp() * 1e6) * 1000, round(value.Value, 6)))


def opcua_config(endpoint: str, database: str, influx: LocalServer, **source: Any) -> Any:
    return parse_config({
        "site": {"id": "opcua-test"},
        "brokers": [],
        "influx": {"api": "v1", "url": influx.url, "database": database,
                   "flush_interval_s": 0.2},
        "machines": [{"id": "mill-1", "kind": "cnc", "sources": [{
            "endpoint": endpoint, "profile": "umati", "heartbeat_s": 0.5, "timeout_s": 2,
            "reconnect_min_s": 0.5, "reconnect_max_s": 2, "publishing_interval_ms": 100,
            "sampling_interval_ms": 50, **source}]}],
    })



async def wait_connected(service: EdgeService, timeout_s: float = 15) -> float:
    started = time.monotonic()
    await until("the OPC UA gateway connected", service.value_gateways[0].connected.is_set,
                timeout_s)
    return time.monotonic() - started


async def stored_speeds(influx: LocalServer, database: str) -> list[tuple[int, float]]:
    client = InfluxQL(influx.url, database)
    try:
        series = await client.query("SELECT spindle_speed_rpm FROM telemetry "
                                    "WHERE spindle_speed_rpm >= 0")
    finally:
        await client.close()
    return [(r["time"], round(r["spindle_speed_rpm"], 6)) for s in series for r in s.rows]


async def test_machine_tool_into_influxdb_across_a_server_restart(influxdb1: LocalServer) -> None:
    cnc = SimulatedCnc("mill-1", seed=5, alarm_rate=0.0, cycle_s=(1000, 1000))  # cutting
    port = free_port()
    server = RecordingServer(cnc, port, speed=30, interval_s=0.1)
    server.written = []
    await server.start()
    config = opcua_config(server.endpoint, "opcua_restart", influxdb1)
    async with running(config) as service:
        await wait_connected(service)
        await until("values written before the outage", lambda: len(server.written) > 10)
        # A value written in the last publishing interval before the server goes away is
        # never published by it: that is the outage itself, from the client's side.
        outage_started = time.time_ns() - 300_000_000
        await server.stop()
        await until("the gateway notices",
                    lambda: not service.value_gateways[0].connected.is_set())
        assert not service.value_gateways[0].connected.is_set()
        await server.start()
        back_after = await wait_connected(service)
        resumed = time.time_ns()
        await until("values written after the resumption", lambda: len(
            [t for t, _ in server.written if t > resumed + 300_000_000]) >= 10)
        # likewise what the server writes as the service stops is never delivered
        stopping = time.time_ns() - 300_000_000
    print(f"OPC UA server restart: reconnected after {back_after:.2f} s")
    assert back_after < 5, f"reconnected only after {back_after:.1f} s"
    stored = dict(await stored_speeds(influxdb1, "opcua_restart"))
    await server.stop()
    before = [(t, v) for t, v in server.written if t < outage_started]
    after = [(t, v) for t, v in server.written if resumed + 300_000_000 < t < stopping]
    assert len(before) > 5 and len(after) > 3
    missing = [(t, v) for t, v in before + after if stored.get(t) != v]
    where = [(round((t - outage_started) / 1e9, 2), round((t - resumed) / 1e9, 2))
             for t, _ in missing]
    assert missing == [], (f"{len(missing)} of {len(before) + len(after)} values not stored; "
                           f"seconds from the outage's start and the resumption: {where}")
    assert len(stored) <= len(server.written)  # nothing invented, no duplicates

    client = InfluxQL(influxdb1.url, "opcua_restart")
    try:
        (states,) = await client.query("SELECT state FROM machine_state")
        (parts,) = await client.query("SELECT max(parts_produced) FROM telemetry")
    finally:
        await client.close()
    seen = [r["state"] for r in states.rows]
    assert "offline" in seen and seen[-1] != "offline"
    assert parts.rows[0]["max"] == cnc.parts


async def test_polling_mode(influxdb1: LocalServer) -> None:
    server = MachineToolServer(SimulatedCnc("mill-1", seed=2, cycle_s=(5, 10)), free_port(),
                               speed=30, interval_s=0.1)
    await server.start()
    try:
        config = opcua_config(server.endpoint, "opcua_poll", influxdb1, mode="poll",
                              poll_interval_s=0.2)
        async with running(config) as service:
            await wait_connected(service)

            async def polled() -> bool:
                return len(await stored_speeds(influxdb1, "opcua_poll")) >= 2

            await until("polled values stored", polled)
    finally:
        await server.stop()
    speeds = await stored_speeds(influxdb1, "opcua_poll")
    assert len(speeds) >= 2  # the spindle changes only when a cycle starts or ends
    assert len({t for t, _ in speeds}) == len(speeds)


async def test_browse_prints_the_tree() -> None:
    from gateways.transports.opcua_browse import browse

    server = MachineToolServer(SimulatedCnc("mill-7"), free_port())
    await server.start()
    try:
        lines = await browse(server.endpoint, depth=6)
    finally:
        await server.stop()
    text = "\n".join(lines)
    assert "Machines/mill-7/Monitoring/Spindle/ActualSpeed" in text
    assert "nsu=http://circlemade.eu/UA/SimulatedMachineTool/;" in text
    assert any("ActualSpeed" in line and "Double" in line for line in lines)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from gateways.transports.opcua_certificates import make_certificate

    folder = tmp_path_factory.mktemp("pki")
    server = make_certificate(folder / "server", "urn:circlemade:sim:mill-1", server=True)
    client = make_certificate(folder / "client", "urn:circlemade:edge", server=False)
    trusted, untrusted = folder / "trusted", folder / "untrusted"
    trusted.mkdir()
    untrusted.mkdir()
    (trusted / "server.der").write_bytes(server[0].read_bytes())
    (untrusted / "another.der").write_bytes(client[0].read_bytes())
    return {"server_cert": server[0], "server_key": server[1], "client_cert": client[0],
            "client_key": client[1], "trusted": trusted, "untrusted": untrusted}


@pytest.mark.parametrize("trusted", [True, False])
async def test_sign_and_encrypt_with_a_trust_list(
    influxdb1: LocalServer, certificates: dict[str, Path], trusted: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = MachineToolServer(SimulatedCnc("mill-1", seed=9), free_port(), speed=30,
                               interval_s=0.1, certificate=certificates["server_cert"],
                               private_key=certificates["server_key"], security_only=True)
    await server.start()
    database = f"opcua_secure_{trusted}"
    security = {"policy": "Basic256Sha256", "mode": "SignAndEncrypt",
                "certificate": str(certificates["client_cert"]),
                "private_key": str(certificates["client_key"]),
                "trust_dir": str(certificates["trusted" if trusted else "untrusted"])}
    try:
        async with running(opcua_config(server.endpoint, database, influxdb1,
                                        security=security)) as service:
            if trusted:
                await wait_connected(service)

                async def flowing() -> bool:
                    return len(await stored_speeds(influxdb1, database)) > 3

                await until("values over the secure channel", flowing)
            else:
                await until("the refusal is logged", lambda: any(
                    "not trusted" in str(getattr(r, "fields", "")) for r in caplog.records))
                assert not service.value_gateways[0].connected.is_set()
    finally:
        await server.stop()
    if trusted:
        assert len(await stored_speeds(influxdb1, database)) > 3
    else:
        messages = " ".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
        assert "the server's certificate is not trusted" in messages


async def test_bad_status_values_are_counted_not_written(influxdb1: LocalServer) -> None:
    from asyncua import ua

    server = MachineToolServer(SimulatedCnc("mill-1", seed=3), free_port(), interval_s=60)
    await server.start()
    config = opcua_config(server.endpoint, "opcua_bad_status", influxdb1)
    try:
        async with running(config) as service:
            await wait_connected(service)
            speed = server._vars["speed"]
            for value, status in ((111.0, ua.StatusCodes.Good),
                                  (999.0, ua.StatusCodes.BadSensorFailure),
                                  (222.0, ua.StatusCodes.Good)):
                seen = service.health.get("mill-1/umati", "messages_in")
                await speed.write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double),
                                                     StatusCode=ua.StatusCode(status)))
                def received(seen: float = seen) -> bool:
                    return service.health.get("mill-1/umati", "messages_in") > seen

                await until("the gateway receives it", received)
    finally:
        await server.stop()
    values = [v for _, v in await stored_speeds(influxdb1, "opcua_bad_status")]
    assert values[-2:] == [111.0, 222.0] and 999.0 not in values
    assert service.health.get("mill-1/umati", "bad_status") == 1
    # issue 14, defect 11: status said "last message never" for every OPC UA source
    assert service.health.get("mill-1/umati", "last_message_s") > 0
