"""The hour, shift and day windows of one machine: what each holds, and writing them.

A window is written when it ends, and written again, complete, whenever something that
arrives later still changes it (up to ``KEEP_NS`` after its end): InfluxDB keeps the last
write of a series and time, so every write must be the whole window, never the late part.
"""

from __future__ import annotations

from edge.pipeline.kpi.context import NS, Figures, MachineContext, Point
from edge.pipeline.kpi.memory import WindowsMemory
from edge.pipeline.kpi.oee import WindowTotals

WINDOW_KINDS = ("hour", "shift", "day")
MAX_SPAN_NS = 7 * 86400 * NS
"""The longest stretch of time one reading may account into windows: the live service
advances every machine each health interval, so only a reading after a long silence (or
a clock jump) spans more; the older part is left out rather than walked hour by hour."""
KEEP_NS = 86400 * NS
"""How long after its end a window still takes what comes late (a reading delayed, a
meter's report that covers the time before, a person's verdict the next morning) and is
written again. What comes later than that is left out of the windows (it still counts
for the energy series and the job)."""


class Windows:
    def __init__(self, context: MachineContext, memory: WindowsMemory) -> None:
        self.context, self.m = context, memory
        self._written: dict[tuple[str, int], tuple[Figures, ...]] = {}
        """What was last written of each ended window, so that it is written again only
        when a late reading changed it."""

    def end_moved_shifts(self, accounted_ns: int | None) -> None:
        """The config wins over the memory for the shifts' ends: a shift moved since the
        window opened ends where the calendar now says; one the calendar no longer has
        ends where time had come."""
        calendar = self.context.calendar
        for start, window in self.m.open.get("shift", {}).items():
            ends = [e for _, s, e in calendar.shifts_between(start, start + 1) if s == start]
            window.end_ns = ends[0] if ends else max(start + 1, min(window.end_ns,
                                                                    accounted_ns or start))

    def account(self, start: int, t: int, running: bool, planned_stop: bool) -> None:
        """The state's time over [start, t): run time if running, planned downtime if
        stopped for a planned reason."""
        planned_ns = self.context.calendar.planned_ns
        for kind in WINDOW_KINDS:
            for window, a, b in self.covering(kind, start, t):
                window.stated = True
                if running:
                    window.run_ns += planned_ns(a, b)
                elif planned_stop:
                    window.planned_down_ns += planned_ns(a, b)

    def replan(self, start: int, end: int, sign: int) -> None:
        """A stop over [start, end) turned planned (``sign`` 1) or unplanned (-1): its
        time moves into or out of the planned downtime of the windows it covered."""
        for kind in WINDOW_KINDS:
            for window, a, b in self.covering(kind, start, end):
                window.planned_down_ns += sign * self.context.calendar.planned_ns(a, b)

    def covering(self, kind: str, a: int, b: int) -> list[tuple[WindowTotals, int, int]]:
        """The windows of ``kind`` over [a, b) and the part of it in each; windows
        already settled are not made again."""
        calendar = self.context.calendar
        if kind == "shift":
            spans = [(s, e) for _, s, e in calendar.shifts_between(a, b)]
        else:
            spans, cursor = [], a
            while cursor < b:
                span = calendar.hour_of(cursor) if kind == "hour" else calendar.day_of(cursor)
                spans.append(span)
                cursor = span[1]
        windows = self.m.open.get(kind)
        if windows is None:
            windows = self.m.open[kind] = {}
        pieces = []
        for s, e in spans:
            if e <= self.m.settled_ns:
                continue
            window = windows.get(s)
            if window is None:
                window = windows[s] = WindowTotals(kind, s, e)
            pieces.append((window, max(a, s), min(b, e)))
        return pieces

    def at(self, t: int) -> list[WindowTotals]:
        """The windows that hold instant ``t``."""
        return [w for kind in WINDOW_KINDS for w, _, _ in self.covering(kind, t, t + 1)
                if w.start_ns <= t < w.end_ns]

    def shares(self, since: int | None, t: int) -> list[tuple[WindowTotals, float]]:
        """The windows over [since, t) with the share of that span in each (the windows
        at ``t`` whole when there is no span)."""
        span = t - since if since is not None and since < t else 0
        if not span:
            return [(window, 1.0) for window in self.at(t)]
        a = max(t - span, t - MAX_SPAN_NS, self.m.settled_ns)
        return [(window, (e - b) / span) for kind in WINDOW_KINDS
                for window, b, e in self.covering(kind, a, t)] if a < t else []

    def close(self, now: int, points: list[Point], drafts: list[Point] | None = None,
              ) -> None:
        """Write the windows that ended before ``now`` and those a late reading changed
        since (into ``drafts`` the open ones too, as far as they go); forget those that
        ended more than ``KEEP_NS`` ago."""
        m = self.m
        settled = max(m.settled_ns, now - KEEP_NS)
        for windows in m.open.values():
            for start in sorted(windows):
                window = windows[start]
                if window.end_ns <= now:
                    self._write(window, now, points)
                elif drafts is not None:
                    self._write(window, now, drafts)
                if window.end_ns <= settled:
                    del windows[start]
                    self._written.pop((window.kind, start), None)
        m.settled_ns = settled

    def _write(self, window: WindowTotals, now: int, points: list[Point]) -> None:
        # an open window counts its planned time only as far as it has gone; planned
        # stops are not planned busy time
        context = self.context
        planned = max(0, context.calendar.planned_ns(window.start_ns, min(window.end_ns, now))
                      - window.planned_down_ns)
        oee: Figures = tuple(window.factors(planned).items()) if planned and window.stated else ()
        circularity: Figures = (tuple(window.circularity().items())
                                if planned or window.has_content() else ())
        hourly = tuple(sorted(window.meters.items()))
        reliability: Figures = tuple(window.reliability().items())
        if window.end_ns <= now:
            key = (window.kind, window.start_ns)
            if self._written.get(key) == (oee, circularity, hourly, reliability):
                return
            self._written[key] = (oee, circularity, hourly, reliability)
        tags = context.tags(("window", window.kind))
        if oee:
            points.append(Point("oee", tags, oee, window.start_ns))
        if circularity:
            points.append(Point("circularity", tags, circularity, window.start_ns))
        if reliability:
            points.append(Point("reliability", tags, reliability, window.start_ns))
        for meter, kwh in hourly:  # what a central store needs instead of raw energy points
            points.append(Point("energy_hourly", context.tags(("meter", meter)),
                                (("energy_kwh", kwh),), window.start_ns))
