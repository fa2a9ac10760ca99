"""``circlemade simulate``: run a simulated fleet against a broker until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w
from pydantic import ValidationError

from simulators.fleet import Fleet, Scenario


def load_scenario(path: Path | None, counts: tuple[int, int, int, int, int, int, int, int],
                  options: dict[str, Any]) -> Scenario:
    """A scenario file, or one made from counts; command-line options override the file's."""
    given = {k: v for k, v in options.items() if v is not None}
    if path is None:
        return Scenario.from_counts(*counts, **given)
    try:
        raw = tomllib.loads(path.read_text())
        return Scenario.model_validate({**raw, **given})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemExit(f"{path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"{path}: {problems}") from None


def parse_broker(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise SystemExit(f"--broker {url!r}: expected mqtt://HOST[:PORT]")
    return parts.hostname, parts.port or 1883


def machines_toml(fleet: Fleet) -> str:
    return tomli_w.dumps({"machines": fleet.machines_config()})


def run(scenario: Scenario, broker: str, duration_s: float | None,
        steps: int | None = None) -> int:
    host, port = parse_broker(broker)
    fleet = Fleet(scenario)
    tools = "".join(f", OPC UA {t.endpoint}" for t in fleet.machine_tools) + (
        f", Modbus {fleet.modbus.endpoint()} (units 1-{len(fleet.modbus.meters)})"
        if fleet.modbus.meters else "") + "".join(
        f", HTTP {server.endpoint}" for server in fleet.http)
    print(f"simulating {len(fleet.machines)} machines ({len(fleet.devices())} MQTT devices) on "
          f"mqtt://{host}:{port}{tools}, speed x{scenario.speed}, seed {scenario.seed}; "
          "Ctrl-C stops", file=sys.stderr, flush=True)

    async def main() -> None:
        task = asyncio.create_task(fleet.run(host, port, duration_s, steps=steps))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    print(f"published {fleet.published} messages", file=sys.stderr)
    return 0
