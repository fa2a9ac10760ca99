"""The operators' worked example of docs/metrics.md as a recording: a Monday morning on a
PETG printer (generic JSON with timestamps) that prints two parts a plate, and what the
people at the workshop said about it over MQTT."""

from __future__ import annotations

from typing import Any

from tests.replayed import around_the_clock, mqtt, utc

T = utc("2026-11-23T09:00:00")  # the site is in UTC, every hour planned
STATUS, SAY = "p/mk4/status", "circlemade/s/mk4/"
CONFIG: dict[str, Any] = {**around_the_clock(), "brokers": [{"id": "main"}], "machines": [
    {"id": "mk4", "kind": "printer", "material": "PETG", "parts_per_job": 2, "sources": [
        {"topic": STATUS, "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}]}


def status(minute: float, **fields: Any) -> dict[str, Any]:
    t = T + minute * 60
    return mqtt(t, STATUS, {"ts": t, **fields})


def say(minute: float, kind: str, **fields: Any) -> dict[str, Any]:
    return mqtt(T + minute * 60, SAY + kind, fields)


def entries() -> list[dict[str, Any]]:
    return [
        status(0, state="idle", power_w=10.0),
        status(10, state="running", job_event="start", job_name="bracket", power_w=150.0),
        status(50, power_w=10.0),
        status(50, state="idle", job_event="end", job_outcome="good", filament_used_mm=10000),
        say(60, "verdict", good=1, scrap=1, reason="warping", by="amina"),
        say(65, "downtime", reason="waiting_material", by="amina"),
        say(80, "material", action="load", lot="RPETG-2026-118", material="PETG",
            recycled_pct=100, supplier="Filamentz Brussels", mass_g=1000, by="amina"),
        status(90, state="running", job_event="start", job_name="lid", power_w=150.0),
        status(120, power_w=10.0),
        status(120, state="idle", job_event="end", job_outcome="good", filament_used_mm=5000),
        status(150, power_w=10.0),
    ]
