"""A grafanalib dashboard as the JSON today's Grafana writes itself: the current schema
version, without the keys of the row-based layout grafanalib still emits (Grafana would
migrate them at every load, and its editor would ask to save every dashboard), and with
the links that take a person from one dashboard to the next."""

from __future__ import annotations

import json
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

SCHEMA_VERSION = 39
"""Grafana 10.3 to 11's dashboard schema."""
LEGACY_BOARD_KEYS = ("rows", "style", "__inputs", "hideControls", "sharedCrosshair",
                     "gnetId")
LEGACY_PANEL_KEYS = ("span", "height", "minSpan", "error")
"""Left by grafanalib from Grafana's row-based layout; panels have gridPos instead."""


def dashboard_json(board: Dashboard, tag: str = "circlemade",
                   data_link: dict[str, str] | None = None) -> dict[str, Any]:
    """``board`` as current Grafana JSON, with a button per dashboard tagged ``tag``
    (keeping the time range and the variables), and ``data_link`` on every panel whose
    series are a machine each (its link names the machine)."""
    data: dict[str, Any] = json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder))
    for key in LEGACY_BOARD_KEYS:
        data.pop(key, None)
    data["schemaVersion"] = SCHEMA_VERSION
    data["links"] = [{"title": "circlemade", "type": "dashboards", "tags": [tag],
                      "asDropdown": False, "includeVars": True, "keepTime": True}]
    for panel in data["panels"]:
        for key in LEGACY_PANEL_KEYS:
            panel.pop(key, None)
        if data_link is not None and _per_machine(panel):
            panel.setdefault("fieldConfig", {}).setdefault("defaults", {})["links"] = [
                dict(data_link)]
    return data


def _per_machine(panel: dict[str, Any]) -> bool:
    queries = [target.get("query", "") for target in panel.get("targets", [])]
    return bool(queries) and all('"machine"' in q.rpartition("GROUP BY")[2] for q in queries)
