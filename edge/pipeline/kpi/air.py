"""The air at the machines (docs/metrics.md, neighbours): each air sensor's values held
until the next (sample and hold) and averaged over time; a job's emission fingerprint,
the rise of each of ``AIR_SIGNALS`` at the sensor beside its machine (its mean during the
job less its mean in the ``baseline_min`` before); each day's hours whose mean was above
the WHO PM2.5 guideline and the VOC limit; and the ``air`` alert, a sensor's value above
a threshold for ``after_min``. A value holds at most ``MAX_HOLD_S``."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from contract.neighbour_points import AIR_SIGNALS
from edge.pipeline.kpi.air_memory import AirMemory, JobAir, SensorAir
from edge.pipeline.kpi.alerts import Alert, label, number, step
from edge.pipeline.kpi.context import NS, Point
from edge.pipeline.kpi.memory import AlertState
from edge.pipeline.kpi.neighbour_settings import NeighbourSettings
from edge.pipeline.kpi.quarters import clock_start, day_start
from edge.pipeline.kpi.rules import Condition
from edge.pipeline.kpi.settings import AlertRule
from edge.pipeline.settings import Machine

AIR_READINGS = ("pm1_ugm3", "pm2_5_ugm3", "pm10_ugm3", "particles_03_per_dl", "voc_index",
                "nox_index", "co2_ppm")
"""What an air sensor reads (its fingerprints, hours over and the air alert)."""
MAX_HOLD_S = 900
HOUR_NS = 3600 * NS
DAILY = {"pm2_5_ugm3": "pm2_5_hours_over", "voc_index": "voc_hours_over"}
WORDS = {"en": "{name}: {signal} at {value} for {minutes} min, above {above}; running "
               "now: {machines}",
         "fr": "{name} : {signal} à {value} depuis {minutes} min, au-dessus de {above} ; en "
               "marche : {machines}"}
RESOLVED = {"en": "{name}: {signal} back to {value}, under {above}",
            "fr": "{name} : {signal} redescendu à {value}, sous {above}"}


class Air:
    def __init__(self, memory: AirMemory, site: str, timezone: str,
                 settings: NeighbourSettings, sensors: list[Machine]) -> None:
        self.m, self.site, self.zone, self.settings = memory, site, ZoneInfo(timezone), settings
        self.sensors = {s.id: s for s in sensors}
        self.beside = {s.location: s.id for s in sensors if s.location}
        """Machine -> the sensor that stands beside it."""
        self.changed = False

    def reading(self, sensor: str, signal: str, value: float, t: int,
                points: list[Point]) -> None:
        self.changed = True
        s = self.m.sensors.setdefault(sensor, SensorAir())
        last = s.last.get(signal)
        if last is not None and 0 < t - last[1] <= MAX_HOLD_S * NS:
            self._held(sensor, s, signal, last[0], last[1], t, points)
        keep = t - int(self.settings.baseline_min * 60 * NS)
        recent = [*s.recent.get(signal, []), (t, value)]
        first = max((i for i, (at, _) in enumerate(recent) if at <= keep), default=0)
        s.recent[signal] = recent[first:]  # and the one before the window: it holds into it
        s.last[signal] = (value, t)

    def job_started(self, machine: str, t: int) -> None:
        sensor = self.m.sensors.get(self.beside.get(machine, ""))
        if sensor is None:
            return
        self.changed = True
        since = t - int(self.settings.baseline_min * 60 * NS)
        baseline = {signal: mean for signal in AIR_SIGNALS
                    for mean in [_mean(sensor.recent.get(signal, []), since, t)]
                    if mean is not None}
        self.m.jobs[machine] = JobAir(t, baseline)

    def job_ended(self, machine: str, start: int, end: int) -> dict[str, float]:
        """The job's fingerprint: each signal's rise (none without a sensor beside)."""
        job = self.m.jobs.pop(machine, None)
        sensor = self.m.sensors.get(self.beside.get(machine, ""))
        if job is None or job.start_ns != start or sensor is None:
            return {}
        self.changed = True
        for signal, (value, at) in sensor.last.items():  # held from its last reading
            if signal in job.baseline and end - at <= MAX_HOLD_S * NS:
                _add(job.sums, signal, value, max(at, start), end)
        return {f"{signal}_rise": sums[0] / sums[1] - job.baseline[signal]
                for signal, sums in sorted(job.sums.items()) if sums[1]}

    def tick(self, now: int, points: list[Point]) -> None:
        """An hour no reading can reach any more is closed."""
        for sensor, s in self.m.sensors.items():
            if s.hour_ns and now >= s.hour_ns + HOUR_NS + MAX_HOLD_S * NS:
                self._close_hour(sensor, s, points)

    def check(self, rules: list[tuple[int, AlertRule]], now: int, language: str,
              running: Callable[[], list[str]]) -> list[Alert]:
        alerts = []
        for entry, rule in rules:
            for sensor, s in self.m.sensors.items():
                machine = self.sensors.get(sensor)
                if machine is None or not rule.selects(machine) or rule.above is None:
                    continue
                state = self.m.alerts.setdefault(f"{entry}:{sensor}", AlertState())
                last = s.last.get(rule.signal)
                above = last is not None and last[0] >= rule.above
                since = state.since_ns or (last[1] if last is not None else now)
                due = since + int(rule.after_min * 60 * NS)
                moved = step(state, Condition(since, due) if above else None, rule, now)
                if moved is not None and last is not None:
                    self.changed = True
                    alerts.append(Alert(entry, "air", sensor, moved[0], self._say(
                        moved[0], machine, rule, last[0], moved[1] - since, language,
                        running), moved[1]))
        return alerts

    def _say(self, went: str, machine: Machine, rule: AlertRule, value: float,
             held_ns: int, language: str, running: Callable[[], list[str]]) -> str:
        words = (WORDS if went == "firing" else RESOLVED)[language]
        return words.format(name=label(machine), signal=rule.signal,
                            value=number(value, 1, language), minutes=held_ns // (60 * NS),
                            above=number(rule.above or 0.0, 1, language),
                            machines=", ".join(running()) or "-")

    def _held(self, sensor: str, s: SensorAir, signal: str, value: float, since: int, t: int,
              points: list[Point]) -> None:
        """``value`` held over [since, t): to the open hours and the jobs beside."""
        at = since
        while at < t:
            hour = clock_start(at, self.zone, HOUR_NS)
            if hour != s.hour_ns:
                self._close_hour(sensor, s, points)
                s.hour_ns = hour
            until = min(hour + HOUR_NS, t)
            _add(s.hour, signal, value, at, until)
            at = until
        for machine, job in self.m.jobs.items():
            if self.beside.get(machine) == sensor and signal in job.baseline:
                _add(job.sums, signal, value, max(since, job.start_ns), t)

    def _close_hour(self, sensor: str, s: SensorAir, points: list[Point]) -> None:
        hour, s.hour = s.hour, {}
        if not s.hour_ns or not hour:
            return
        day = day_start(s.hour_ns, self.zone)
        if day != s.day_ns:
            s.day_ns, s.day = day, {}
        limits = {"pm2_5_ugm3": self.settings.pm2_5_guideline_ugm3,
                  "voc_index": self.settings.voc_index_max}
        for signal, (total, seconds) in hour.items():
            if signal in DAILY and seconds:
                s.day[DAILY[signal]] = s.day.get(DAILY[signal], 0.0) + (
                    total / seconds > limits[signal])
                s.day[f"{signal}:sum"] = s.day.get(f"{signal}:sum", 0.0) + total
                s.day[f"{signal}:s"] = s.day.get(f"{signal}:s", 0.0) + seconds
        fields: list[tuple[str, float | str]] = [
            (name, s.day.get(name, 0.0)) for name in DAILY.values()]
        fields += [(signal, s.day[f"{signal}:sum"] / s.day[f"{signal}:s"]) for signal in DAILY
                   if s.day.get(f"{signal}:s")]
        points.append(Point("air", (("site", self.site), ("machine", sensor), ("kind", "sensor"),
                                    ("window", "day")), tuple(fields), s.day_ns))


def _add(sums: dict[str, list[float]], signal: str, value: float, since: int, t: int) -> None:
    if t > since:
        total = sums.setdefault(signal, [0.0, 0.0])
        total[0] += value * (t - since) / NS
        total[1] += (t - since) / NS


def _mean(readings: list[tuple[int, float]], since: int, t: int) -> float | None:
    """The time mean over [since, t) of readings each held until the next."""
    sums: dict[str, list[float]] = {}
    for (at, value), after in zip(readings, [*readings[1:], (t, 0.0)], strict=False):
        end = min(after[0], t, at + MAX_HOLD_S * NS)
        _add(sums, "", value, max(at, since), end)
    total = sums.get("")
    return total[0] / total[1] if total and total[1] else None
