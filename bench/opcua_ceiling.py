"""The OPC UA ceiling: a bare asyncua client that subscribes to the same items as the
edge in bench/opcua_items.py (one session and subscription per machine, publishing
interval 1 s) and only counts the notifications. Its CPU per notification is what
asyncua itself costs; the edge's is compared to it.

    .venv/bin/python -m bench.opcua_ceiling ENDPOINT MACHINES VARIABLES SECONDS

Prints one JSON line: notifications/s, CPU share of a core, CPU us per notification.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from asyncua import Client, ua

WARM_UP_S = 10.0


class Counter:
    """asyncua's handler interface; a plain method, so no task per notification."""

    def __init__(self) -> None:
        self.count = 0

    def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
        self.count += 1


async def subscribe(endpoint: str, machine: str, counter: Counter) -> Client:
    client = Client(endpoint, timeout=120)
    await client.connect()
    parent = await client.nodes.objects.get_child(["1:Load", f"1:{machine}"])
    variables = await parent.get_children(nodeclassmask=ua.NodeClass.Variable)
    subscription = await client.create_subscription(1000, counter)
    await subscription.subscribe_data_change(variables, sampling_interval=1000)
    return client


async def measure(endpoint: str, machines: int, seconds: float) -> dict[str, Any]:
    counter = Counter()
    clients = [await subscribe(endpoint, f"M{m:03d}", counter) for m in range(machines)]
    try:
        await asyncio.sleep(WARM_UP_S)  # the first values of every item, then steady
        count0, cpu0, wall0 = counter.count, time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        count1, cpu1, wall1 = counter.count, time.process_time(), time.monotonic()
    finally:
        for client in clients:
            await client.disconnect()
    received = count1 - count0
    return {"notifications_per_s": received / (wall1 - wall0),
            "cpu_pct": 100 * (cpu1 - cpu0) / (wall1 - wall0),
            "cpu_us_per_notification": 1e6 * (cpu1 - cpu0) / max(1, received)}


def main() -> None:
    endpoint, machines, _, seconds = sys.argv[1:5]
    print(json.dumps(asyncio.run(measure(endpoint, int(machines), float(seconds)))))


if __name__ == "__main__":
    main()
