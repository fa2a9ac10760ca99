"""Stops: each stretch a machine does not run, its reason once a person tells it, and
whether that reason was planned (a break, a changeover) or lost time."""

from __future__ import annotations

from edge.pipeline.kpi.context import NS, MachineContext, Point
from edge.pipeline.kpi.memory import ClockMemory, Stop, StopsMemory
from edge.pipeline.kpi.windows import Windows

RECENT = 20
"""Ended jobs and stops kept for a verdict or a reason that comes later."""
NOT_RUNNING = frozenset({"idle", "stopped", "fault", "offline", "maintenance"})


class Stops:
    def __init__(self, context: MachineContext, memory: StopsMemory, clock: ClockMemory,
                 windows: Windows) -> None:
        self.context, self.m, self.clock, self.windows = context, memory, clock, windows

    def planned(self) -> bool:
        """The machine stands for a planned reason now."""
        stop = self.m.current
        return stop is not None and stop.reason in self.context.planned_stops

    def state_changed(self, state: str, t: int, points: list[Point]) -> None:
        """A stop begins when the machine leaves running, and ends when it runs again."""
        m = self.m
        if state in NOT_RUNNING and m.current is None:
            m.current = Stop(t, in_fault=state == "fault")
            if state == "fault":
                self._count_failure(m.current, 1)
        elif state == "fault" and m.current is not None and not m.current.failure:
            m.current.in_fault = True
            self._count_failure(m.current, 1)
        elif state == "running" and m.current is not None:
            stop, m.current = m.current, None
            stop.end_ns = max(t, stop.start_ns)
            m.ended = [*m.ended, stop][-RECENT:]
            if stop.failure:
                self._count_repair(stop, 1)
            self.write(stop, t, points)

    def _count_failure(self, stop: Stop, sign: int) -> None:
        """A failure counted (1) in the windows of its start, or no longer (-1)."""
        stop.failure = sign > 0
        for window in self.windows.at(stop.start_ns):
            window.failures += sign

    def _count_repair(self, stop: Stop, sign: int) -> None:
        assert stop.end_ns is not None
        for window in self.windows.at(stop.end_ns):
            window.repairs += sign
            window.repair_ns += sign * (stop.end_ns - stop.start_ns)

    def told(self, reason: str, by: str, begin_ns: float | None, end_ns: float,
             ) -> list[Stop]:
        """A reason for the stop in progress or the last one, or (``begin_ns``) for
        every stop that began in [begin_ns, end_ns); the stops it was given to."""
        m = self.m
        stops = [*m.ended, *([m.current] if m.current is not None else [])]
        chosen = (stops[-1:] if begin_ns is None
                  else [stop for stop in stops if begin_ns <= stop.start_ns < end_ns])
        planned_stops = self.context.planned_stops
        for stop in chosen:
            was, now = stop.reason in planned_stops, reason in planned_stops
            if was != now:
                end = stop.end_ns if stop.end_ns is not None else (self.clock.since_ns
                                                                  or stop.start_ns)
                self.windows.replan(stop.start_ns, end, 1 if now else -1)
            stop.reason, stop.by = reason, by
            failure = stop.in_fault or reason in self.context.failure_stops
            if failure != stop.failure:
                self._count_failure(stop, 1 if failure else -1)
                if stop.end_ns is not None:
                    self._count_repair(stop, 1 if failure else -1)
        return chosen

    def write(self, stop: Stop, now: int, points: list[Point]) -> None:
        """The stop's ``downtime`` point, as far as it has gone; tagged by its reason, so
        the point under a reason it no longer has is written again with nothing."""
        context = self.context
        end = stop.end_ns if stop.end_ns is not None else max(now, stop.start_ns)
        planned = stop.reason in context.planned_stops
        for old in stop.written:
            if old != stop.reason:
                points.append(Point("downtime", context.tags(("reason", old)), (
                    ("duration_s", 0.0), ("lost_s", 0.0)), stop.start_ns))
        stop.written = [stop.reason]
        points.append(Point("downtime", context.tags(("reason", stop.reason)), (
            ("duration_s", (end - stop.start_ns) / NS),
            ("lost_s", 0.0 if planned else context.calendar.planned_ns(stop.start_ns, end) / NS),
            ("planned", 1.0 if planned else 0.0), ("ongoing", 0.0 if stop.end_ns else 1.0),
            ("by", stop.by)), stop.start_ns))

    def write_ongoing(self, now: int, points: list[Point]) -> None:
        if self.m.current is not None:
            self.write(self.m.current, now, points)
