"""The cluster's dashboards: every query returns data from an InfluxDB filled by
replaying two simulated workshops over two months; members anonymised on request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.cluster import CLUSTER_DASHBOARDS, as_json, members
from dashboards.provisioning import write
from edge.service.config import parse_config
from simulators.cluster_month import SITES, site_config
from simulators.local_servers import LocalServer
from tests.replayed import replay_two_sites, utc
from tests.talk import queried

DATABASE = "cluster_dashboards"
ANONYMISED = [("atelier-nord", "Atelier Nord"), ("fablab-sud", "workshop A")]


def cluster_config(anonymise: bool) -> dict[str, Any]:
    raw = site_config(*SITES[0])
    raw["cluster"] = {"anonymise": anonymise,
                      "sites": [{"id": s, "name": n} for s, n, _ in SITES]}
    return raw


@pytest.fixture(scope="module")
def filled(influxdb1: LocalServer) -> LocalServer:
    assert replay_two_sites({"api": "v1", "url": influxdb1.url, "database": DATABASE}) > 2000
    return influxdb1


def substitute(query: str) -> str:
    start, end = utc("2026-10-01T00:00:00") * 1000, utc("2026-12-01T00:00:00") * 1000
    return (query.replace("$timeFilter", f"time >= {start}ms AND time < {end}ms")
            .replace("$__interval", "1h"))


PANELS = [(key, listed, panel["title"], target["query"])
          for key in CLUSTER_DASHBOARDS for listed in (True, False)
          for panel in as_json(key, ANONYMISED if listed else [])["panels"]
          for target in panel["targets"]]


@pytest.mark.parametrize(("dashboard", "listed", "title", "query"), PANELS,
                         ids=[f"{p[0]}: {p[2]} ({'listed' if p[1] else 'by site'})"
                              for p in PANELS])
async def test_every_cluster_query_returns_data(filled: LocalServer, dashboard: str,
                                                listed: bool, title: str, query: str) -> None:
    series = await queried(filled.url, DATABASE, substitute(query))
    values = [v for s in series for row in s.rows for k, v in row.items()
              if k != "time" and isinstance(v, int | float)]
    assert values, f"{title}: no data for {substitute(query)}"
    sites = {s.tags.get("site") for s in series}
    if not listed:  # one query, a series per member
        assert sites == {"atelier-nord", "fablab-sud"}, title
    if dashboard == "cluster-trends":  # a point per month: October and November
        times = {row["time"] for s in series for row in s.rows if row.get("value") is not None}
        assert len(times) >= 2, f"{title}: {times}"


def test_a_member_sees_its_own_name_and_letters_for_the_others(tmp_path: Path) -> None:
    config = parse_config(cluster_config(anonymise=True))
    assert members(config) == ANONYMISED
    files = write(config, tmp_path, "/dashboards")
    text = " ".join(p.read_text() for p in files)
    assert "workshop A" in text and "FabLab Sud" not in text
    named = parse_config(cluster_config(anonymise=False))
    assert members(named) == [("atelier-nord", "Atelier Nord"), ("fablab-sud", "FabLab Sud")]
    alone = parse_config(site_config(*SITES[0]))
    assert not any("cluster" in p.name for p in write(alone, tmp_path / "alone", "/d"))


@pytest.mark.parametrize("key", list(CLUSTER_DASHBOARDS))
def test_cluster_dashboard_structure(key: str) -> None:
    board = as_json(key, ANONYMISED)
    rows: dict[int, int] = {}
    for panel in board["panels"]:
        rows[panel["gridPos"]["y"]] = rows.get(panel["gridPos"]["y"], 0) + panel["gridPos"]["w"]
        assert [t["alias"].split(" $")[0] for t in panel["targets"]] == [
            "Atelier Nord", "workshop A"]
    assert set(rows.values()) == {24}, f"a row with a gap: {rows}"
    assert set(re.findall(r"\$(\w+)", json.dumps(board))) <= {
        "timeFilter", "tag_kind", "col"}
