"""A small simulated workshop: printers with smart plugs, publishing over MQTT.

``speed`` runs the machines' physics faster than the clock (jobs finish sooner) while
messages keep real timestamps, so a demo shows whole job cycles in minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson

from simulators.meter import SimulatedMeter
from simulators.mqtt_publisher import Publisher
from simulators.printer import SimulatedPrinter


class SimulatedWorkshop:
    def __init__(self, printers: list[str], seed: int = 1, speed: float = 1.0) -> None:
        self.printers = [SimulatedPrinter(m, seed=seed + i) for i, m in enumerate(printers)]
        self.meters = [
            SimulatedMeter(f"plug-{p.machine}", _load_of(p), seed=seed + 100 + i)
            for i, p in enumerate(self.printers)
        ]
        self.speed = speed
        self.published = 0

    def messages(self, time_s: float) -> list[tuple[str, bytes]]:
        out = [(f"workshop/{p.machine}/status", orjson.dumps(p.status(time_s)))
               for p in self.printers]
        out += [(f"workshop/{m.meter}/energy", orjson.dumps(m.status(time_s)))
                for m in self.meters]
        return out

    def step(self, dt_s: float) -> None:
        for printer in self.printers:
            printer.step(dt_s * self.speed)
        for meter in self.meters:
            meter.step(dt_s * self.speed)

    async def run(self, host: str, port: int, interval_s: float = 1.0) -> None:
        """Publish every ``interval_s`` until cancelled."""
        publisher = Publisher(host, port, "circlemade-simulated-workshop")
        await asyncio.to_thread(publisher.wait_connected)
        try:
            while True:
                for topic, payload in self.messages(time.time()):
                    publisher.publish(topic, payload, qos=1)
                    self.published += 1
                await asyncio.sleep(interval_s)
                self.step(interval_s)
        finally:
            publisher.close()


def _load_of(printer: SimulatedPrinter) -> Callable[[], float]:
    return lambda: printer.load_w
