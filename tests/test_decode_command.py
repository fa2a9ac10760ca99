"""``circlemade decode`` for every profile, and its errors for malformed payloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from circlemade.cli import main
from gateways.profiles.sparkplug_b_payload import DOUBLE, Payload, add_metric
from tests.conftest import REPO

GOOD = [
    ("bambu", "device/01S00C1/report", b'{"print": {"gcode_state": "RUNNING", "mc_percent": 5}}',
     {("state", "running"), ("progress_pct", 5.0), ("job_event", "start")}),
    ("octoprint", "octoPrint/temperature/bed", b'{"actual": 60.5, "target": 60}',
     {("bed_temp_c", 60.5), ("bed_target_c", 60.0)}),
    ("moonraker", "voron/klipper/status", b'{"status": {"extruder": {"temperature": 240}}}',
     {("nozzle_temp_c", 240.0)}),
    ("tasmota", "tele/plug/SENSOR", b'{"ENERGY": {"Total": 1.5, "Power": 20}}',
     {("energy_kwh", 1.5), ("power_w", 20.0)}),
    ("shelly", "shellies/plug/relay/0/energy", b"6000", {("energy_kwh", 0.1)}),
    ("json", "lab/bench", b'{"power_w": 12.5, "state": "idle"}',
     {("power_w", 12.5), ("state", "idle")}),
]


@pytest.mark.parametrize(("profile", "topic", "payload", "expected"), GOOD)
def test_decode_prints_canonical_readings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str, topic: str,
    payload: bytes, expected: set[tuple[str, object]],
) -> None:
    file = tmp_path / "payload"
    file.write_bytes(payload)
    assert main(["decode", "--profile", profile, "--topic", topic, str(file)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["signal"], r["value"]) for r in lines} == expected
    assert all(r["time"].endswith("Z") and r["machine"] for r in lines)


def test_decode_sparkplug_birth_from_stdin() -> None:
    birth = Payload(timestamp=1763812800000, seq=0)
    add_metric(birth, "spindle_speed_rpm", 12000.0, DOUBLE, alias=1)
    result = subprocess.run(
        [sys.executable, "-m", "circlemade.cli", "decode", "--profile", "sparkplug_b",
         "--topic", "spBv1.0/g/NBIRTH/node-7", "--machine", "router"],
        input=birth.SerializeToString(), capture_output=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    (reading,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert reading == {"machine": "router", "signal": "spindle_speed_rpm", "value": 12000.0,
                       "unit": "rpm", "time": "2025-11-22T12:00:00.000000Z"}


def sparkplug_data() -> bytes:
    data = Payload(seq=4)
    add_metric(data, None, 1.0, DOUBLE, alias=1)
    return bytes(data.SerializeToString())


BAD = [
    ("bambu", "device/x/report", b'{"print": {"mc_percent": 5', "not JSON"),
    ("bambu", "device/x/report", b'{"print": {"mc_percent": "half"}}',
     "print.mc_percent: expected a number, got 'half'"),
    ("tasmota", "tele/plug/SENSOR", b'{"ENERGY": {"Totall": 3}}',
     "ENERGY: none of Total, Power, Voltage, Current"),
    ("octoprint", "octoPrint/temperature/tool0", bytes(range(256)), "not JSON"),
    ("sparkplug_b", "spBv1.0/g/DDATA/node/dev", sparkplug_data(), "before its DBIRTH"),
    ("sparkplug_b", "spBv1.0/g/DDATA/node/dev", b'{"json": "on a protobuf topic"}',
     "not a Sparkplug B protobuf payload"),
]


@pytest.mark.parametrize(("profile", "topic", "payload", "message"), BAD)
def test_malformed_payloads_exit_non_zero_with_a_message(
    profile: str, topic: str, payload: bytes, message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "circlemade.cli", "decode", "--profile", profile, "--topic", topic],
        input=payload, capture_output=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert stderr.startswith(f"decode: {profile} payload on '{topic}': ")
    assert message in stderr
    assert "Traceback" not in stderr
