"""The notifier's own rules, inside the unit: quiet hours in the site's time zone (also
across midnight and the clock change), a bounded queue whose overflow is counted, and a
rate limit that holds a storm back."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge.pipeline.kpi.alerts import Alert
from edge.service import notifier
from edge.service.config import Config, parse_config
from edge.service.notifier import Notifier
from edge.storage.health import Health

BRUSSELS = ZoneInfo("Europe/Brussels")


def config(**rule: Any) -> Config:
    return parse_config({
        "site": {"id": "s", "timezone": "Europe/Brussels"},
        "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "t", "profile": "json"}]}],
        "alerts": [{"rule": "fault", "notify": ["json://127.0.0.1:9/x"], **rule}]})


def alert(local: str) -> Alert:
    at = datetime.fromisoformat(local).replace(tzinfo=BRUSSELS)
    return Alert(0, "fault", "m", "firing", "m: in fault", int(at.timestamp() * 1e9))


@pytest.mark.parametrize(("local", "held"), [
    ("2026-12-02T21:59", False), ("2026-12-02T22:00", True), ("2026-12-03T03:00", True),
    ("2026-12-03T06:59", True), ("2026-12-03T07:00", False),
    ("2026-10-25T02:30", True),  # the night the clocks go back: still night
    ("2026-07-01T23:30", True),  # summer time: 21:30 UTC, yet 23:30 in Brussels
])
async def test_quiet_hours_across_midnight_in_the_sites_time_zone(local: str,
                                                                   held: bool) -> None:
    sender = Notifier(config(quiet=["22:00-07:00"]), Health("s"))
    sender.offer([alert(local)])
    assert sender._queue.empty() is held


async def test_a_full_queue_counts_what_it_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notifier, "QUEUE", 3)
    health = Health("s")
    sender = Notifier(config(), health)
    sender.offer([alert("2026-12-02T10:00")] * 5)
    assert sender._queue.qsize() == 3
    assert health.get("alerts", "alerts_dropped") == 2


async def test_a_storm_is_held_to_the_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sending is replaced by a list and the clock by a counter that waiting moves on:
    25 alerts at once go out as 20, then 5 a minute later."""
    health, now, sent_at = Health("s"), [1000.0], []
    real_sleep = asyncio.sleep

    async def wait(delay: float) -> None:
        now[0] += delay
        await real_sleep(0)

    sender = Notifier(config(), health)
    def send(_: Alert) -> bool:
        sent_at.append(now[0])
        return True

    sender.clock, sender.sleep = lambda: now[0], wait
    monkeypatch.setattr(sender, "_send", send)
    sender.offer([alert("2026-12-02T10:00")] * 25)
    task = asyncio.create_task(sender.run())
    try:
        while len(sent_at) < 25:
            await real_sleep(0.01)
    finally:
        task.cancel()
    assert sent_at == [1000.0] * notifier.PER_MINUTE + [1060.0] * 5
    assert health.get("alerts", "alerts_sent") == 25
