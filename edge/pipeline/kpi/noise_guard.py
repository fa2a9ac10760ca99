"""The ``noise`` alert (docs/alerts.md): a sound sensor's sliding hour within
``margin_db`` of the running period's limit fires, naming the machines running at that
moment, and resolves when it falls back; a period that ends above its limit is told
once, as an event. The states are the sensor's, kept with its memory."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from edge.pipeline.kpi.alerts import Alert, label, number, step
from edge.pipeline.kpi.memory import AlertState, PeriodNoise
from edge.pipeline.kpi.noise import Noise, level
from edge.pipeline.kpi.rules import Condition
from edge.pipeline.kpi.settings import AlertRule
from edge.pipeline.settings import Machine

WORDS = {
    "en": {"firing": "{name}: the last hour at {db} dB(A), within {margin} dB of the "
                     "{period} limit of {limit} dB(A); running now: {machines}",
           "resolved": "{name}: the last hour back to {db} dB(A), under the {period} limit "
                       "of {limit} dB(A) less {margin} dB",
           "ended": "{name}: the {period} period ({start}-{end}) ended at {db} dB(A), above "
                    "its limit of {limit} dB(A); {minutes} minutes over",
           "nobody": "no machine"},
    "fr": {"firing": "{name} : la dernière heure à {db} dB(A), à moins de {margin} dB de la "
                     "limite de {period} de {limit} dB(A) ; en marche : {machines}",
           "resolved": "{name} : la dernière heure redescendue à {db} dB(A), sous la limite "
                       "de {period} de {limit} dB(A) moins {margin} dB",
           "ended": "{name} : la période {period} ({start}-{end}) a fini à {db} dB(A), "
                    "au-dessus de sa limite de {limit} dB(A) ; {minutes} minutes au-dessus",
           "nobody": "aucune machine"},
}


class NoiseGuard:
    def __init__(self, rules: list[tuple[int, AlertRule]], language: str,
                 running: Callable[[], list[str]], clock: Callable[[int], str]) -> None:
        """``running``: how a message names each machine running now; ``clock``: local
        HH:MM of an instant."""
        self.rules, self.language, self.words = rules, language, WORDS[language]
        self.running, self.clock = running, clock

    def check(self, sensor: Machine, noise: Noise, states: dict[str, AlertState],
              ended: list[PeriodNoise], now_ns: int) -> list[Alert]:
        """``states``: the sensor's alert states (its memory's); ``ended``: its periods
        that ended since the last check."""
        alerts = []
        hour, period = noise.sliding_hour(now_ns), noise.period_at(now_ns)
        for entry, rule in self.rules:
            if not rule.selects(sensor):
                continue
            state = states.setdefault(f"{entry}:noise", AlertState())
            near = hour is not None and period is not None and \
                hour >= period.limit_db - rule.margin_db
            since = state.since_ns or now_ns
            moved = step(state, Condition(since, since) if near else None, rule, now_ns)
            if state.firing and period is not None:  # the limit it is now held against
                state.level, state.threshold = period.name, period.limit_db
            if moved is not None:
                went, at = moved
                limit = PeriodNoise(state.level, 0, 0, state.threshold)
                alerts.append(Alert(entry, "noise", sensor.id, went,
                                    self._say(went, sensor, hour, limit, rule), at))
            alerts += [Alert(entry, "noise", sensor.id, "event",
                             self._ended(sensor, over), over.end_ns)
                       for over in self._over(ended)]
        return alerts

    def _over(self, ended: Iterable[PeriodNoise]) -> list[PeriodNoise]:
        return [p for p in ended if p.seconds and level(p.energy_s, p.seconds) > p.limit_db]

    def _say(self, went: str, sensor: Machine, hour: float | None, period: PeriodNoise,
             rule: AlertRule) -> str:
        n = self._n
        return self.words[went].format(
            name=label(sensor), db="-" if hour is None else n(hour), margin=n(rule.margin_db),
            period=period.name, limit=n(period.limit_db),
            machines=", ".join(self.running()) or self.words["nobody"])

    def _ended(self, sensor: Machine, period: PeriodNoise) -> str:
        n = self._n
        return self.words["ended"].format(
            name=label(sensor), period=period.name, start=self.clock(period.start_ns),
            end=self.clock(period.end_ns), db=n(level(period.energy_s, period.seconds)),
            limit=n(period.limit_db), minutes=period.minutes_over)

    def _n(self, db: float) -> str:
        return number(db, 1, self.language)

