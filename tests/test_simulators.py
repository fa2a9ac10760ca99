"""The simulators on their own, and `circlemade simulate` against a real Mosquitto."""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path

from edge.service.config import parse_config
from simulators.fleet import Fleet, Scenario
from simulators.local_servers import LocalServer
from simulators.meter import SimulatedMeter
from simulators.printer import PrinterBehaviour, SimulatedPrinter
from tests.conftest import REPO


def test_printer_jobs_end_good_failed_or_cancelled_at_the_configured_rates() -> None:
    printer = SimulatedPrinter("p", seed=3, behaviour=PrinterBehaviour(
        fail_rate=0.2, cancel_rate=0.2, job_s=(60, 120), idle_s=(5, 10)))
    outcomes = []
    for _ in range(200_000):
        printer.step(1.0)
        outcomes += [e.outcome for e in printer.take_events() if e.kind == "end"]
    assert len(outcomes) > 300
    for outcome, share in (("failed", 0.2), ("cancelled", 0.2), ("good", 0.6)):
        assert abs(outcomes.count(outcome) / len(outcomes) - share) < 0.06, outcome


def test_meter_counter_wraps_and_resets_when_asked() -> None:
    wrapping = SimulatedMeter("m", lambda: 3600.0, wrap_wh=100.0)
    readings = []
    for _ in range(150):
        wrapping.step(1.0)
        readings.append(wrapping.counter_wh)
    assert max(readings) < 100.0 and readings[-1] < readings[90]
    cut = SimulatedMeter("m", lambda: 3600.0, reset_after_s=50)
    for _ in range(60):
        cut.step(1.0)
    assert 5 < cut.counter_wh < 15  # restarted from zero at 50 s


def test_same_seed_same_messages() -> None:
    def run() -> list[tuple[str, bytes, bool]]:
        fleet = Fleet(Scenario.from_counts(3, 3, 1, seed=5, speed=30))
        out = []
        for tick in range(50):
            for device in fleet.devices():
                out += device.messages(1763812800 + tick)
            fleet.step(1.0)
        return out

    assert run() == run()


def test_scenario_file_and_its_config_are_valid(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "circlemade.cli", "simulate", "--scenario",
         str(REPO / "examples" / "scenario.toml"), "--print-config"],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True).stdout
    config = tmp_path / "edge.toml"
    config.write_text('[site]\nid = "sim"\n[influx]\napi = "v1"\nurl = "http://127.0.0.1:1"\n'
                      + printed)
    result = subprocess.run([sys.executable, "-m", "circlemade.cli", "check-config", str(config)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "6 machines" in result.stdout


def subscribed(subscriber: subprocess.Popen[str], mqtt: LocalServer) -> None:
    """Until ``mosquitto_sub`` prints a probe message: then it is subscribed. What it
    printed before (messages retained by earlier tests) is passed over."""
    assert subscriber.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        subprocess.run(["mosquitto_pub", "-p", str(mqtt.port), "-t", "probe/ready", "-m", "1"],
                       check=True, timeout=30)
        while select.select([subscriber.stdout], [], [], 0.2)[0]:
            if subscriber.stdout.readline().startswith("probe/ready"):
                return
    raise AssertionError("mosquitto_sub did not subscribe within 60 s")


def test_simulate_command_publishes_to_a_broker(mosquitto: LocalServer) -> None:
    subscriber = subprocess.Popen(
        ["mosquitto_sub", "-p", str(mosquitto.port), "-t", "#", "-v", "-W", "20"],
        stdout=subprocess.PIPE, text=True, errors="replace")
    subscribed(subscriber, mosquitto)
    result = subprocess.run(
        [sys.executable, "-m", "circlemade.cli", "simulate", "--printers", "2", "--meters", "2",
         "--cnc", "1", "--broker", f"mqtt://127.0.0.1:{mosquitto.port}", "--steps", "5",
         "--interval", "0.5", "--seed", "3"],
        capture_output=True, text=True, timeout=60, cwd=REPO)
    subscriber.terminate()
    received, _ = subscriber.communicate(timeout=10)
    assert result.returncode == 0, result.stderr
    published = int(result.stderr.rsplit("published ", 1)[1].split()[0])
    topics = [line.split(" ", 1)[0] for line in received.splitlines()
              if line.strip() and not line.startswith("probe/")]
    assert published >= 20
    assert len([t for t in topics if not t.endswith(("/LWT", "/online"))]) >= published - 2
    assert any(t.startswith("device/") for t in topics)
    assert any(t.startswith("octoprint/printer-2/") for t in topics)
    assert any(t.startswith("spBv1.0/atelier/DBIRTH/cnc-1-gw/cnc-1") for t in topics)


def test_fleet_config_parses() -> None:
    fleet = Fleet(Scenario.from_counts(4, 5, 2))
    config = parse_config({"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
                           "machines": fleet.machines_config()})
    assert len(config.machines) == 6


def test_the_simulated_nozzles_fall_due_and_the_operator_cleans_them() -> None:
    """The simulated month of a workshop, replayed: each printer's nozzle (one job an
    interval) reaches due, the simulated operator cleans it, and it is ok again."""
    import orjson

    from edge.storage.line_protocol import parse
    from edge.tools.recording import Replayer
    from simulators.cluster_month import SITES, recording, site_config

    site, name, seed = SITES[0]
    records = enumerate((orjson.loads(line) for line in recording(site, seed, ["2026-11"])), 1)
    lines = [parse(line) for line in Replayer(parse_config(site_config(site, name, seed)))
             .lines(records)]
    nozzle = [(line.time_ns, line.measurement, line.fields.get("status"),
               line.fields.get("action")) for line in lines
              if line.tags.get("machine") == "printer-1" and line.tags.get("component") == "nozzle"]
    serviced = [t for t, measurement, _, action in nozzle if action == "serviced"]
    assert len(serviced) >= 2
    statuses = [status for t, measurement, status, _ in nozzle
                if measurement == "lifetime" and t <= serviced[0]]
    assert "due" in statuses and statuses[-1] == "ok"  # due, then serviced
