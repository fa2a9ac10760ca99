"""The cluster's central store may be InfluxDB or VictoriaMetrics: filled by the same
replay of two simulated workshops over two months (rewritten jobs and stops included),
the ``--cluster`` report and every cluster dashboard figure (InfluxQL on one, PromQL on
the other) are the same from each, to 0.1 % (docs/cluster.md)."""

from __future__ import annotations

import asyncio
import csv
import math
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
import tomli_w

from circlemade.cli import main
from dashboards import cluster
from dashboards.cluster import CLUSTER_DASHBOARDS
from dashboards.victoria import for_victoria
from simulators.cluster_month import SITES, site_config
from simulators.local_servers import LocalServer
from tests.replayed import replay_two_sites, utc
from tests.talk import queried

STORES = ("v1", "victoriametrics")


def store(api: str, influxdb1: LocalServer, victoria: LocalServer) -> dict[str, Any]:
    if api == "v1":
        return {"api": "v1", "url": influxdb1.url, "database": "cluster_agree"}
    return {"api": "victoriametrics", "url": victoria.url}


@pytest.fixture(scope="module")
def filled(influxdb1: LocalServer, victoria: LocalServer) -> dict[str, dict[str, Any]]:
    stores = {api: store(api, influxdb1, victoria) for api in STORES}
    for settings in stores.values():
        assert replay_two_sites(settings) > 2000
    urllib.request.urlopen(f"{victoria.url}/internal/force_flush", timeout=60)
    return stores


def tables(export: Path) -> dict[str, list[dict[str, str]]]:
    found = {}
    for path in sorted(export.glob("*.csv")):
        with path.open() as file:
            found[path.name] = list(csv.DictReader(file))
    return found


def agree(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    return math.isclose(x, y, rel_tol=1e-3, abs_tol=1e-9)


def cluster_report(tmp_path: Path, settings: dict[str, Any], name: str,
                   ) -> dict[str, list[dict[str, str]]]:
    own = site_config(*SITES[0], influx=settings)
    own["cluster"] = {"anonymise": False,
                      "sites": [{"id": s, "name": n} for s, n, _ in SITES]}
    (tmp_path / f"{name}.toml").write_text(tomli_w.dumps(own))
    assert main(["report", "-c", str(tmp_path / f"{name}.toml"), "--month", "2026-11",
                 "--cluster", "-o", str(tmp_path / f"{name}.html")]) == 0
    return tables(tmp_path / f"{name}-export")


@pytest.mark.servers
def test_the_cluster_report_is_the_same_from_influxdb_and_victoriametrics(
        tmp_path: Path, filled: dict[str, dict[str, Any]]) -> None:
    influx = cluster_report(tmp_path, filled["v1"], "influxdb")
    victoria = cluster_report(tmp_path, filled["victoriametrics"], "victoria")
    assert set(influx) == set(victoria) and len(influx) >= 16
    cells = 0
    for name, rows in influx.items():
        assert len(rows) == len(victoria[name]), name
        for row, other in zip(rows, victoria[name], strict=True):
            for column, value in row.items():
                assert agree(value, other[column]), (name, column, row, other)
                cells += 1
    assert cells > 250


START, END = utc("2026-10-01T00:00:00"), utc("2026-12-01T00:00:00")
LISTED = [(s, n) for s, n, _ in SITES]
PANELS = [(key, listed, index) for key in CLUSTER_DASHBOARDS for listed in (True, False)
          for index in range(len(cluster.as_json(key, [])["panels"]))]


def influxql(url: str, query: str) -> dict[tuple[tuple[str, str], ...], list[list[Any]]]:
    """Per series (its tags), the rows: time (ms), then a value per item of the query."""
    statement = query.replace("$timeFilter", f"time >= {START}s AND time < {END}s")
    series = asyncio.run(queried(url, "cluster_agree", statement))
    return {tuple(sorted(s.tags.items())): [list(row.values()) for row in s.rows]
            for s in series}


def promql(server: LocalServer, target: dict[str, Any], times: list[int],
           ) -> dict[tuple[tuple[str, str], ...], dict[int, float]]:
    """Per series (its labels), the value at each time (ms) Grafana would ask."""
    expr = target["expr"].replace("$__range", f"{END - START}s")
    if target["instant"]:
        params: dict[str, Any] = {"query": expr, "time": END}
        path = "query"
    else:
        params = {"query": expr, "start": min(times) // 1000, "end": max(times) // 1000,
                  "step": target["interval"]}
        path = "query_range"
    url = f"{server.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        result = orjson.loads(answer.read())["data"]["result"]
    return {tuple(sorted(s["metric"].items())): {
        (START * 1000 if target["instant"] else int(t * 1000)): float(v)
        for t, v in s.get("values", [s.get("value")])} for s in result}


@pytest.mark.servers
@pytest.mark.parametrize(("key", "listed", "index"), PANELS,
                         ids=[f"{k}: panel {i} ({'listed' if li else 'by site'})"
                              for k, li, i in PANELS])
def test_every_cluster_figure_is_the_same_in_promql_on_victoriametrics(
        filled: dict[str, dict[str, Any]], victoria: LocalServer, influxdb1: LocalServer,
        key: str, listed: bool, index: int) -> None:
    """Each cluster panel's InfluxQL on InfluxDB and its PromQL on VictoriaMetrics: the
    same series, the same figures at the same times, to 0.1 %."""
    members = LISTED if listed else []
    influx_panel = cluster.as_json(key, members)["panels"][index]
    victoria_targets = iter(for_victoria(cluster.as_json(key, members))["panels"][index][
        "targets"])
    compared = 0
    for influx_target in influx_panel["targets"]:
        rows = influxql(influxdb1.url, influx_target["query"])
        items = len(next(iter(rows.values()))[0]) - 1
        for item in range(items):
            target = next(victoria_targets)
            times = sorted({row[0] for series in rows.values() for row in series})
            theirs = promql(victoria, target, times)
            assert set(theirs) == set(rows), (influx_target["query"], target["expr"])
            for labels, series in rows.items():
                for row in series:
                    if row[1 + item] is not None:
                        assert math.isclose(theirs[labels][row[0]], row[1 + item],
                                            rel_tol=1e-3), (labels, row, target["expr"])
                        compared += 1
    assert compared
