"""The edge rule on the service's status: InfluxDB out of reach, a buffer filling up,
points dropped; each fires once and resolves once, and its state read back after a
restart fires nothing twice and resolves what ended meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from edge.pipeline.kpi.alerts import Alert
from edge.pipeline.kpi.settings import AlertRule
from edge.service.config import Config, parse_config
from edge.service.config_problems import ConfigError
from edge.service.edge_alerts import KEY, EdgeAlerts

S = 1_000_000_000
T0 = 1_764_669_600  # 2025-12-02 10:00 UTC, in seconds


def config(**rule: Any) -> Config:
    return parse_config({
        "site": {"id": "atelier"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
        "machines": [{"id": "m", "kind": "printer", "sources": [
            {"topic": "t", "profile": "json"}]}],
        "alerts": [{"rule": "edge", **rule}]})


def status(**fields: Any) -> dict[str, Any]:
    """The figures ``circlemade status`` shows, of a healthy edge unless told."""
    return {"buffer_depth": 10, "buffer_max_points": 1000, "buffer_full": False,
            "buffer_dropped": 0, "buffer_last_drop_s": None, "write_failing_since_s": None,
            "last_write_error": None, "last_write_s": T0, **fields}


def said(alerts: list[Alert]) -> list[tuple[str, str, int]]:
    return [(a.check, a.state, a.time_ns // S - T0) for a in alerts]


def restarted(edge: EdgeAlerts, cfg: Config) -> EdgeAlerts:
    """What a restart reads back: the state as last stored with the points."""
    stored = edge.take_state()[KEY]
    assert edge.take_state() == {}  # unchanged since: nothing to store again
    return EdgeAlerts(cfg, stored)


def test_influxdb_out_of_reach_fires_after_the_wait_and_once_across_a_restart() -> None:
    cfg = config(after_min=2)
    edge = EdgeAlerts(cfg, None)
    down = status(write_failing_since_s=T0, last_write_error="no answer from InfluxDB")
    assert said(edge.check(down, (T0 + 119) * S)) == []
    firing = edge.check(down, (T0 + 130) * S)
    assert said(firing) == [("sink", "firing", 120)]
    assert firing[0].message == ("atelier edge: InfluxDB out of reach for 2 min (no answer "
                                 "from InfluxDB); points wait in the buffer")
    assert said(edge.check(down, (T0 + 600) * S)) == []
    edge = restarted(edge, cfg)
    # back up, InfluxDB still away: nothing written yet, nothing known, nothing said
    assert said(edge.check(status(last_write_s=None), (T0 + 700) * S)) == []
    again = status(write_failing_since_s=T0 + 701, last_write_s=None)
    assert said(edge.check(again, (T0 + 1000) * S)) == []
    assert said(edge.check(status(), (T0 + 1100) * S)) == [("sink", "resolved", 1100)]
    assert said(edge.check(status(), (T0 + 1200) * S)) == []


def test_what_ended_while_the_edge_was_down_resolves_once_it_is_back() -> None:
    cfg = config(after_min=1)
    edge = EdgeAlerts(cfg, None)
    edge.check(status(write_failing_since_s=T0), (T0 + 60) * S)
    edge = restarted(edge, cfg)
    assert said(edge.check(status(), (T0 + 3600) * S)) == [("sink", "resolved", 3600)]


def test_a_buffer_above_its_bound_and_points_dropped() -> None:
    edge = EdgeAlerts(config(above_pct=50, after_min=5), None)
    assert said(edge.check(status(buffer_depth=499), T0 * S)) == []
    assert said(edge.check(status(buffer_depth=500), (T0 + 1) * S)) == [
        ("buffer", "firing", 1)]
    dropping = status(buffer_depth=1000, buffer_full=True, buffer_dropped=20,
                      buffer_last_drop_s=T0 + 2)
    alerts = edge.check(dropping, (T0 + 3) * S)
    assert said(alerts) == [("dropped", "firing", 2)]
    assert alerts[0].message == ("atelier edge: 20 points dropped, the buffer is over its "
                                 "bound")
    calm = status(buffer_depth=100, buffer_dropped=20, buffer_last_drop_s=T0 + 2)
    assert said(edge.check(calm, (T0 + 4) * S)) == [("buffer", "resolved", 4)]
    assert said(edge.check(calm, (T0 + 301) * S)) == []
    assert said(edge.check(calm, (T0 + 302) * S)) == [("dropped", "resolved", 302)]


def test_repeat_min_tells_a_firing_alert_again() -> None:
    edge = EdgeAlerts(config(repeat_min=10), None)
    full = status(buffer_depth=900)
    times = [minute for minute in range(0, 35)
             if edge.check(full, (T0 + minute * 60) * S)]
    assert times == [0, 10, 20, 30]


@pytest.mark.parametrize(("rule", "field"), [
    ({"rule": "edge", "machines": ["m"]}, "alerts[0]: machines, kind: the edge rule watches"),
    ({"rule": "standby"}, "alerts[0]: above_w: the standby rule needs"),
    ({"rule": "toasty"}, "alerts[0].rule: Input should be 'fault'"),
    ({"rule": "fault", "machines": ["nope"]}, "alerts[0].machines"),
    ({"rule": "fault", "quiet": ["22h-7h"]}, "alerts[0].quiet: '22h-7h': expected HH:MM-HH:MM"),
    ({"rule": "fault", "notify": ["nothing-known://x"]}, "alerts[0].notify[0]"),
    ({"rule": "fault", "notify_env": ["ALERT_URL"]}, "alerts[0].notify_env[0]"),
])
def test_check_config_names_the_alert_field(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({
            "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
            "machines": [{"id": "m", "kind": "printer", "sources": [
                {"topic": "t", "profile": "json"}]}],
            "alerts": [rule]}, environ={})
    assert field in str(caught.value), str(caught.value)


def test_a_secret_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({
            "site": {"id": "s"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
            "machines": [{"id": "m", "kind": "printer", "sources": [
                {"topic": "t", "profile": "json"}]}],
            "alerts": [{"rule": "fault", "notify_env": ["ALERT_URL"]}]},
            environ={"ALERT_URL": "nothing-known://secret-token"})
    assert "alerts[0].notify_env[0]" in str(caught.value)
    assert "secret-token" not in str(caught.value)
    assert AlertRule(rule="fault").machines == ["*"]
