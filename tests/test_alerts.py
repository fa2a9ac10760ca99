"""Alert rules through ``circlemade replay``: each fires once when its condition has held
long enough and resolves once, at times worked out by hand; a restart in the middle
fires nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge.service.config import parse_config
from edge.storage.line_protocol import Line, last_writes
from edge.tools.recording import read_records
from tests.replayed import (
    around_the_clock,
    mqtt,
    replay,
    replay_in_parts,
    utc,
    write_recording,
)

T = utc("2026-11-23T09:00:00")
CONFIG: dict[str, Any] = {**around_the_clock(), "machines": [
    {"id": "mk4", "name": "Prusa MK4", "kind": "printer", "silence_s": 7200,
     "material": "PETG", "sources": [
        {"topic": "p/mk4", "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]},
    {"id": "dryer", "kind": "other", "sources": [
        {"topic": "p/dryer", "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}],
    "alerts": [{"rule": "fault", "on_scrap": True, "machines": ["mk4"]},
               {"rule": "stopped", "after_min": 10, "machines": ["mk4"]},
               {"rule": "standby", "above_w": 50, "after_min": 30, "machines": ["mk4"]},
               {"rule": "silent", "after_min": 20, "machines": ["mk4"]},
               {"rule": "job_done", "kind": "printer"},
               {"rule": "fault", "repeat_min": 2, "machines": ["mk4"]}]}


def status(minute: float, **fields: Any) -> dict[str, Any]:
    return mqtt(T + minute * 60, "p/mk4", {"ts": T + minute * 60, **fields})


def entries() -> list[dict[str, Any]]:
    """The printer: prints job a (63 % and 6 m of PETG when it fails in fault at 09:20,
    scrap at 09:25), stands
    idle drawing 80 W until 10:00, prints b until 10:05, then says nothing until 10:40.
    The dryer reports every minute all along (the clock goes on)."""
    said = [status(0, state="running", power_w=150.0),
            status(5, job_event="start", job_name="a"),
            status(20, state="fault", progress_pct=63.0, filament_used_mm=6000.0),
            status(25, state="idle", job_event="end", job_outcome="scrap", power_w=80.0),
            status(60, state="running", job_event="start", job_name="b", power_w=150.0),
            status(65, state="idle", job_event="end", job_outcome="good", power_w=5.0),
            status(100, power_w=5.0)]
    dryer = [mqtt(T + minute * 60, "p/dryer", {"ts": T + minute * 60, "power_w": 40.0})
             for minute in range(0, 111)]
    return sorted(said + dryer, key=lambda entry: str(entry["time"]))


def alerts(lines: list[Line]) -> list[tuple[str, str, float]]:
    """(rule, state, minute after 09:00) of every alert point kept, in time order."""
    found = [(dict(tags)["rule"], str(fields["state"]), (time_ns / 10**9 - T) / 60)
             for (name, tags, time_ns), fields in last_writes(lines).items() if name == "alert"]
    return sorted(found, key=lambda alert: (alert[2], alert[0]))


def test_each_rule_fires_once_and_resolves_once(tmp_path: Path) -> None:
    """By hand, in minutes after 09:00 (what the clock finds comes at the next tick,
    within the minute): the fault at 20; job a ends as scrap at 25 (the fault rule's
    on_scrap, and job_done), the fault resolves; not running since 20 (fault, then idle)
    without a reason, 10 min of planned time: 30; not running and drawing 150 W, then
    80 W, from 20 for 30 min: 50; at 60 it runs again: those two resolve; silent since its
    message at 25 for 20 min: 45, until 60; job b ends at 65 and it stands still again:
    75; silent from 65: 85, until its message at 100. The second fault rule tells it
    again every 2 min while it fires: 22, 24."""
    lines = replay(tmp_path, CONFIG, entries())
    assert [(rule, state, int(minute)) for rule, state, minute in alerts(lines)] == [
        ("fault", "firing", 20), ("fault", "firing", 22), ("fault", "firing", 24),
        ("fault", "event", 25), ("job_done", "event", 25),
        ("fault", "resolved", 25), ("stopped", "firing", 30), ("silent", "firing", 45),
        ("standby", "firing", 50), ("silent", "resolved", 60), ("standby", "resolved", 60),
        ("stopped", "resolved", 60), ("job_done", "event", 65), ("stopped", "firing", 75),
        ("silent", "firing", 85), ("silent", "resolved", 100)]
    messages = {(dict(tags)["rule"], fields["state"]): fields["message"]
                for (name, tags, _), fields in last_writes(lines).items() if name == "alert"}
    assert messages[("standby", "firing")] == (  # 150 W x 5 min + 80 W x 25 min, x 0.16
        "mk4 (Prusa MK4): not running but drawing 80 W for 30 min; 0.05 kWh since "
        "(0.01 kg CO2e)")
    # 150 W from 09:00 to 09:25 is 62.5 Wh, 20 of its 25 min in job a: 0.05 kWh; 6 m of
    # 1.75 mm PETG (1.27 g/cm3): pi x 0.875^2 mm2 x 6000 mm x 1.27 mg/mm3 = 18.3 g
    assert messages[("fault", "event")] == (
        "mk4 (Prusa MK4): print a failed at 63 % after 20 min; 0.05 kWh, 18 g PETG to scrap.")
    assert messages[("job_done", "event")] == (  # 150 W x 5 min = 12.5 Wh
        "mk4 (Prusa MK4): print b done after 5 min; 0.01 kWh.")


def test_messages_speak_the_sites_language(tmp_path: Path) -> None:
    config = {**CONFIG, "site": {**CONFIG["site"], "language": "fr"}}
    messages = {(dict(tags)["rule"], fields["state"]): fields["message"]
                for (name, tags, _), fields in last_writes(
                    replay(tmp_path, config, entries())).items() if name == "alert"}
    assert messages[("fault", "event")] == (
        "mk4 (Prusa MK4) : impression a, échec à 63 % après 20 min ; 0,05 kWh, "
        "18 g PETG au rebut.")
    assert messages[("standby", "firing")] == (
        "mk4 (Prusa MK4) : ne tourne pas mais consomme 80 W depuis 30 min ; 0,05 kWh "
        "(0,01 kg CO2e)")


def test_a_restart_fires_nothing_twice(tmp_path: Path) -> None:
    config = parse_config(CONFIG)
    records = list(read_records(write_recording(tmp_path / "a.jsonl", entries())))
    whole = alerts(replay_in_parts(config, [records]))
    for cut in range(10, len(records), 17):
        assert alerts(replay_in_parts(config, [records[:cut], records[cut:]])) == whole, cut
