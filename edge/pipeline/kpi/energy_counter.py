"""Cumulative energy per meter that never goes backwards and never jumps.

Two sources, whichever the meter has:

- **A device counter** (``energy_kwh`` from Tasmota ``Total``, Shelly ``aenergy``...).
  The stored total starts at the counter's first value and then adds each increase.
  A decrease is a reset (power cut, firmware update): the counter restarted at 0, so the
  energy since then is the new value; with ``wrap_kwh`` known it is a wrap instead
  (``new + wrap - old``). An increase larger than ``max_power_w`` could deliver in the
  time elapsed is a replaced meter: the total re-bases on the new counter, adding nothing.
- **Power only** (``power_w``): each reading holds until the next (sample and hold),
  which is exact for the change-driven reports of OPC UA subscriptions and Sparkplug, and
  within one reporting period of a plug's periodic reports; constant power integrates
  exactly. Gaps longer than ``max_gap_s`` are not bridged (nothing is known about them).
"""

from __future__ import annotations

from dataclasses import dataclass

NS_PER_H = 3_600_000_000_000


@dataclass
class EnergyCounter:
    max_power_w: float = 30_000.0
    wrap_kwh: float | None = None
    total_kwh: float | None = None
    last_raw: float | None = None
    last_ns: int | None = None
    resets: int = 0
    rebases: int = 0

    def update(self, raw_kwh: float, time_ns: int) -> float:
        """The monotonic total after this counter reading."""
        if self.total_kwh is None or self.last_raw is None or self.last_ns is None:
            self.total_kwh, self.last_raw, self.last_ns = raw_kwh, raw_kwh, time_ns
            return raw_kwh
        if time_ns <= self.last_ns:  # a replayed or out-of-order reading adds nothing
            return self.total_kwh
        hours = (time_ns - self.last_ns) / NS_PER_H
        delta = raw_kwh - self.last_raw
        if delta < 0:
            wrapped = (raw_kwh + self.wrap_kwh - self.last_raw) if self.wrap_kwh else -1.0
            if 0 <= wrapped <= self.max_power_w / 1000 * hours:
                delta = wrapped
            else:
                delta = raw_kwh
                self.resets += 1
            if delta > self.max_power_w / 1000 * hours:
                delta = 0.0  # restarted from more than it can have used: a new meter
                self.rebases += 1
        elif delta > self.max_power_w / 1000 * hours:
            delta = 0.0
            self.rebases += 1
        self.total_kwh += delta
        self.last_raw, self.last_ns = raw_kwh, time_ns
        return self.total_kwh


@dataclass
class PowerIntegrator:
    max_gap_s: float = 3600.0
    total_kwh: float = 0.0
    last_w: float | None = None
    last_ns: int | None = None

    def update(self, power_w: float, time_ns: int) -> float:
        """The integrated total after this power reading."""
        if self.last_w is not None and self.last_ns is not None and time_ns > self.last_ns:
            seconds = (time_ns - self.last_ns) / 1e9
            if seconds <= self.max_gap_s:
                self.total_kwh += self.last_w * seconds / 3_600_000
        if self.last_ns is None or time_ns >= self.last_ns:  # at one instant, the last word
            self.last_w, self.last_ns = max(0.0, power_w), time_ns
        return self.total_kwh
