"""Every profile end to end: simulated devices -> Mosquitto -> edge -> InfluxDB 1.x, and
what InfluxDB holds is what the simulators sent, message for message."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from typing import Any

import orjson
from paho.mqtt.client import topic_matches_sub

from contract.schema import SIGNALS
from contract.units import converter
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.normalise import Normaliser
from edge.service.config import Config, parse_config
from edge.service.sources import routes
from edge.service.wiring import EdgeService
from edge.storage.influxql import InfluxQL
from gateways.decoding import PartialDecode
from gateways.profiles.base import MqttSourceBase
from simulators.fleet import CncSpec, Fleet, MeterSpec, PrinterSpec, Scenario
from simulators.local_servers import LocalServer
from tests.waiting import until

SCENARIO = Scenario(
    seed=11, speed=600, interval_s=0.05,
    printers=[PrinterSpec(id="x1", format="bambu", fail_rate=0.3, cancel_rate=0.3),
              PrinterSpec(id="p1", format="bambu_p1", fail_rate=0.3, cancel_rate=0.3),
              PrinterSpec(id="mk3", format="octoprint", fail_rate=0.3, cancel_rate=0.3),
              PrinterSpec(id="voron", format="moonraker", fail_rate=0.3, cancel_rate=0.3)],
    meters=[MeterSpec(id="tas", format="tasmota", machine="x1"),
            MeterSpec(id="sh1", format="shelly_gen1", machine="p1"),
            MeterSpec(id="sh2", format="shelly_gen2", machine="mk3", wrap_wh=50.0)],
    cnc=[CncSpec(id="router", alarm_rate=0.2)],
)
Series = dict[tuple[str, str, str], list[Any]]


def expected_series(config: Config, sent: list[tuple[str, bytes]]) -> Series:
    """Decode what was sent with fresh decoders, as the edge should have."""
    machines = {m.id: m for m in config.machines}
    decoders = []
    for route, (machine, index) in routes(config).items():
        source = machines[machine].sources[index]
        assert isinstance(source, MqttSourceBase)
        decoders.append((route, source.topic, source.decoder(config.site.id, machine)))
    series: Series = defaultdict(list)
    normaliser, kpi = Normaliser({}), KpiEngine(config)  # as the service: energy made monotonic
    now_ns = time.time_ns()  # arrival times the edge believes
    for number, (topic, payload) in enumerate(sent):
        for _, subscription, decoder in decoders:
            if not topic_matches_sub(subscription, topic):
                continue
            try:
                decoded = decoder.decode(topic, payload, now_ns + number * 50_000_000)
            except PartialDecode as exc:
                decoded = exc.readings
            readings, _ = kpi.process(normaliser.canonical(decoded)[0])
            for r in readings:
                spec = SIGNALS[r.signal]
                value = r.value if isinstance(r.value, str) else round(
                    converter(r.unit, spec.unit)(r.value), 6)
                series[(r.machine, spec.measurement.name, r.signal)].append(value)
    return series


async def stored_series(client: InfluxQL) -> Series:
    series: Series = defaultdict(list)
    query = 'SELECT * FROM "telemetry","energy","machine_state","job_event" GROUP BY *'
    for result in await client.query(query):
        for row in result.rows:
            for field, value in row.items():
                if field in ("time", "state_code") or value is None:
                    continue
                stored = value if isinstance(value, str) else round(value, 6)
                series[(result.tags["machine"], result.name, field)].append(stored)
    return series


async def test_every_profile_round_trips_through_mosquitto_and_influxdb(
    mosquitto: LocalServer, influxdb1: LocalServer
) -> None:
    fleet = Fleet(SCENARIO)
    sent: list[tuple[str, bytes]] = []
    fleet.on_publish = lambda topic, payload: sent.append((topic, payload))
    config = parse_config({
        "site": {"id": "roundtrip"},
        "brokers": [{"port": mosquitto.port, "client_id": "roundtrip-edge"}],
        "influx": {"api": "v1", "url": influxdb1.url, "database": "roundtrip",
                   "flush_interval_s": 0.2},
        "machines": fleet.machines_config(),
    })
    profiles = {s.profile for m in config.machines for s in m.sources}
    assert profiles == {"bambu", "octoprint", "moonraker", "tasmota", "shelly", "sparkplug_b"}

    service = EdgeService(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    assert await asyncio.to_thread(service.gateways[0].connected.wait, 10)
    await fleet.run("127.0.0.1", mosquitto.port, client_id="roundtrip-sim", steps=80)

    expected = expected_series(config, sent)
    client = InfluxQL(influxdb1.url, "roundtrip")
    stored: Series = {}

    async def all_stored() -> bool:
        nonlocal stored
        stored = await stored_series(client)
        return stored == expected

    try:
        with contextlib.suppress(AssertionError):  # the comparison below says what differs
            await until("every series stored as sent", all_stored)
    finally:
        stop.set()
        await task
        await client.close()

    assert sum(int(f.get("decode_errors", 0)) for f in service.health.snapshot().values()) == 0
    assert sum(int(f.get("messages_in", 0)) for f in service.health.snapshot().values()) >= len(
        sent)
    assert set(stored) == set(expected)
    for key in sorted(expected):
        assert stored[key] == expected[key], key
    # The run covered what matters: every machine, and jobs that ended.
    assert {m for m, _, _ in expected} == {"x1", "p1", "mk3", "voron", "router"}
    outcomes = {v for (_, _, f), values in expected.items() if f == "job_outcome" for v in values}
    assert outcomes, "no job ended during the run"
    assert len(sent) > 500


async def test_malformed_payloads_are_counted_per_source_and_the_rest_flows(
    mosquitto: LocalServer, influxdb1: LocalServer, tmp_path: Any
) -> None:
    from gateways.profiles.sparkplug_b_payload import DOUBLE, Payload, add_metric
    from simulators.mqtt_publisher import Publisher

    ddata = Payload(seq=3)
    add_metric(ddata, None, 1.0, DOUBLE, alias=1)
    config = bad_input_config(mosquitto.port, influxdb1.url, tmp_path)
    bad = [
        ("bad/device/X1/report", b'{"print": {"nozzle_temper": 2'),        # truncated JSON
        ("bad/device/X1/report", b'{"print": {"nozzle_temper": "hot"}}'),  # wrong type
        ("bad/tele/plug/SENSOR", bytes(range(200))),                        # binary blob
        ("bad/tele/plug/SENSOR", b'{"ENERGY": {"Totale": 1}}'),             # unknown fields
        ("spBv1.0/bad/DDATA/gw/cnc", ddata.SerializeToString()),            # DATA before BIRTH
    ]
    good = [("bad/device/X1/report", b'{"print": {"nozzle_temper": 201.5}}'),
            ("bad/tele/plug/SENSOR", b'{"ENERGY": {"Power": 33}}')]
    service = EdgeService(config)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    assert await asyncio.to_thread(service.gateways[0].connected.wait, 10)
    publisher = Publisher("127.0.0.1", mosquitto.port, "bad-input-publisher")
    publisher.wait_connected()
    for topic, payload in bad + good:
        publisher.publish(topic, payload)
    await asyncio.to_thread(publisher.close)
    client = InfluxQL(influxdb1.url, "bad_input")

    async def stored() -> int:
        series = await client.query('SELECT * FROM "telemetry","energy"')
        return sum(len(s.rows) for s in series)

    points = 0

    async def both_stored() -> bool:
        nonlocal points
        points = await stored()
        return points == 2

    try:
        with contextlib.suppress(AssertionError):  # the assertion below says how many
            await until("both points stored", both_stored)
    finally:
        stop.set()
        await task
        await client.close()
    assert points == 2  # the good messages after the bad ones
    health = service.health
    assert counts(health, "x1/bambu") == (3, 2)
    assert counts(health, "plug/tasmota") == (3, 2)
    assert counts(health, "cnc/sparkplug_b") == (1, 1)
    # kept for a person to look at: topic, error and the payload itself
    kept = [orjson.loads(line) for line in
            (tmp_path / "buffer.deadletters.jsonl").read_bytes().splitlines()]
    assert [(k["topic"], k["source"]) for k in kept] == [
        (topic, route) for (topic, _), route in zip(bad, [
            "x1/bambu", "x1/bambu", "plug/tasmota", "plug/tasmota", "cnc/sparkplug_b"],
            strict=True)]
    assert kept[2]["encoding"] == "base64" and "not JSON" in kept[0]["error"]


def bad_input_config(broker_port: int, influx_url: str, tmp_path: Any) -> Config:
    """A Bambu printer, a Tasmota plug and a Sparkplug CNC, each to be sent bad input."""
    return parse_config({
        "site": {"id": "bad-input"},
        "brokers": [{"port": broker_port, "client_id": "bad-input-edge"}],
        "influx": {"api": "v1", "url": influx_url, "database": "bad_input",
                   "flush_interval_s": 0.2},
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [
            {"id": "x1", "kind": "printer", "sources": [
                {"topic": "bad/device/X1/report", "profile": "bambu",
                 "pushall": False}]},
            {"id": "plug", "kind": "meter", "sources": [
                {"topic": "bad/tele/plug/+", "profile": "tasmota"}]},
            {"id": "cnc", "kind": "cnc", "sources": [
                {"topic": "spBv1.0/bad/+/gw/#", "profile": "sparkplug_b", "device": "cnc"}]},
        ],
    })


def counts(health: Any, route: str) -> tuple[int, int]:
    return int(health.get(route, "messages_in")), int(health.get(route, "decode_errors"))
