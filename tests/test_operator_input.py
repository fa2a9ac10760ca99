"""Operator input over MQTT: the worked example of docs/metrics.md through ``circlemade
replay``, and each kind of bad input refused with a message, counted and dead-lettered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.raw_message import RawMessage
from contract.reading import Reading
from edge.pipeline.ingest import Ingest
from edge.pipeline.kpi.engine import KpiEngine
from edge.pipeline.normalise import Normaliser
from edge.service.config import parse_config
from edge.service.sources import OPERATOR_ROUTE, operator_decoder
from edge.storage.health import Health
from edge.storage.line_protocol import Line, last_writes
from tests.operator_session import CONFIG, SAY, T, entries, say
from tests.replayed import replay, utc, windows
from tests.test_kpi_example import documented

SECTION = "## Worked example: what people said"


def kept(lines: list[Line], measurement: str, **tags: str) -> list[dict[str, Any]]:
    """The points InfluxDB keeps of a measurement (with these tags), in time order."""
    return [fields for (name, series, _), fields in sorted(
                last_writes(lines).items(), key=lambda item: item[0][2])
            if name == measurement and tags.items() <= dict(series).items()]


def find(lines: list[Line], point: str) -> dict[str, Any]:
    """The point a row of the table names, as InfluxDB keeps it."""
    kind, _, detail = point.partition(" ")
    if kind == "job":
        (job,) = [fields for fields in kept(lines, "job") if fields["job"] == detail]
        return job
    if kind in ("oee", "circularity"):
        window, _, start = detail.partition(" ")
        starts = {"09:00": T, "day": utc("2026-11-23T00:00:00")}
        return dict(windows(lines, kind, "mk4", window)[starts[start or window]])
    if kind == "material_lot":
        (lot,) = kept(lines, "material_lot")
        return lot
    return next(f for f in kept(lines, kind, reason=detail) if f.get("duration_s", 1) != 0)


@pytest.mark.parametrize(("point", "field", "value"), documented(SECTION))
def test_documented_figure(tmp_path: Path, point: str, field: str, value: float) -> None:
    lines = replay(tmp_path, CONFIG, entries())
    assert find(lines, point)[field] == pytest.approx(value, rel=1e-5, abs=1e-9)


def test_the_example_is_documented() -> None:
    assert len(documented(SECTION)) >= 15


def test_what_was_said_is_stored_and_replays_identically(tmp_path: Path) -> None:
    first = replay(tmp_path, CONFIG, entries(), "one")
    assert first == replay(tmp_path, CONFIG, entries(), "two")
    said = [line.fields for line in first if line.measurement == "operator_input"]
    assert [s["action"] for s in said] == ["verdict", "downtime", "load"]
    assert said[0]["by"] == "amina" and said[0]["reason"] == "warping"
    # the stop from 11:00 goes on when the recording ends: written as far as it goes
    unassigned = kept(first, "downtime", reason="unassigned")
    assert [f["duration_s"] for f in unassigned] == [600.0, 1800.0]
    assert unassigned[1]["ongoing"] == 1.0


def test_a_reason_given_for_a_span_and_a_verdict_changed_again(tmp_path: Path) -> None:
    later = [say(130, "downtime", reason="changeover", **{
                 "from": "2026-11-23T08:59:00Z", "to": "2026-11-23T09:05:00Z"}),
             say(131, "verdict", job="bracket", good=2, scrap=0)]
    lines = replay(tmp_path, CONFIG, entries() + later)
    (changeover,) = kept(lines, "downtime", reason="changeover")
    assert changeover["duration_s"] == 600.0 and changeover["planned"] == 1.0
    # its point under the old reason is written again with nothing: sums stay right
    unassigned = kept(lines, "downtime", reason="unassigned")
    assert [f["duration_s"] for f in unassigned] == [0.0, 1800.0]
    job = find(lines, "job bracket")
    assert job["good_parts"] == 2.0 and job["scrap_parts"] == 0.0 and job["scrap_g"] == 0.0
    hour = windows(lines, "oee", "mk4", "hour")[T]
    assert hour["quality"] == 1.0
    assert [f["scrap_parts"] for f in kept(lines, "scrap", reason="warping")] == [0.0]


BAD = [
    ("verdict", {"good": -1}, "verdict: good: Input should be greater than or equal to 0"),
    ("verdict", {"good": 1, "reason": "bored"}, "reason: unknown reason 'bored'"),
    ("verdict", {"good": 0, "scrap": 0}, "expected at least one part"),
    ("verdict", {"good": 1, "colour": "red"}, "verdict: colour: Extra inputs are not permitted"),
    ("downtime", {"reason": "coffee"}, "unknown reason 'coffee'"),
    ("downtime", {"reason": "break", "from": "2026-11-23T09:00:00Z"}, "give both, or neither"),
    ("material", {"action": "load", "lot": "x", "material": "PLA+"},
     "unknown material 'PLA+'"),
    ("material", {"action": "load", "lot": "x", "material": "PLA+", "recycled_pct": 140,
                  "density_g_cm3": 1.24}, "recycled_pct: Input should be less than or equal"),
    ("maintenance", {"component": "nozzle", "action": "serviced"},
     "unknown component 'nozzle' of mk4; known are machine"),
    ("maintenance", {"component": "machine", "action": "oiled"},
     "maintenance: action: Input should be 'serviced', 'replaced' or 'inspected'"),
    ("batch", {"action": "start", "batch": "B-1", "product": "hinge"},
     "batch: product, quantity: a batch starts with both"),
    ("batch", {"action": "start", "batch": "B-1", "product": "hinge", "quantity": 0},
     "batch: quantity: Input should be greater than or equal to 1"),
]


def pipeline() -> tuple[Ingest, Health]:
    config = parse_config(CONFIG)
    decoder = operator_decoder(config)
    assert decoder is not None
    health = Health("s")
    return Ingest({OPERATOR_ROUTE: decoder}, Normaliser.for_config(config), health,
                  KpiEngine(config)), health


@pytest.mark.parametrize(("kind", "payload", "error"), BAD)
def test_bad_input_is_refused_saying_what_was_expected(kind: str, payload: dict[str, Any],
                                                      error: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    ingest, health = pipeline()
    lines = ingest.guarded([RawMessage(OPERATOR_ROUTE, SAY + kind, orjson.dumps(payload),
                                       T * 10**9)], T * 10**9)
    assert lines == []
    assert health.get(OPERATOR_ROUTE, "decode_errors") == 1
    assert any(error in str(getattr(r, "fields", {}).get("error", "")) for r in caplog.records)


@pytest.mark.parametrize(("topic", "payload", "error"), [
    ("circlemade/s/mill/verdict", {"good": 1}, "unknown machine 'mill'"),
    ("circlemade/s/mk4/verdict", {"good": 1}, "no ended job '' on mk4"),
    ("circlemade/s/mk4/material", {"action": "unload"}, "no lot is loaded on mk4"),
    ("circlemade/s/mk4/downtime", {"reason": "break"}, "mk4 has no stop to give a reason for"),
])
def test_what_cannot_be_applied_is_refused_and_the_rest_goes_on(
        topic: str, payload: dict[str, Any], error: str,
        caplog: pytest.LogCaptureFixture) -> None:
    ingest, health = pipeline()
    load = {"action": "load", "lot": "L1", "material": "PETG"}
    batch: list[RawMessage | Reading] = [
        RawMessage(OPERATOR_ROUTE, topic, orjson.dumps(payload), T * 10**9),
        RawMessage(OPERATOR_ROUTE, SAY + "material", orjson.dumps(load), T * 10**9)]
    lines = ingest.guarded(batch, T * 10**9)
    said = [line for line in lines if line.startswith("operator_input")]
    assert len(said) == 1 and 'action="load"' in said[0]  # the next one goes on
    errors = sum(fields.get("decode_errors", 0) for fields in health.snapshot().values())
    assert errors == 1
    assert any(error in str(getattr(r, "fields", {}).get("error", "")) for r in caplog.records)


def test_what_people_said_survives_a_restart(tmp_path: Path) -> None:
    """The session replayed in two halves, the KPI memory handed over as the service
    stores it: the same job, stop, scrap and lot points as in one go."""
    from edge.tools.recording import read_records
    from tests.replayed import replay_in_parts, write_recording

    config = parse_config(CONFIG)
    records = list(read_records(write_recording(tmp_path / "said.jsonl", entries())))
    kpis = ("job", "oee", "circularity", "downtime", "scrap", "material_lot")

    def run(parts: list[list[tuple[int, dict[str, Any]]]]) -> dict[Any, Any]:
        return {key: fields for key, fields in last_writes(replay_in_parts(config, parts)
                                                           ).items()
                if key[0] in kpis and not nothing(key[0], fields)}

    def nothing(measurement: str, fields: dict[str, Any]) -> bool:
        """A point written again with nothing, under a reason it no longer has: when it
        was first written (a stop in progress at the cut) differs, what sums does not."""
        return (measurement == "downtime" and fields["duration_s"] == 0.0) or (
            measurement == "scrap" and fields["scrap_parts"] == 0.0)

    whole = run([records])
    assert any(key[0] == "scrap" for key in whole) and any(key[0] == "downtime" for key in whole)
    for cut in range(1, len(records)):
        assert run([records[:cut], records[cut:]]) == whole, cut


async def test_the_terminal_speaks_french_and_shows_what_the_edge_knows(
        tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from edge.terminal.app import COOKIE, Terminal
    from edge.tools.recording import Replayer, read_records
    from tests.replayed import write_recording

    config = parse_config({**CONFIG, "site": {**CONFIG["site"], "language": "fr"}})
    replayer = Replayer(config)
    list(replayer.lines(read_records(write_recording(tmp_path / "s.jsonl", entries()))))
    decoder = operator_decoder(config)
    assert decoder is not None
    published: list[tuple[str, bytes]] = []

    def publish(topic: str, body: bytes) -> bool:
        published.append((topic, body))
        return True

    terminal = Terminal(config, "2468", lambda: replayer.ingest.kpi, decoder, publish)
    async with TestClient(TestServer(terminal.app())) as client:
        assert "Code" in await (await client.get("/")).text()  # the PIN page, in French
        signed = await client.post("/login", data={"pin": "2468"}, allow_redirects=False)
        assert signed.status == 303 and COOKIE in signed.cookies
        page = await (await client.get("/m/mk4")).text()
        assert "Pourquoi est-elle arrêtée ?" in page and "lid" in page
        assert ">attente matière<" in page and ">gauchissement<" in page
        assert "RPETG-2026-118" in page and "2468" not in page
        # behind a reverse proxy under any path: no link, form or redirect is absolute
        pages = page + await (await client.get("/")).text()
        assert not re.search(r'(href|action)="/', pages)
        assert signed.headers["Location"] == "./"
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        said = await client.post("/m/mk4/downtime", data={"csrf": csrf, "reason": "break"},
                                 allow_redirects=False)
        assert said.status == 303 and said.headers["Location"] == "../mk4"
    assert published == [("circlemade/s/mk4/downtime",
                          orjson.dumps({"reason": "break", "by": "terminal"}))]
