"""The KPI pieces on hand-made cases: counters, power fallback, silence, calendar."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from contract.reading import Reading
from edge.pipeline.kpi.calendar import ShiftCalendar
from edge.pipeline.kpi.energy_counter import EnergyCounter
from edge.pipeline.kpi.engine import KPI_SIGNALS, Handler, KpiEngine, MachineKpi
from edge.pipeline.kpi.operator import OPERATOR_FIELDS
from edge.service.config import parse_config
from tests.conftest import REPO
from tests.kpi_session import CONFIG, recording

NS = 10**9
H = 3600 * NS


def test_counter_reset_wrap_and_replaced_meter() -> None:
    counter = EnergyCounter(max_power_w=3000)
    assert counter.update(100.0, 0) == 100.0
    assert counter.update(100.5, H) == 100.5
    assert counter.update(0.2, 2 * H) == 100.7  # reset: 0.2 since the restart
    assert counter.update(5000.0, 3 * H) == 100.7  # a replaced meter: no spike
    assert counter.update(5001.0, 4 * H) == 101.7
    assert (counter.resets, counter.rebases) == (1, 1)
    wrapping = EnergyCounter(max_power_w=3000, wrap_kwh=1000.0)
    wrapping.update(999.5, 0)
    assert wrapping.update(0.5, H) == 1000.5  # wrapped at 1000


def test_power_thresholds_give_a_plug_only_machine_its_state() -> None:
    config = parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": "laser", "kind": "laser", "power_thresholds":
                      {"running_w": 400, "idle_w": 20},
                      "sources": [{"topic": "t", "profile": "json"}]}]})
    engine = KpiEngine(config)
    states = []
    for i, watts in enumerate([5, 30, 800, 850, 25, 2]):
        readings, _ = engine.process([Reading("s", "laser", "power_w", watts, None, i * NS)])
        states += [r.value for r in readings if r.signal == "state"]
    assert states == ["stopped", "idle", "running", "idle", "stopped"]


def test_silence_makes_a_machine_offline_until_it_speaks() -> None:
    config = parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": "m", "kind": "printer", "silence_s": 60,
                      "sources": [{"topic": "t", "profile": "json"}]}]})
    engine = KpiEngine(config)
    start = 1_795_420_800 * NS
    engine.process([Reading("s", "m", "state", "running", None, start)])
    assert engine.tick(start + 30 * NS)[0] == []
    (offline,) = engine.tick(start + 61 * NS)[0]
    assert offline.value == "offline"
    back, _ = engine.process([Reading("s", "m", "nozzle_temp_c", 210.0, None, start + 90 * NS)])
    assert (back[0].signal, back[0].value) == ("state", "running")


def test_a_meter_gone_makes_a_known_machine_offline_until_it_speaks() -> None:
    """The Modbus meter in front of a laser stops answering: the laser (its state from
    the meter's power) is offline until the meter answers again; a plug-only dryer whose
    state was never known stays unknown, no offline point."""
    config = parse_config({
        "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": "laser", "kind": "laser", "power_thresholds": {"running_w": 400},
                      "sources": [{"topic": "t", "profile": "json"}]},
                     {"id": "dryer", "kind": "meter",
                      "sources": [{"topic": "u", "profile": "json"}]}]})
    engine = KpiEngine(config)
    said = []
    steps: list[tuple[str, str, float | str, int]] = [
            ("laser", "power_w", 800.0, 0), ("laser", "state", "offline", 5),
            ("laser", "power_w", 820.0, 9), ("dryer", "power_w", 40.0, 0),
            ("dryer", "state", "offline", 5), ("dryer", "power_w", 41.0, 9)]
    for machine, signal, value, second in steps:
        readings, _ = engine.process([Reading("s", machine, signal, value, None, second * NS,
                                              f"meter-{machine}")])
        said += [(machine, r.value, r.time_ns // NS) for r in readings if r.signal == "state"]
    assert said == [("laser", "running", 0), ("laser", "offline", 5), ("laser", "running", 9)]
    assert engine.machines["dryer"].m.clock.state == "unknown"


def test_calendar_night_shift_and_holiday() -> None:
    calendar = ShiftCalendar("Europe/Brussels", ["mon", "tue", "wed", "thu", "fri"],
                             [("night", time(22), time(6))], [date(2026, 12, 25)])
    monday = 1_795_388_400 * NS  # 2026-11-23 00:00 Brussels
    assert calendar.planned_ns(monday, monday + 24 * H) == 2 * H  # from 22:00 (Sunday: off)
    christmas = 1_798_153_200 * NS  # 2026-12-25 00:00 Brussels, a Friday
    assert calendar.planned_ns(christmas, christmas + 24 * H) == 6 * H  # Thursday's night


def test_replay_command_writes_the_same_file_twice(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps(CONFIG))
    session = tmp_path / "session.jsonl"
    session.write_bytes(recording())
    outputs = []
    for name in ("a.lp", "b.lp"):
        result = subprocess.run(
            [sys.executable, "-m", "circlemade.cli", "replay", "-c", str(config), str(session),
             "--out", str(tmp_path / name)], capture_output=True, text=True, timeout=60,
            cwd=REPO)
        assert result.returncode == 0, result.stderr
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert b"job,kind=cnc,machine=mill,outcome=aborted" in outputs[0]


def test_every_signal_the_kpi_stage_acts_on_is_let_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """observe() hands each KPI signal to its calculator's handler from one table
    (HANDLERS), and passes every other signal untouched: each signal of the table reaches
    its handler."""
    from edge.pipeline.kpi import engine

    assert set(engine.HANDLERS) == KPI_SIGNALS and OPERATOR_FIELDS <= KPI_SIGNALS
    reached: list[str] = []

    def handler(kpi: MachineKpi) -> Handler:
        def take(r: Reading, out: list[Reading], points: list[Any]) -> bool:
            reached.append(r.signal)
            return True
        return take

    for signal in engine.HANDLERS:
        monkeypatch.setitem(engine.HANDLERS, signal, handler)
    config = parse_config(CONFIG)
    kpi = KpiEngine(config).machines[config.machines[0].id]
    out: list[Reading] = []
    for signal in [*sorted(KPI_SIGNALS), "nozzle_temp_c"]:
        kpi.observe(Reading("s", kpi.machine.id, signal, 1.0, None, 10**18), out, [])
    assert reached == sorted(KPI_SIGNALS)  # the temperature only passed
    assert [r.signal for r in out] == [*sorted(KPI_SIGNALS), "nozzle_temp_c"]
