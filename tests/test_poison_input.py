"""One message must not stop ingest: bad times, KPI bugs, stateful decoders fed garbage,
and random payloads with random timestamps through the whole pipeline (decoders,
normaliser, KPI stage), as the live service and ``circlemade replay`` run it."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.eventlog import describe
from contract.raw_message import RawMessage
from contract.reading import Reading
from edge.pipeline.ingest import Ingest
from edge.pipeline.kpi import engine, windows
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.normalise import Normaliser
from edge.service.config import parse_config
from edge.service.sources import routes
from edge.storage.health import Health
from edge.tools.recording import Replayer
from gateways.profiles.bambu import BambuDecoder
from gateways.profiles.base import Decoder, MqttSourceBase
from gateways.profiles.moonraker import MoonrakerDecoder

NOW_NS = 1_795_420_800 * 10**9  # 2026-11-23T08:00Z, a Monday (09:00 in Brussels)

CONFIG: dict[str, Any] = {
    "site": {"id": "s"},
    "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
    "machines": [
        {"id": "octo", "kind": "printer", "sources": [
            {"topic": "octoPrint/#", "profile": "octoprint"},
            {"topic": "shellies/plug/#", "profile": "shelly", "offline_state": False}]},
        {"id": "gen2", "kind": "printer", "sources": [{"topic": "plus/#", "profile": "shelly"}]},
        {"id": "bambu", "kind": "printer", "sources": [
            {"topic": "device/X/report", "profile": "bambu"}]},
        {"id": "meter", "kind": "meter", "sources": [
            {"topic": "din/#", "profile": "json", "time": {"path": "ts", "format": "unix_s"},
             "fields": [{"path": "P", "signal": "power_w"},
                        {"path": "E", "signal": "energy_kwh"},
                        {"path": "state", "signal": "state"}]}]},
    ],
}


def pipeline() -> tuple[Ingest, Health]:
    config = parse_config(CONFIG)
    machines = {m.id: m for m in config.machines}
    decoders: dict[str, Decoder] = {}
    for route, (m, i) in routes(config).items():
        source = machines[m].sources[i]
        assert isinstance(source, MqttSourceBase)
        decoders[route] = source.decoder("s", m)
    health = Health("s")
    return Ingest(decoders, Normaliser.for_config(config), health, KpiEngine(config)), health


def message(route: str, topic: str, payload: dict[str, Any], received_ns: int = NOW_NS,
            ) -> RawMessage:
    return RawMessage(route, topic, orjson.dumps(payload), received_ns)


def errors(health: Health) -> float:
    return sum(fields.get("decode_errors", 0) for fields in health.snapshot().values())


@pytest.mark.parametrize("stamp", ["1e12", "-1e11", "1e300", str(2**70)])
def test_an_octoprint_timestamp_out_of_range_is_bad_input_not_a_crash(stamp: str) -> None:
    """Issue 14, defect 1: ``_timestamp`` 1e12 with a filament figure raised ValueError
    (year 33658) in the KPI calendar and killed ingest."""
    ingest, health = pipeline()
    bad = (f'{{"_timestamp": {stamp}, "_event": "PrintDone", "name": "a.gcode", '
           f'"filament": 812.0}}').encode()
    good = {"_timestamp": NOW_NS / 1e9, "actual": 214.8, "target": 215.0}
    lines = ingest.guarded([
        RawMessage("octo/octoprint", "octoPrint/event/PrintDone", bad, NOW_NS),
        message("octo/octoprint", "octoPrint/temperature/tool0", good),
    ])
    assert errors(health) == 1
    assert [line.split(" ")[1] for line in lines if line.startswith("telemetry")] == [
        "nozzle_temp_c=214.8,nozzle_target_c=215.0"]


def test_a_shelly_ts_out_of_range_is_bad_input() -> None:
    ingest, health = pipeline()
    lines = ingest.guarded([message("gen2/shelly", "plus/events/rpc", {
        "method": "NotifyStatus", "params": {"ts": 1e12, "switch:0": {"apower": 5.0}}})])
    assert lines == [] and errors(health) == 1


def test_a_reading_dated_2199_is_refused_and_the_machine_goes_on() -> None:
    """Issue 14, defect 2: a generic-JSON reading dated 2199 (within the decoder's 1970 to
    2200) opened an OEE window for every hour until 2199 (27 s, 800 MB), and the machine's
    clocks ignored every normal reading after it."""
    ingest, health = pipeline()
    assert ingest.kpi is not None
    meter = ingest.kpi.machines["meter"]
    first = ingest.guarded([message("meter/json", "din/1", {"ts": NOW_NS / 1e9, "P": 100.0,
                                                             "E": 10.0, "state": "running"})])
    assert first
    ingest.guarded([message("meter/json", "din/1", {"ts": 7_258_000_000, "P": 100.0,
                                                     "E": 11.0, "state": "running"})])
    assert errors(health) == 3  # each of its readings refused (and dead-lettered)
    later = NOW_NS + 3600 * 10**9
    ingest.guarded([message("meter/json", "din/1", {"ts": later / 1e9, "P": 100.0, "E": 10.1,
                                                     "state": "running"}, later)])
    assert sum(map(len, meter.m.windows.open.values())) <= 6  # hour, shift, day; twice at most
    assert meter.m.clock.since_ns == later  # the clock moved with the normal reading
    hours = [w.energy_kwh for w in meter.m.windows.open["hour"].values()]
    assert sum(hours) == pytest.approx(0.1)  # the 10.0 -> 10.1 kWh hour, counted


def test_one_reading_walks_at_most_a_week_of_windows() -> None:
    """The bound on windows walked per reading: a machine silent for a year."""
    ingest, _ = pipeline()
    assert ingest.kpi is not None
    meter = ingest.kpi.machines["meter"]
    ingest.guarded([message("meter/json", "din/1", {"ts": NOW_NS / 1e9, "state": "running"})])
    year_later = NOW_NS + 365 * 86400 * 10**9
    ingest.guarded([message("meter/json", "din/1", {"ts": year_later / 1e9, "state": "idle"},
                            year_later)])
    hours = list(meter.m.windows.open["hour"])
    assert len(hours) == 7 * 24  # the last week before the reading, hour by hour
    assert min(hours) >= year_later - windows.MAX_SPAN_NS - 3600 * 10**9


def test_a_kpi_failure_dead_letters_the_reading_and_the_rest_flows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ingest, health = pipeline()
    observe = engine.MachineKpi.observe

    def broken(self: engine.MachineKpi, r: Reading, out: list[Reading],
               points: list[Point]) -> None:
        if r.signal == "bed_temp_c":
            raise ZeroDivisionError("a bug in the KPI stage")
        observe(self, r, out, points)

    monkeypatch.setattr(engine.MachineKpi, "observe", broken)
    lines = ingest.guarded([message("octo/octoprint", "octoPrint/temperature/bed",
                                    {"actual": 60.0, "target": 60.0}),
                            message("octo/octoprint", "octoPrint/temperature/tool0",
                                    {"actual": 214.8, "target": 215.0})])
    assert health.get("octo", "decode_errors") == 1  # counted against the machine
    assert any("nozzle_temp_c=214.8" in line for line in lines)


def test_a_batch_that_fails_whole_is_processed_one_by_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The guard around a batch: a bug that fails the whole batch costs one message,
    which is dead-lettered and still acknowledged (or it would come back at every start)."""
    ingest, health = pipeline()
    process = Ingest.process
    acked: list[str] = []

    def fragile(self: Ingest, batch: list[RawMessage | Reading],
                now_ns: int | None = None) -> list[str]:
        if any(isinstance(m, RawMessage) and b"poison" in m.payload for m in batch):
            raise RuntimeError("poison")
        return process(self, batch, now_ns)

    monkeypatch.setattr(Ingest, "process", fragile)
    def acknowledge(i: int) -> Callable[[], None]:
        return lambda: acked.append(str(i))

    batch: list[RawMessage | Reading] = [
        message("octo/octoprint", "octoPrint/temperature/tool0",
                {"actual": float(i), "target": 0.0})._replace(ack=acknowledge(i))
        for i in range(3)]
    batch.insert(1, RawMessage("octo/octoprint", "octoPrint/x", b"poison", NOW_NS,
                               lambda: acked.append("poison")))
    lines = ingest.guarded(batch)
    for ack in ingest.take_acks():
        ack()
    assert len([line for line in lines if "nozzle_temp_c" in line]) == 3
    assert sorted(acked) == ["0", "1", "2", "poison"]
    assert health.get("ingest", "batch_errors") == 1
    assert health.get("octo/octoprint", "decode_errors") == 1


def test_bambu_keeps_only_the_keys_it_needs() -> None:
    """Issue 14, defect 10: 20 partial reports with 20,000 new keys each added 49 MB."""
    decoder = BambuDecoder("s", "b", None)
    decoder.decode("device/X/report", orjson.dumps({"print": {
        "gcode_state": "RUNNING", "subtask_name": "lid_PLA"}}), NOW_NS)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for report in range(20):
        junk = orjson.dumps({"print": {f"k{report}_{i}": i for i in range(20_000)}})
        decoder.decode("device/X/report", junk, NOW_NS)
    del junk
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert set(decoder.state) == {"subtask_name"}
    assert kept < 1_000_000, f"{kept:,} bytes kept"
    done = decoder.decode("device/X/report", orjson.dumps({"print": {
        "gcode_state": "FINISH"}}), NOW_NS)
    assert ("job_name", "lid_PLA") in [(r.signal, r.value) for r in done]


def test_moonraker_keeps_only_the_keys_it_needs() -> None:
    decoder = MoonrakerDecoder("s", "k", None)
    decoder.decode("v/klipper/status", orjson.dumps({"status": {"print_stats": {
        "state": "printing", "filename": "gear.gcode"}}}), NOW_NS)
    for report in range(20):
        decoder.decode("v/klipper/status", orjson.dumps({"status": {
            f"obj{report}": {f"k{i}": i for i in range(2000)},
            "print_stats": {f"p{report}_{i}": i for i in range(2000)}}}), NOW_NS)
    assert set(decoder.print_stats) == {"filename"}
    done = decoder.decode("v/klipper/status", orjson.dumps({"status": {"print_stats": {
        "state": "complete"}}}), NOW_NS)
    assert ("job_name", "gear.gcode") in [(r.signal, r.value) for r in done]


def test_an_empty_error_text_is_never_logged() -> None:
    assert describe(TimeoutError()) == "TimeoutError (no detail)"
    assert describe(OSError("disk on fire")) == "OSError: disk on fire"


stamps = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
    st.sampled_from([1e12, -1e11, 7_258_000_000, 0, NOW_NS / 1e9, NOW_NS / 1e9 + 1e6]),
    st.text(max_size=5), st.none())
values = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-(2**70), 2**70), st.text(max_size=8), st.none())
TOPICS = [("octo/octoprint", "octoPrint/event/PrintStarted", "_timestamp"),
          ("octo/octoprint", "octoPrint/event/PrintDone", "_timestamp"),
          ("octo/octoprint", "octoPrint/temperature/bed", "_timestamp"),
          ("gen2/shelly", "plus/events/rpc", "ts"),
          ("meter/json", "din/1", "ts"),
          ("bambu/bambu", "device/X/report", "ts")]


def fuzzed_message(index: int, stamp: Any, value: Any, state: str) -> RawMessage:
    route, topic, key = TOPICS[index]
    body: dict[str, Any] = {key: stamp, "name": "j.gcode", "filament": value, "actual": value,
                            "target": value, "P": value, "E": value, "state": state,
                            "_event": topic.rsplit("/", 1)[-1]}
    if route == "gen2/shelly":
        body = {"method": "NotifyStatus", "params": {"ts": stamp, "switch:0": {
            "apower": value, "aenergy": {"total": value}}}}
    if route == "bambu/bambu":
        body = {"print": {"gcode_state": state.upper(), "nozzle_temper": value,
                          "mc_remaining_time": value}}
    return RawMessage(route, topic, json.dumps(body).encode(), NOW_NS)  # big ints, NaN too


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(TOPICS) - 1), stamps, values,
                          st.sampled_from(["running", "idle", "fault", "prepare", "finish"])),
                min_size=1, max_size=12))
def test_random_payloads_and_times_through_the_whole_pipeline(
        messages: list[tuple[int, Any, Any, str]]) -> None:
    """Whatever arrives, every message is stored or counted, and the pipeline (decoders,
    clock check, KPI stage) neither raises nor walks unbounded time."""
    ingest, health = pipeline()
    batch: list[RawMessage | Reading] = [fuzzed_message(*m) for m in messages]
    ingest.guarded(batch)
    ingest.tick(NOW_NS + 10**9, [])
    assert health.get("ingest", "batch_errors") == 0
    assert ingest.kpi is not None
    for machine in ingest.kpi.machines.values():
        kept = sum(map(len, machine.m.windows.open.values()))
        assert kept <= 3 * (windows.MAX_SPAN_NS // (3600 * 10**9) + 2)


def test_replay_survives_a_recording_with_bad_times(tmp_path: Path) -> None:
    """The same through ``circlemade replay``'s pipeline, with the recording's clock."""
    records = [
        {"time": "2026-11-23T08:00:00Z", "source": "mqtt", "topic": "din/1",
         "payload": orjson.dumps({"ts": NOW_NS / 1e9, "P": 50.0, "state": "running"}).decode()},
        {"time": "2026-11-23T08:00:10Z", "source": "mqtt", "topic": "din/1",
         "payload": orjson.dumps({"ts": 7_258_000_000, "P": 50.0}).decode()},
        {"time": "2026-11-23T08:00:20Z", "source": "mqtt", "topic": "octoPrint/event/PrintDone",
         "payload": orjson.dumps({"_timestamp": 1e12, "filament": 5.0}).decode()},
        {"time": "2026-11-23T08:00:30Z", "source": "mqtt", "topic": "din/1",
         "payload": orjson.dumps({"ts": NOW_NS / 1e9 + 30, "P": 60.0}).decode()},
    ]
    replayer = Replayer(parse_config(CONFIG))
    lines = list(replayer.lines(iter(enumerate(records, 1))))
    power = [re.search(r"power_w=([0-9.]+)", line) for line in lines]
    assert [float(found[1]) for found in power if found] == [50.0, 60.0]
    assert errors(replayer.health) == 2


def test_a_figure_past_what_a_float_holds_is_refused_not_a_crash() -> None:
    """A window whose total overflowed (found by the fuzz test above, through filament
    lengths near 1e308) must not stop the ticks: its points are refused and counted."""
    ingest, health = pipeline()
    assert ingest.kpi is not None
    for seconds in (0, 60):
        ingest.guarded([message("meter/json", "din/1", {"ts": NOW_NS / 1e9 + seconds,
                                                         "P": 100.0, "state": "running"})])
    hour = next(iter(ingest.kpi.machines["meter"].m.windows.open["hour"].values()))
    hour.material_g = float("inf")
    drafts: list[str] = []
    lines = ingest.tick(NOW_NS + 61 * 10**9, drafts) + drafts
    assert not any("material_g=inf" in line for line in lines)
    assert any(line.startswith("oee,") for line in lines)  # the rest is written
    assert health.get("meter", "decode_errors") == 1
