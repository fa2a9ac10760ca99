"""The dashboards for a VictoriaMetrics store: the same panels, names and meanings, read
through a Prometheus-type data source (a single node, or a cluster's vmselect) in
PromQL (dashboards/promql.py)."""

from __future__ import annotations

import copy
from typing import Any

from contract.errors import ConfigProblem
from dashboards.inputs import SiteConfig
from dashboards.promql import Target, label_values, text_series, translate

DATASOURCE_UID = "circlemade-victoriametrics"
DATASOURCE = {"type": "prometheus", "uid": DATASOURCE_UID}
TABLES = ("table", "barchart")


def for_victoria(board: dict[str, Any]) -> dict[str, Any]:
    """A dashboard (Grafana JSON with InfluxQL targets) with PromQL targets instead."""
    board = copy.deepcopy(board)
    for panel in board["panels"]:
        panel["datasource"] = DATASOURCE
        table = panel.get("type") in TABLES or any(
            t.get("resultFormat") == "table" for t in panel.get("targets", []))
        targets = [target for t in panel.get("targets", [])
                   for target in translate(t["query"], t.get("alias") or "")]
        panel["targets"] = [_target(t, chr(ord("A") + i), table)
                            for i, t in enumerate(targets)]
        if table and len(targets) > 1 and not panel.get("transformations"):
            panel["transformations"] = [{"id": "merge", "options": {}}]
    for variable in board.get("templating", {}).get("list", []):
        variable["datasource"] = DATASOURCE
        variable["query"] = variable["definition"] = label_values(variable["query"])
    board["annotations"] = {"list": [_annotation(a) for a in
                                     board.get("annotations", {}).get("list", [])]}
    return board


def _target(target: Target, ref: str, table: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "refId": ref, "datasource": DATASOURCE, "expr": target.expr, "editorMode": "code",
        "legendFormat": target.legend, "instant": target.instant,
        "range": not target.instant,
        "format": "table" if table or target.raw else "time_series"}
    if target.step:
        found["interval"] = target.step
    return found


def _annotation(annotation: dict[str, Any]) -> dict[str, Any]:
    if "query" not in annotation:
        return annotation
    expr, words = text_series(annotation["query"])
    tags = annotation.get("tagsColumn", "")
    return {"name": annotation["name"], "datasource": DATASOURCE, "enable": True,
            "iconColor": annotation["iconColor"], "expr": expr, "step": "60s",
            "titleFormat": annotation["name"],
            "textFormat": "{{" + annotation.get("textColumn", words[0]) + "}}",
            "tagKeys": tags, "useValueForTime": False}


def datasource(config: SiteConfig) -> dict[str, Any]:
    """Grafana's data source for the store: the node itself, vmselect's tenant, or the
    Prometheus API root given as ``read_url`` (``/select/multitenant/prometheus``)."""
    store = config.influx
    if store.account_id is not None and not store.read_url:
        raise ConfigProblem("influx.read_url: a VictoriaMetrics cluster's dashboards read "
                            "vmselect: give its URL (docs/cluster.md)")
    source: dict[str, Any] = {
        "name": "circlemade VictoriaMetrics", "uid": DATASOURCE_UID, "type": "prometheus",
        "access": "proxy", "url": store.prometheus_url, "isDefault": True,
        "jsonData": {"httpMethod": "POST", "timeInterval": "1s"}}
    if store.token_env or store.token_file:
        source["jsonData"]["httpHeaderName1"] = "Authorization"
        source["secureJsonData"] = {
            "httpHeaderValue1": f"Bearer ${{{store.token_env or 'VICTORIA_TOKEN'}}}"}
    elif store.username:
        source["basicAuth"] = True
        source["basicAuthUser"] = store.username
        source["secureJsonData"] = {
            "basicAuthPassword": f"${{{store.password_env or 'VICTORIA_PASSWORD'}}}"}
    return {"apiVersion": 1, "datasources": [source]}
