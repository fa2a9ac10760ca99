"""The generated dashboards: structure, provisioning, and every panel's query run against
a real InfluxDB 1.x filled by replaying a simulated morning."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from dashboards.panels import DATASOURCE_UID
from dashboards.provisioning import write
from dashboards.workshop import DASHBOARDS, DUE_LIST, as_json, specs
from edge.pipeline.normalise import Normaliser
from edge.service.config import Config, parse_config
from edge.service.edge_alerts import EdgeAlerts
from edge.storage.health import Health
from edge.storage.influxql import InfluxQL
from edge.storage.stores import make_writer
from edge.tools.recording import Replayer, read_records, replay_to_influx
from simulators.fleet import Fleet, Scenario
from simulators.local_servers import LocalServer
from simulators.recorded_shift import fleet_recording
from tests.kpi_session import CONFIG, T0, recording
from tests.replayed import mqtt
from tests.talk import queried

DATABASE = "dashboards"
MONTH_START = int(datetime(2026, 10, 31, 23, 0, tzinfo=UTC).timestamp())
HOURS = 3
BUILTIN = {"timeFilter", "__interval"}


def morning(tmp_path: Path) -> tuple[Config, Path]:
    """The worked example's recording plus a simulated fleet, 08:30-11:30 on a Monday."""
    fleet = Fleet(Scenario.from_counts(printers=3, meters=3, cnc=1, seed=3))
    p1 = {**CONFIG["machines"][0], "components": [
        {"name": "hotend", "counts": "run_h", "service_every": 0.5}]}
    fleet_machines = [{**m, "rate_per_h": 2.5} if m["id"] == "printer-1" else m
                      for m in fleet.machines_config()]
    grid = {"id": "grid", "kind": "meter", "sources": [{
        "topic": "ex/grid", "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}
    sensors = [{"id": sensor, "kind": "sensor", "location": where, "sources": [{
        "topic": f"ex/{sensor}", "profile": "json", "time": {"path": "ts", "format": "unix_s"}}]}
        for sensor, where in (("facade", "facade"), ("air-p1", "p1"))]
    raw = {**CONFIG, "machines": [p1, *CONFIG["machines"][1:], *fleet_machines, grid, *sensors],
           "neighbours": {"periods": [
               {"name": "day", "start": "07:00", "end": "19:00", "laeq_max_db": 55}]},
           "site": {**CONFIG["site"], "labour_per_h": 30.0, "grid_meter": "grid"},
           "tariffs": [{"name": "flat", "eur_per_kwh": 0.3}],
           "products": [{"name": "clip", "cost_target": 5.0}],
           "alerts": [{"rule": "fault"}, {"rule": "edge", "after_min": 5},
                      {"rule": "maintenance_due"}, {"rule": "noise"}]}
    config = parse_config(raw)
    said = [mqtt(T0 + 100, "circlemade/example/p1/material", {
                "action": "load", "lot": "RPLA-7", "material": "PLA", "recycled_pct": 60}),
            mqtt(T0 + 2000, "circlemade/example/p2/downtime", {"reason": "fault"}),
            mqtt(T0 + 3400, "circlemade/example/p1/verdict", {
                "good": 0, "scrap": 1, "reason": "warping", "by": "amina"}),
            mqtt(T0 + 3500, "circlemade/example/p1/maintenance", {
                "component": "hotend", "action": "serviced", "note": "new nozzle",
                "by": "amina"}),
            mqtt(T0 + 4200, "ex/p2/status", {"state": "running"}),  # p2 repaired
            *batches_of_clips(), *grid_meter(), *sensors_readings()]
    lines = (recording().splitlines() + fleet_recording(fleet, T0 - 1800, HOURS)
             + [orjson.dumps(entry) for entry in said])
    lines.sort(key=lambda line: orjson.loads(line)["time"])
    path = tmp_path / "morning.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return config, path


def batches_of_clips() -> list[dict[str, Any]]:
    """Three batches on printer-1, an hour each, for the Products dashboard."""
    say = "circlemade/example/printer-1/batch"
    starts = [mqtt(T0 - 1799 + i * 3600, say, {"action": "start", "batch": f"B-{i + 1}",
                                              "product": "clip", "quantity": 3})
              for i in range(HOURS)]
    return [*starts, mqtt(T0 - 1805 + HOURS * 3600, say, {"action": "end", "batch": "B-3"})]


def grid_meter() -> list[dict[str, Any]]:
    """The site's grid meter, a reading a minute: 6 kW for the first hour, then 4 kW."""
    entries, kwh = [], 0.0
    for minute in range(HOURS * 60 + 30):
        t = T0 - 1800 + minute * 60
        kw = 6.0 if minute < 60 else 4.0
        entries.append(mqtt(t, "ex/grid", {"ts": t, "energy_kwh": kwh, "power_w": kw * 1000}))
        kwh += kw / 60
    return entries


def sensors_readings() -> list[dict[str, Any]]:
    """The façade's level a minute (loud in the second hour) and the air beside p1."""
    entries = []
    for minute in range(HOURS * 60 + 30):
        t = T0 - 1800 + minute * 60
        entries += [mqtt(t, "ex/facade", {"ts": t, "sound_dba": 60.0 if 60 <= minute < 120
                                          else 48.0}),
                    mqtt(t, "ex/air-p1", {"ts": t, "pm2_5_ugm3": 9.0 + minute % 30,
                                          "particles_03_per_dl": 500.0 + minute,
                                          "voc_index": 100.0 + minute % 40})]
    return entries


@pytest.fixture(scope="module")
def filled(influxdb1: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> LocalServer:
    fill(tmp_path_factory.mktemp("dash"), {"url": influxdb1.url, "database": DATABASE})
    return influxdb1


def fill(tmp: Path, store: dict[str, Any]) -> None:
    """The morning replayed into ``store`` (the config's ``[influx]`` changed so), with
    the edge's own counters and alerts beside."""
    config, path = morning(tmp)
    config = config.model_copy(update={"influx": config.influx.model_copy(update=store)})

    async def write() -> None:
        lines = Replayer(config).lines(read_records(path))
        assert await replay_to_influx(config, lines) > 1000
        health, writer = Health("example"), make_writer(config.influx)
        for minute in range(0, HOURS * 60, 10):  # the edge's own counters, every 10 min
            health.count("p1/json", "messages_in", 120)
            health.set("sink", "buffer_depth", minute % 7)
            health.set("sink", "write_latency_ms", 3.5)
            health.count("sink", "dead_letters", 0)
            health.count("p1/json", "decode_errors", minute % 2)
            await writer.write(health.to_lines((T0 - 1800 + minute * 60) * 10**9))
        # InfluxDB away from 09:00 for 20 min, as the edge tells it
        edge, normaliser = EdgeAlerts(config, None), Normaliser.for_config(config)
        for minute, failing in ((6, T0), (20, T0), (21, None)):
            told = edge.check({
                "buffer_depth": 10, "buffer_max_points": 1000, "buffer_full": False,
                "buffer_dropped": 0, "buffer_last_drop_s": None,
                "write_failing_since_s": failing, "last_write_error": "refused",
                "last_write_s": None if failing else T0 + minute * 60},
                (T0 + minute * 60) * 10**9)
            await writer.write(normaliser.point_lines(edge.points(told)))
        await writer.close()

    asyncio.run(write())


def substitute(query: str) -> str:
    # from the month's start (the month's points are dated there), Brussels time
    start, end = MONTH_START * 1000, (T0 + HOURS * 3600) * 1000
    return (query.replace("$timeFilter", f"time >= {start}ms AND time <= {end}ms")
            .replace("$__interval", "5m").replace("$site", "example")
            .replace("$kind", ".*").replace("$machine", ".*").replace("$product", ".*"))


PANELS = [(key, spec.title, query, spec.expects)
          for key in DASHBOARDS for spec in specs(key) for query in spec.queries]


@pytest.mark.parametrize(("dashboard", "title", "query", "expects"), PANELS,
                         ids=[f"{p[0]}: {p[1]}" for p in PANELS])
async def test_every_panel_query_returns_data(filled: LocalServer, dashboard: str, title: str,
                                              query: str, expects: str) -> None:
    series = await queried(filled.url, DATABASE, substitute(query))
    values = [v for s in series for row in s.rows for k, v in row.items()
              if k != "time" and v is not None]
    assert series and values, f"{title}: no data for {substitute(query)}"
    wanted = str if expects == "text" else (int, float)
    assert any(isinstance(v, wanted) for v in values), f"{title}: no {expects} values"


async def test_what_people_said_shows_as_annotations(filled: LocalServer) -> None:
    board = as_json("machine")
    annotation, alert = board["annotations"]["list"]
    series = await queried(filled.url, DATABASE, substitute(annotation["query"]))
    rows = [row for s in series for row in s.rows]
    assert {row["action"] for row in rows} == {"load", "downtime", "verdict", "maintenance",
                                               "batch"}
    assert {row["reason"] for row in rows} >= {"warping", "fault"}
    assert annotation["textColumn"] in rows[0]
    series = await queried(filled.url, DATABASE, substitute(alert["query"]))
    states = [row["state"] for s in series for row in s.rows]
    assert "firing" in states  # p2's fault at 09:30


async def test_equipment_life_lists_what_is_due_and_what_was_done(filled: LocalServer) -> None:
    """The due list (p1's hotend due at 0.5 run-hours, serviced at 09:58), the maintenance
    as an annotation, and p2's fault as a failure repaired at 10:10."""
    due = await queried(filled.url, DATABASE, substitute(DUE_LIST))
    rows = {(s.tags["machine"], s.tags["component"]): s.rows[-1] for s in due}
    assert rows[("p1", "hotend")]["status"] == "ok"  # serviced, then idle
    maintenance, _ = as_json("equipment-life")["annotations"]["list"]
    series = await queried(filled.url, DATABASE, substitute(maintenance["query"]))
    done = [(row["component"], row["action"], row["note"]) for s in series for row in s.rows]
    assert done == [("hotend", "serviced", "new nozzle")]
    series = await queried(filled.url, DATABASE, substitute(
        'SELECT * FROM "reliability" WHERE "machine" = \'p2\' AND "window" = \'day\' '
        "AND $timeFilter"))
    (day,) = [row for s in series for row in s.rows]
    assert (day["failures"], day["repairs"], day["repair_s"]) == (1.0, 1.0, 2400.0)


async def test_the_edges_own_alerts_show_on_its_health_dashboard(filled: LocalServer) -> None:
    (alert,) = as_json("edge-health")["annotations"]["list"]
    series = await queried(filled.url, DATABASE, substitute(alert["query"]))
    rows = [(row["time"] // 1000 - T0, row["state"]) for s in series for row in s.rows]
    assert rows == [(300, "firing"), (1260, "resolved")]
    assert alert["textColumn"] in series[0].rows[0]


async def test_template_variables_list_the_machines(filled: LocalServer) -> None:
    client = InfluxQL(filled.url, DATABASE)
    try:
        found = {}
        for variable in as_json("shop-floor")["templating"]["list"]:
            series = await client.query(substitute(variable["query"]))
            found[variable["name"]] = {row["value"] for s in series for row in s.rows}
    finally:
        await client.close()
    assert found["site"] == {"example"}
    assert {"printer", "cnc"} <= found["kind"]
    assert {"p1", "p2", "mill", "printer-1", "cnc-1"} <= found["machine"]


@pytest.mark.parametrize("key", list(DASHBOARDS))
def test_dashboard_structure(key: str) -> None:
    board = as_json(key)
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    rows: dict[int, int] = {}
    for panel in panels:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps"
                cells.add((x, y))
        rows[grid["y"]] = rows.get(grid["y"], 0) + grid["w"]
        assert panel["datasource"]["uid"] == DATASOURCE_UID
        assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"])
    assert set(rows.values()) == {24}, f"a row with a gap: {rows}"
    defined = {v["name"] for v in board["templating"]["list"]} | BUILTIN
    used = set(re.findall(r"\$(\w+)", json.dumps(board)))
    assert used <= defined, used - defined


def test_uids_are_unique_and_provisioning_names_no_secret(tmp_path: Path) -> None:
    assert len({as_json(k)["uid"] for k in DASHBOARDS}) == len(DASHBOARDS)
    config = parse_config({**CONFIG, "influx": {"api": "v2", "url": "http://influx:8086",
                                                "bucket": "shop", "token_env": "SHOP_TOKEN"}},
                          environ={"SHOP_TOKEN": "s3cr3t-token"})
    files = write(config, tmp_path, "/dashboards")
    assert len(files) == len(DASHBOARDS) + 2
    source_file = tmp_path / "provisioning" / "datasources" / "circlemade.yaml"
    text = source_file.read_text()
    assert "s3cr3t-token" not in text and "Token ${SHOP_TOKEN}" in text
    source = json.loads(text.split("\n", 2)[2])["datasources"][0]
    assert source["uid"] == DATASOURCE_UID and source["jsonData"]["dbName"] == "shop"


@pytest.mark.parametrize("key", list(DASHBOARDS))
def test_dashboards_are_current_grafana_json_and_link_to_each_other(key: str) -> None:
    """Written as Grafana 10.3-11 writes them (no migration at load, no row-era keys), a
    button to every circlemade dashboard keeping time and variables, and on the shop
    floor each machine's figures open its own dashboard."""
    board = as_json(key)
    assert board["schemaVersion"] == 39
    assert not {"rows", "style", "__inputs"} & set(board)
    assert not any({"span", "height", "minSpan"} & set(panel) for panel in board["panels"])
    (link,) = board["links"]
    assert link["type"] == "dashboards" and link["tags"] == ["circlemade"]
    assert link["includeVars"] and link["keepTime"]
    linked = {panel["title"]: panel["fieldConfig"]["defaults"].get("links")
              for panel in board["panels"] if "fieldConfig" in panel}
    if key == "shop-floor":
        assert linked["Jobs by outcome"] is None  # its series are outcomes, not machines
        assert linked["OEE today"] == [{
            "title": "Open ${__field.labels.machine}",
            "url": "/d/circlemade-machine/?var-machine=${__field.labels.machine}"
                   "&${__url_time_range}"}]
    else:
        assert not any(linked.values())
