"""The dashboards for a VictoriaMetrics store (dashboards/victoria.py): every panel's
PromQL run against a real VictoriaMetrics filled by the same replayed morning as
tests/test_dashboards.py's InfluxDB, with the same panels, variables and annotations."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.errors import ConfigProblem
from dashboards.provisioning import write
from dashboards.victoria import DATASOURCE_UID, datasource, for_victoria
from dashboards.workshop import DASHBOARDS, as_json
from edge.service.config import parse_config
from simulators.local_servers import LocalServer
from tests.kpi_session import CONFIG, T0
from tests.test_dashboards import HOURS, MONTH_START, fill

START, END = MONTH_START, T0 + HOURS * 3600
SCOPE = {"$site": "example", "$kind": ".*", "$machine": ".*", "$product": ".*"}


@pytest.fixture(scope="module")
def filled(victoria: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> LocalServer:
    fill(tmp_path_factory.mktemp("dash-vm"), {"api": "victoriametrics", "url": victoria.url})
    urllib.request.urlopen(f"{victoria.url}/internal/force_flush", timeout=60)
    return victoria


def substitute(expr: str) -> str:
    for name, value in SCOPE.items():
        expr = expr.replace(name, value)
    return expr.replace("$__interval", "5m").replace("$__range", f"{END - START}s")


def asked(server: LocalServer, path: str, **params: Any) -> Any:
    query = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{server.url}/api/v1/{path}?{query}", timeout=60) as answer:
        found = orjson.loads(answer.read())
    assert found["status"] == "success", found
    return found["data"]


def evaluated(server: LocalServer, target: dict[str, Any]) -> list[dict[str, Any]]:
    """A target as Grafana asks it: instant at the range's end, or over the range."""
    expr = substitute(target["expr"])
    if target["instant"]:
        result: list[dict[str, Any]] = asked(server, "query", query=expr, time=END)["result"]
        return result
    step = target.get("interval", "5m")
    return list(asked(server, "query_range", query=expr, start=START, end=END,
                      step=step)["result"])


PANELS = [(key, panel) for key in DASHBOARDS for panel in for_victoria(as_json(key))["panels"]]


@pytest.mark.parametrize(("dashboard", "panel"), PANELS,
                         ids=[f"{key}: {panel['title']}" for key, panel in PANELS])
def test_every_panel_returns_data(filled: LocalServer, dashboard: str,
                                  panel: dict[str, Any]) -> None:
    """Each target runs; the panel shows data (a table's column of a field no point of the
    morning has, such as a lot's supplier, is empty on both stores)."""
    shown = 0
    for target in panel["targets"]:
        result = evaluated(filled, target)
        shown += sum(1 for series in result
                     for v in series.get("values", [series.get("value")]) if v is not None)
        for label in re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]):
            assert all(label in series["metric"] for series in result), (target, label)
    assert shown, f"{panel['title']}: no data"


def test_the_panels_are_the_influxdb_ones(tmp_path: Path) -> None:
    """Titles, kinds and places as on InfluxDB; a Prometheus data source on the store."""
    config = parse_config({**CONFIG, "influx": {"api": "victoriametrics",
                                                "url": "http://127.0.0.1:8428"}})
    files = write(config, tmp_path, "/dashboards")
    source = json.loads((tmp_path / "provisioning/datasources/circlemade.yaml").read_text()
                        .split("\n", 2)[2])["datasources"][0]
    assert (source["type"], source["uid"], source["url"]) == (
        "prometheus", DATASOURCE_UID, "http://127.0.0.1:8428")
    for key in DASHBOARDS:
        board = json.loads((tmp_path / "dashboards" / f"{key}.json").read_text())
        influx = as_json(key)
        assert [(p["title"], p["type"], p["gridPos"]) for p in board["panels"]] == [
            (p["title"], p["type"], p["gridPos"]) for p in influx["panels"]]
        assert all(t["datasource"]["uid"] == DATASOURCE_UID
                   for p in board["panels"] for t in p["targets"])
        assert "SELECT" not in json.dumps(board)
    assert len(files) == len(DASHBOARDS) + 2


def test_template_variables_list_the_machines(filled: LocalServer) -> None:
    found = {}
    for variable in for_victoria(as_json("shop-floor"))["templating"]["list"]:
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", substitute(variable["query"]))
        assert match is not None, variable["query"]
        found[variable["name"]] = set(asked(filled, f"label/{match[2]}/values",
                                            **{"match[]": match[1]}))
    assert "example" in found["site"]  # with the sites of other tests: the server is shared
    assert {"printer", "cnc"} <= found["kind"]
    assert {"p1", "p2", "mill", "printer-1", "cnc-1"} <= found["machine"]


def test_what_people_said_and_the_alerts_show_as_annotations(filled: LocalServer) -> None:
    said, alerts = for_victoria(as_json("machine"))["annotations"]["list"]
    result = asked(filled, "query_range", query=substitute(said["expr"]), start=START,
                   end=END, step="300s")["result"]
    assert {s["metric"]["action"] for s in result} == {"load", "downtime", "verdict",
                                                      "maintenance", "batch"}
    assert {s["metric"].get("reason") for s in result} >= {"warping", "fault"}
    result = asked(filled, "query_range", query=substitute(alerts["expr"]), start=START,
                   end=END, step="300s")["result"]
    assert "firing" in {s["metric"]["state"] for s in result}


@pytest.mark.parametrize(("read_url", "expected"), [
    ("http://vmselect:8481", "http://vmselect:8481/select/7:3/prometheus"),
    ("http://vmselect:8481/select/multitenant/prometheus/",
     "http://vmselect:8481/select/multitenant/prometheus"),
    (None, None)])
def test_a_cluster_tenants_dashboards_read_vmselect(read_url: str | None,
                                                   expected: str | None) -> None:
    """A tenant of a VictoriaMetrics cluster writes through vminsert and is read through
    vmselect: its own tenant, or every tenant (``multitenant``), never vminsert."""
    store = {"api": "victoriametrics", "url": "http://vminsert:8480", "account_id": 7,
             "project_id": 3, **({"read_url": read_url} if read_url else {})}
    config = parse_config({**CONFIG, "influx": store})
    if expected is None:
        with pytest.raises(ConfigProblem, match="influx.read_url"):
            datasource(config)
        return
    (source,) = datasource(config)["datasources"]
    assert source["url"] == expected
