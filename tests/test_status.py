"""``circlemade status`` from a status file: each thing that needs a person makes it exit
1 and says what; a healthy service exits 0. And the supervisor behind "CRASHED"."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import StatusSettings
from edge.service.status import read_status, write_status


def healthy(now: float) -> dict[str, Any]:
    return {"pid": 1, "written_s": now, "uptime_s": 100.0, "buffer_depth": 10,
            "buffer_max_points": 1000, "buffer_dropped": 0, "buffer_last_drop_s": None,
            "buffer_full": False, "last_write_s": now - 1, "write_failing_since_s": None,
            "last_write_error": "", "dead_letters": 0, "crashes": {},
            "sources": {"mqtt:main": {"connected": True, "messages_in": 5}},
            "sinks": {"influx": store(now), "central": store(now)}}


def store(now: float, **change: Any) -> dict[str, Any]:
    return {"url": "http://127.0.0.1:8086", "depth": 10, "max_points": 1000,
            "last_write_s": now - 1, "failing_since_s": None, "last_error": "",
            "refused": False, **change}


@pytest.mark.parametrize(("change", "says"), [
    ({"sinks": {"influx": {"failing_since_s": -400, "last_error": "HTTP 503: busy"}}},
     "STORE FAILING: influx for more than 300 s (HTTP 503: busy)"),
    ({"sinks": {"central": {"failing_since_s": -5, "last_error": "HTTP 401: unauthorized",
                            "refused": True}}},
     "REFUSED: store central refuses the edge's credentials or rights (HTTP 401: "
     "unauthorized); waiting will not heal it"),
    ({"buffer_depth": 900}, "BUFFER above 80% of max_points"),
    ({"buffer_full": True}, "BUFFER FULL"),
    ({"buffer_dropped": 42, "buffer_last_drop_s": -60}, "DROPPED 42 points"),
    ({"crashes": {"sink": {"at_s": -5, "error": "KeyError: 'x'"}}},
     "CRASHED: task sink 5 s ago (KeyError: 'x'); restarted"),
    ({"sources": {"mqtt:main": {"connected": False}}}, "DISCONNECTED: mqtt:main"),
    ({"written_s": -100}, "STALE"),
])
def test_each_problem_makes_status_fail_and_says_what(
        tmp_path: Path, change: dict[str, Any], says: str) -> None:
    now = time.time()
    status = healthy(now)
    for key, value in change.items():  # negative times: seconds before now
        status[key] = now + value if isinstance(value, int) and key.endswith("_s") else value
    for name, store_change in change.get("sinks", {}).items():
        status["sinks"] = healthy(now)["sinks"]
        status["sinks"][name] = store(now, **{
            key: now + value if isinstance(value, int) and key.endswith("_s") else value
            for key, value in store_change.items()})
    for crash in status["crashes"].values():
        crash["at_s"] += now
    path = tmp_path / "b.status.json"
    write_status(path, status)
    code, lines = read_status(path, 10.0, StatusSettings())
    assert code == 1
    assert any(says in line for line in lines), lines


def test_a_healthy_service_exits_zero_and_shows_the_last_error_while_recent(
        tmp_path: Path) -> None:
    now = time.time()
    status = healthy(now)
    path = tmp_path / "b.status.json"
    write_status(path, status)
    assert read_status(path, 10.0)[0] == 0
    status["sinks"]["central"].update(failing_since_s=now - 20, last_error="HTTP 503: busy",
                                      last_write_s=now - 25)
    write_status(path, status)
    code, lines = read_status(path, 10.0)
    assert code == 0  # failing for 20 s: within the 300 s a restart of InfluxDB may take
    # one line per store: the failing one says why, the other that it was just written
    stores = [re.sub(r"\d+ s", "N s", line) for line in lines if "store" in line]
    assert stores == [
        "  store central              10 waiting (1% of its bound), last write N s ago, "
        "FAILING for N s: HTTP 503: busy  http://127.0.0.1:8086",
        "  store influx               10 waiting (1% of its bound), last write N s ago  "
        "http://127.0.0.1:8086"]


async def test_a_task_that_crashes_is_restarted_counted_and_shown(
        caplog: pytest.LogCaptureFixture) -> None:
    from edge.service.config import parse_config
    from edge.service.wiring import EdgeService

    service = EdgeService(parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "x", "profile": "json"}]}]}))
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("a bug")

    with caplog.at_level("ERROR", logger="circlemade"):
        await service._supervisor.start("sink", flaky)
    assert len(calls) == 2
    assert service.health.get("service", "task_restarts") == 1
    assert service._supervisor.crashes["sink"][1] == "KeyError: 'a bug'"
    crashed = [r for r in caplog.records if getattr(r, "event", "") == "service.task_crashed"]
    assert "Traceback" in crashed[0].fields["traceback"]  # type: ignore[attr-defined]
