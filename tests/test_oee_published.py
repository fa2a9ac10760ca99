"""The most cited OEE worked example (oee.com, "OEE Calculation", and Vorne's "OEE
Calculation: Definitions, Formulas, and Examples"), replayed as a recorded shift in
Brussels, written the three ways a workshop may write it:

- the breaks in the ``[calendar]`` (planned time is the shift less its breaks);
- a shift without breaks, where the operator gives each break as a planned stop;
- the breaks in the calendar, and a machine that counts total and rejected parts (good =
  total - rejects), as umati ``PartsProduced`` and MTConnect ``PartCount`` ALL do.

The published figures: shift 480 min, two 15-minute breaks and a 30-minute meal break,
47 min down, ideal cycle 1 s (60 parts a minute), 19,271 parts made, 423 rejected:
availability 88.81 %, performance 86.11 %, quality 97.80 %, OEE 74.79 %.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.replayed import mqtt, replay, windows

ZONE = ZoneInfo("Europe/Brussels")
DAY = "2026-11-24"  # a Tuesday, CET (UTC+1): a shift read in UTC lands an hour off
PUBLISHED = {"availability": 0.8881, "performance": 0.8611, "quality": 0.9780,
             "oee": 0.7479}
MADE, REJECTED = 19_271, 423
BREAKS = [("08:00", "08:15"), ("10:00", "10:30"), ("12:00", "12:15")]
DOWN = ("06:50", "07:37")  # 47 min, a fault
RUNS = [("06:00", "06:50"), ("07:37", "08:00"), ("08:15", "10:00"), ("10:30", "12:00"),
        ("12:15", "14:00")]  # 373 min
STATUS = "line/press/status"


def at(clock: str) -> float:
    return datetime.fromisoformat(f"{DAY}T{clock}").replace(tzinfo=ZONE).timestamp()


def config(breaks_in_calendar: bool) -> dict[str, Any]:
    shift: dict[str, Any] = {"name": "early", "start": "06:00", "end": "14:00"}
    if breaks_in_calendar:
        shift["breaks"] = [{"start": a, "end": b} for a, b in BREAKS]
    return {
        "site": {"id": "s", "timezone": "Europe/Brussels"},
        "brokers": [{"id": "main"}], "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "shifts": [shift]},
        "machines": [{"id": "press", "kind": "cnc", "ideal_cycle_s": 1.0, "sources": [
            {"topic": STATUS, "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}]}


def status(clock: str, offset_s: float = 0.0, **fields: Any) -> dict[str, Any]:
    t = at(clock) + offset_s
    return mqtt(t, STATUS, {"ts": t, **fields})


def counters(made: int, rejected: int, totals: bool) -> dict[str, int]:
    if totals:
        return {"parts_produced": made, "parts_scrap": rejected}
    return {"parts_good": made - rejected, "parts_scrap": rejected}


def shift(totals: bool, breaks_said: bool) -> list[dict[str, Any]]:
    """The shift: counters read at the end of every run, the last a second before the
    shift's end; states at every change; the breaks said by the operator if asked."""
    entries = [status("05:30", state="idle", **counters(0, 0, totals))]
    run_s = sum(at(b) - at(a) for a, b in RUNS)
    done = 0.0
    for a, b in RUNS:
        entries.append(status(a, state="running"))
        done += at(b) - at(a)
        share = done / run_s
        made, rejected = round(MADE * share), round(REJECTED * share)
        entries.append(status(b, -1.0, **counters(made, rejected, totals)))
        stopped = "fault" if a == "06:00" else "stopped"
        entries.append(status(b, state=stopped))
    if breaks_said:  # one said during the break, the others after, with their span
        say = "circlemade/s/press/downtime"
        entries.insert(_after(entries, at("08:01")), mqtt(at("08:01"), say, {"reason": "break"}))
        for a, b in BREAKS[1:]:
            iso = {"from": f"{DAY}T{a}:00+01:00", "to": f"{DAY}T{b}:00+01:00"}
            entries.insert(_after(entries, at(b) + 60),
                           mqtt(at(b) + 60, say, {"reason": "break", "by": "amina", **iso}))
    entries.append(status("15:00", state="stopped"))
    return entries


def _after(entries: list[dict[str, Any]], t: float) -> int:
    """Where an entry at ``t`` goes, keeping the recording in time order."""
    return next(i for i, e in enumerate(entries)
                if datetime.fromisoformat(e["time"]).timestamp() > t)


@pytest.mark.parametrize(("breaks_in_calendar", "totals", "breaks_said"), [
    (True, False, False), (False, False, True), (True, True, False)],
    ids=["calendar-breaks", "planned-stops", "total-and-reject-counters"])
def test_the_published_oee_example(tmp_path: Path, breaks_in_calendar: bool, totals: bool,
                                   breaks_said: bool) -> None:
    lines = replay(tmp_path, config(breaks_in_calendar), shift(totals, breaks_said))
    oee = windows(lines, "oee", "press", "shift")[int(at("06:00"))]
    for factor, value in PUBLISHED.items():
        assert oee[factor] == pytest.approx(value, abs=0.001), factor
    assert oee["run_s"] == pytest.approx(373 * 60)
    assert oee["planned_s"] == pytest.approx(420 * 60)  # planned busy time
    assert oee["planned_down_s"] == pytest.approx(0 if breaks_in_calendar else 60 * 60)
    parts = windows(lines, "circularity", "press", "shift")[int(at("06:00"))]
    assert (parts["good_parts"], parts["scrap_parts"]) == (MADE - REJECTED, REJECTED)


def test_a_break_said_as_unplanned_is_a_loss(tmp_path: Path) -> None:
    """The same shift where the operator calls the first break a fault: its 15 minutes
    are lost time, not planned downtime (and a reason changed back moves them back)."""
    entries = shift(False, True)
    entries.insert(_after(entries, at("08:02")), mqtt(
        at("08:02"), "circlemade/s/press/downtime", {"reason": "waiting_material"}))
    oee = windows(replay(tmp_path, config(False), entries), "oee", "press", "shift")[
        int(at("06:00"))]
    assert oee["planned_down_s"] == pytest.approx(45 * 60)
    assert oee["availability"] == pytest.approx(373 / 435, abs=1e-6)
