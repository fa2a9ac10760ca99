"""Sensors end to end: an AirGradient monitor (a simulated local API answering its
documentation's shape) polled over HTTP, and an ESPHome sound level meter and a
Zigbee2MQTT air sensor publishing through a real Mosquitto -> the gateways -> InfluxDB's
``environment``."""

from __future__ import annotations

from typing import Any

import orjson
import paho.mqtt.publish as publish
from aiohttp import web

from edge.service.config import parse_config
from simulators.http_device import HttpDevice
from simulators.local_servers import LocalServer, free_port
from tests.talk import polled_config, rows, running
from tests.waiting import until

ANSWER = {"wifi": -46, "serialno": "ecda3b1eaaaf", "rco2": 447, "pm01": 3, "pm02": 7,
          "pm10": 8, "pm003Count": 442, "atmp": 25.87, "rhum": 43, "tvocIndex": 100,
          "noxIndex": 1}


class Monitor(HttpDevice):
    def routes(self, app: web.Application) -> None:
        async def current(request: web.Request) -> web.Response:
            return web.json_response(ANSWER)

        app.router.add_get("/measures/current", current)


async def environment(influx: LocalServer, database: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await rows(influx.url, database,
                                             'SELECT * FROM "environment"')
    return found


async def test_an_airgradient_monitor_is_polled(influxdb1: LocalServer) -> None:
    monitor = Monitor(free_port())
    await monitor.start()
    try:
        config = polled_config("air-test", "air_ag", influxdb1, {
            "id": "air-1", "kind": "sensor", "location": "laser-1", "sources": [{
                "profile": "airgradient", "endpoint": f"http://127.0.0.1:{monitor.port}"}]})
        async with running(config):
            async def stored() -> bool:
                return any(r.get("pm2_5_ugm3") == 7.0 for r in await environment(
                    influxdb1, "air_ag"))

            await until("the monitor's values stored", stored, 60)
        (row, *_) = await environment(influxdb1, "air_ag")
        assert row["particles_03_per_dl"] == 442.0 and row["co2_ppm"] == 447.0
        assert row["kind"] == "sensor"
    finally:
        await monitor.stop()


async def test_esphome_and_zigbee2mqtt_sensors_over_mosquitto(
        influxdb1: LocalServer, mosquitto: LocalServer) -> None:
    config = parse_config({
        "site": {"id": "air-test"},
        "brokers": [{"id": "main", "host": "127.0.0.1", "port": mosquitto.port}],
        "health_interval_s": 0.5,
        "influx": {"api": "v1", "url": influxdb1.url, "database": "air_mqtt",
                   "flush_interval_s": 0.2},
        "machines": [
            {"id": "facade", "kind": "sensor", "location": "facade", "sources": [{
                "profile": "esphome", "topic": "facade-noise/#",
                "sensors": {"laeq_1min": {"signal": "sound_dba"}}}]},
            {"id": "air-laser", "kind": "sensor", "location": "laser-1", "sources": [{
                "profile": "zigbee2mqtt", "topic": "zigbee2mqtt/air-laser/#"}]}]})
    messages = [("facade-noise/sensor/laeq_1min/state", b"57.31"),
                ("zigbee2mqtt/air-laser", orjson.dumps({
                    "humidity": 41, "linkquality": 116, "pm25": 11, "temperature": 21.4,
                    "voc_index": 122}))]
    for topic, payload in messages:  # retained: the edge gets them whenever it subscribes
        publish.single(topic, payload, qos=1, retain=True, hostname="127.0.0.1",
                       port=mosquitto.port)
    async with running(config):
        async def both() -> bool:
            found = await environment(influxdb1, "air_mqtt")
            return {r["machine"] for r in found} == {"facade", "air-laser"}

        await until("both sensors stored", both, 60)
    found = {r["machine"]: r for r in await environment(influxdb1, "air_mqtt")}
    assert found["facade"]["sound_dba"] == 57.31
    assert found["air-laser"]["pm2_5_ugm3"] == 11.0 and found["air-laser"]["voc_index"] == 122
