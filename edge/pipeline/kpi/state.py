"""The machine's state and the clock: what the machine does, since when, and how far its
time has been accounted into the windows. Time comes from the readings, never from the
wall clock, so a replay computes exactly what the live service did."""

from __future__ import annotations

from contract.reading import Reading
from edge.pipeline.kpi.context import NS, MachineContext, Point
from edge.pipeline.kpi.lifetime import Lifetime
from edge.pipeline.kpi.memory import UNKNOWN, ClockMemory
from edge.pipeline.kpi.stops import Stops
from edge.pipeline.kpi.windows import MAX_SPAN_NS, Windows


class MachineState:
    def __init__(self, context: MachineContext, memory: ClockMemory, windows: Windows,
                 stops: Stops, lifetime: Lifetime) -> None:
        self.context, self.m, self.windows, self.stops = context, memory, windows, stops
        self.lifetime = lifetime

    def seen(self, r: Reading, out: list[Reading], points: list[Point]) -> None:
        """Every reading of the machine: the time it was last heard of, and the state it
        had before silence made it offline, back when it speaks of anything else."""
        m, t = self.m, r.time_ns
        if t > m.last_seen_ns:
            m.last_seen_ns = t
        if m.silenced is not None:
            previous, m.silenced = m.silenced, None
            if r.signal != "state":
                self.set(previous, t, points)
                out.append(Reading(self.context.site, self.context.machine.id, "state",
                                   previous, None, t))

    def on_state(self, r: Reading, out: list[Reading], points: list[Point]) -> bool:
        m = self.m
        if r.meter is not None and r.value == "offline":  # a meter gone, not the machine
            if m.state in (UNKNOWN, "offline"):
                return False  # what the machine does was never known: it stays unknown
            m.silenced = m.state  # back with the next message, as after silence
        elif r.meter is None:
            m.device_states = True
        self.set(str(r.value), r.time_ns, points)
        return True

    def from_power(self, power_w: float, t: int, out: list[Reading],
                   points: list[Point]) -> None:
        """A machine that does not say its state has the one its power thresholds say."""
        thresholds = self.context.machine.power_thresholds
        if thresholds is None or self.m.device_states:
            return
        state = ("running" if power_w >= thresholds.running_w else
                 "idle" if power_w >= thresholds.idle_w and thresholds.idle_w > 0 else
                 "stopped")
        if state != self.m.state:
            self.set(state, t, points)
            out.append(Reading(self.context.site, self.context.machine.id, "state", state,
                               None, t))

    def check_silence(self, now_ns: int, points: list[Point]) -> list[Reading]:
        """Offline after ``silence_s`` without a message (from when that passed, as far
        as time has been accounted); the state before is kept, for when the machine
        speaks again. A machine whose state was never known stays unknown."""
        m = self.m
        silence_ns = int(self.context.machine.silence_s * NS)
        if (not m.last_seen_ns or m.state in ("offline", UNKNOWN)
                or now_ns - m.last_seen_ns <= silence_ns):
            return []
        at = min(now_ns, max(m.last_seen_ns + silence_ns, m.since_ns or 0))
        m.silenced = m.state
        self.set("offline", at, points)
        return [Reading(self.context.site, self.context.machine.id, "state", "offline",
                        None, at)]

    def set(self, state: str, t: int, points: list[Point]) -> None:
        self.advance(t)
        m = self.m
        if state != m.state:
            m.prior_state, m.state_ns = m.state, t
        m.state = state
        self.stops.state_changed(state, t, points)

    def held_at(self, t: int) -> str:
        """The state held up to ``t``, whatever came at ``t``."""
        return self.m.prior_state if self.m.state_ns == t else self.m.state

    def advance(self, t: int) -> None:
        """Account the current state's time up to ``t`` into the windows it covers. A
        state that arrives after time has been accounted past it counts from there."""
        m = self.m
        if m.since_ns is None:
            m.since_ns = t
            return
        if t <= m.since_ns:
            return
        start, m.since_ns = max(m.since_ns, t - MAX_SPAN_NS, self.windows.m.settled_ns), t
        if start >= t or m.state == UNKNOWN:
            return
        self.windows.account(start, t, m.state == "running", self.stops.planned())
        self.lifetime.hours(start, t, m.state)
