"""The live service ticks a thousand machines a part at a time (edge/service/wiring.py):
the parts together must be the whole tick, each machine once."""

from __future__ import annotations

from contract.reading import Reading
from edge.pipeline.kpi.context import Point
from edge.pipeline.kpi.engine import KpiEngine
from edge.service.config import parse_config
from edge.service.wiring import tick_parts

NS = 10**9
T0 = 1_792_400_000


def engine(machines: int) -> KpiEngine:
    engine = KpiEngine(parse_config({
        "site": {"id": "s", "timezone": "Europe/Brussels"},
        "influx": {"api": "v1", "url": "http://a:1"},
        "machines": [{"id": f"m{i}", "kind": "printer",
                      "sources": [{"topic": f"t{i}", "profile": "json"}]}
                     for i in range(machines)]}))
    engine.process([Reading("s", f"m{i}", "state", "running", None, T0 * NS)
                    for i in range(machines)])
    engine.take_state()
    return engine


def key(point: Point) -> tuple[object, ...]:
    return point.measurement, point.tags, point.fields, point.time_ns


def test_the_parts_of_a_tick_are_the_whole_tick() -> None:
    now = (T0 + 600) * NS
    whole, parted = engine(7), engine(7)
    drafts: list[Point] = []
    _, points = whole.tick(now, drafts)
    whole_state = whole.take_state()
    part_points: list[Point] = []
    part_drafts: list[Point] = []
    touched: list[str] = []
    for k in range(3):
        _, made = parted.tick(now, part_drafts, (k, 3))
        part_points += made
        touched += parted.take_state()
    assert sorted(touched) == sorted(whole_state) == [f"m{i}" for i in range(7)]
    assert sorted(map(key, part_drafts)) == sorted(map(key, drafts))
    assert len(drafts) >= 7  # every machine's open windows, as far as they go
    assert sorted(map(key, part_points)) == sorted(map(key, points))


def test_a_workshop_is_ticked_whole_and_a_thousand_machines_in_ten_parts() -> None:
    assert [tick_parts(n) for n in (1, 12, 100, 101, 450, 1000, 5000)] == [
        1, 1, 1, 2, 5, 10, 10]
