"""The worked example of docs/metrics.md as a recording: a Monday morning, 09:00-10:00 in
Brussels, with two printers behind smart plugs and a CNC mill on OPC UA."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

T0 = int(datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp())  # 09:00 Brussels, Monday

CONFIG: dict[str, Any] = {
    "site": {"id": "example", "timezone": "Europe/Brussels", "co2e_kg_per_kwh": 0.16},
    "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
    "calendar": {"weekdays": ["mon", "tue", "wed", "thu", "fri"],
                 "shifts": [{"name": "day", "start": "08:00", "end": "17:00"}]},
    "machines": [
        {"id": "p1", "kind": "printer", "material": "PLA", "silence_s": 900, "sources": [
            {"topic": "ex/p1/status", "profile": "json"},
            {"topic": "tele/plug-p1/+", "profile": "tasmota", "meter": "plug-p1",
             "offline_state": False}]},
        {"id": "p2", "kind": "printer", "material": "PETG", "silence_s": 900, "sources": [
            {"topic": "ex/p2/status", "profile": "json"},
            {"topic": "ex/plug-p2", "profile": "json", "meter": "plug-p2"}]},
        {"id": "mill", "kind": "cnc", "ideal_cycle_s": 300, "stock_g": {"*": 500},
         "silence_s": 900,
         "sources": [{"endpoint": "opc.tcp://127.0.0.1:4840/", "profile": "umati"}]},
    ],
}


def _mqtt(t: int, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"t": t, "source": "mqtt", "topic": topic, "payload": orjson.dumps(payload).decode()}


def _opcua(t: int, node: str, value: Any) -> dict[str, Any]:
    return {"t": t, "source": "opcua", "route": "mill/umati", "node": node, "value": value}


def _plug(t: int, total_kwh: float, power_w: float) -> dict[str, Any]:
    return _mqtt(t, "tele/plug-p1/SENSOR", {"ENERGY": {"Total": total_kwh, "Power": power_w}})


def entries() -> list[dict[str, Any]]:
    p1, p2 = "ex/p1/status", "ex/p2/status"
    state = "MachineryItemState/CurrentState"
    program, program_state = "Production/ActiveProgram/Name", "Production/ActiveProgram/State"
    good, scrap = "Production/Counters/PartsGood", "Production/Counters/PartsScrap"
    alarm, power = "Notifications/AlarmActive", "Monitoring/MachineTool/ElectricalPower"
    items = [
        # p1: a good print; its Tasmota counter is reset by a power cut at 09:40
        _plug(0, 10.000, 5), _mqtt(0, p1, {"state": "idle"}),
        _plug(600, 10.000, 120),
        _mqtt(600, p1, {"state": "running", "job_event": "start", "job_name": "bracket",
                        "remaining_time_s": 2400}),
        _plug(1200, 10.020, 120), _plug(1800, 10.040, 120),
        _mqtt(1800, p1, {"filament_used_mm": 3000}),
        _plug(2400, 0.020, 120), _plug(3000, 0.040, 120), _plug(3300, 0.050, 5),
        _mqtt(3300, p1, {"state": "idle", "job_event": "end", "job_outcome": "good",
                         "job_name": "bracket", "filament_used_mm": 6000}),
        _plug(3600, 0.050, 5),
        # p2: a print that fails; its plug reports power only
        _mqtt(0, "ex/plug-p2", {"power_w": 10}), _mqtt(0, p2, {"state": "idle"}),
        _mqtt(600, "ex/plug-p2", {"power_w": 200}),
        _mqtt(600, p2, {"state": "running", "job_event": "start", "job_name": "vase"}),
        _mqtt(1200, "ex/plug-p2", {"power_w": 200}),
        _mqtt(1800, "ex/plug-p2", {"power_w": 10}),
        _mqtt(1800, p2, {"state": "fault", "job_event": "end", "job_outcome": "scrap",
                         "filament_used_mm": 2000}),
        _mqtt(2400, "ex/plug-p2", {"power_w": 10}), _mqtt(3000, "ex/plug-p2", {"power_w": 10}),
        _mqtt(3600, "ex/plug-p2", {"power_w": 10}),
        # mill: two programs, an alarm at 09:30 that aborts the first, one scrap part
        _opcua(0, good, 0), _opcua(0, scrap, 0), _opcua(0, power, 2000.0),
        _opcua(0, program, "bracket.nc"), _opcua(0, program_state, "Running"),
        _opcua(0, state, "Executing"),
        _opcua(600, good, 1), _opcua(1200, good, 2), _opcua(1500, scrap, 1),
        _opcua(1800, power, 100.0), _opcua(1800, alarm, True),
        _opcua(1800, program_state, "Aborted"),
        _opcua(2400, alarm, False), _opcua(2400, power, 2000.0),
        _opcua(2400, program_state, "Running"),
        _opcua(3000, good, 3), _opcua(3300, good, 4), _opcua(3600, power, 150.0),
        _opcua(3600, program_state, "Ended"), _opcua(3600, state, "NotExecuting"),
    ]
    items.sort(key=lambda e: e["t"])  # stable: same-time entries keep their order
    return items


def recording() -> bytes:
    lines = []
    for entry in entries():
        stamp = datetime.fromtimestamp(T0 + entry.pop("t"), UTC).isoformat()
        lines.append(orjson.dumps({"time": stamp.replace("+00:00", "Z"), **entry}))
    return b"\n".join(lines) + b"\n"
