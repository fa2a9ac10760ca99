"""``circlemade probe``: ask a polled device (PrusaLink, MTConnect, Modbus, OPC UA) once,
before a config is written, and show what came back and what its profile makes of it.

The source is built as the config would build it (``profile``, ``endpoint`` and the
profile's other keys), then its own gateway runs one round: the same requests, login,
timeouts and decoding as the service, so a probe that works is a source that works.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contract.errors import ConfigProblem
from contract.reading import Reading
from edge.storage.health import Health
from gateways.gateway import Outbox
from gateways.profiles import PROFILES, Source, ValueSourceBase

ROUTE = "probe"
ERRORS = ("http_errors", "modbus_errors", "decode_errors", "reconnects")
"""Counters of the gateways that mean the round failed."""


class ProbeError(ConfigProblem):
    """The source cannot be built: the message names the key, as check-config would."""


@dataclass
class Probe:
    """What one round brought: each document or register block, then the readings."""

    answers: list[tuple[str, Any]] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    failed: bool = False


def polled_profiles() -> list[str]:
    return [name for name, p in PROFILES.items() if issubclass(p.model, ValueSourceBase)]


def source_of(profile: str, endpoint: str, settings: list[str]) -> ValueSourceBase:
    """The source as the config would hold it; ``settings`` are ``key=value`` in TOML
    (``unit=2``, ``api_key_env="PRUSA_KEY"``; a bare word is taken as text)."""
    if profile not in polled_profiles():
        raise ProbeError(f"profile {profile!r} is not polled; expected one of: "
                         f"{', '.join(polled_profiles())} (an MQTT payload: circlemade decode)")
    raw: dict[str, Any] = {"profile": profile, "endpoint": endpoint}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals:
            raise ProbeError(f"{setting!r}: expected key=value")
        try:
            raw[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raw[key.strip()] = value
    try:
        source = TypeAdapter(Source).validate_python(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(step) for step in error["loc"][1:]) or "source"
        raise ProbeError(f"{where}: {error['msg'].removeprefix('Value error, ')}") from None
    assert isinstance(source, ValueSourceBase)
    return source


async def probe(source: ValueSourceBase, timeout_s: float = 30.0) -> Probe:
    """One round of the source's gateway: done at the first readings or the first error."""
    found, counters = Probe(), Health("probe")
    gateway = source.gateway(ROUTE, source.decoder("probe", "probe"), counters)
    gateway.tap = lambda key, value, _: found.answers.append((key, value))
    out: Outbox = asyncio.Queue()
    task = asyncio.create_task(gateway.run(out))
    try:
        async with asyncio.timeout(timeout_s):
            while not found.readings and not _failed(counters):
                with contextlib.suppress(TimeoutError):
                    batch = await asyncio.wait_for(out.get(), 0.2)
                    found.readings += [r for r in batch or () if isinstance(r, Reading)]
    except TimeoutError:
        found.failed = True
    finally:
        await gateway.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    found.failed = found.failed or (not found.readings and _failed(counters))
    return found


def _failed(counters: Health) -> bool:
    return any(counters.get(ROUTE, name) for name in ERRORS)
