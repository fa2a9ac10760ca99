"""Alert rules, on the KPI stage's clock (the readings' times), so that ``circlemade
replay`` computes the same ``alert`` points as the live service.

Each rule on each machine has a state in the machine's KPI memory (stored with the
points): the alert fires once when its condition has held long enough and resolves
once when it no longer holds, and a restart neither fires it again nor forgets to
resolve it. ``job_done`` and ``fault`` with ``on_scrap`` are events of a job's end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from edge.config import AlertRule
from edge.kpi.memory import AlertState, EndedJob, MachineMemory

NS = 1_000_000_000
NOT_RUNNING = ("idle", "stopped")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "fault": "{name}: in fault since {since}",
        "fault/resolved": "{name}: out of fault",
        "stopped": "{name}: standing still for {minutes} min of planned time, no reason given",
        "stopped/resolved": "{name}: running again, or a reason was given",
        "standby": "{name}: not running but drawing {watts:.0f} W for {minutes} min; "
                   "{kwh:.2f} kWh since ({co2e:.2f} kg CO2e)",
        "standby/resolved": "{name}: no longer drawing power while idle; {kwh:.2f} kWh used",
        "silent": "{name}: no message for {minutes} min",
        "silent/resolved": "{name}: speaking again",
        "job_done": "{name}: {job} done ({outcome}) after {duration}; {kwh} kWh, {grams:.0f} g",
        "scrap": "{name}: {job} ended as {outcome} after {duration}; {kwh} kWh, "
                 "{grams:.0f} g to scrap",
    },
    "fr": {
        "fault": "{name} : en défaut depuis {since}",
        "fault/resolved": "{name} : sortie de défaut",
        "stopped": "{name} : à l'arrêt depuis {minutes} min de temps planifié, sans raison",
        "stopped/resolved": "{name} : repart, ou une raison a été donnée",
        "standby": "{name} : ne tourne pas mais consomme {watts:.0f} W depuis {minutes} min ; "
                   "{kwh:.2f} kWh ({co2e:.2f} kg CO2e)",
        "standby/resolved": "{name} : ne consomme plus à l'arrêt ; {kwh:.2f} kWh utilisés",
        "silent": "{name} : aucun message depuis {minutes} min",
        "silent/resolved": "{name} : parle de nouveau",
        "job_done": "{name} : {job} terminé ({outcome}) en {duration} ; {kwh} kWh, "
                    "{grams:.0f} g",
        "scrap": "{name} : {job} terminé en {outcome} après {duration} ; {kwh} kWh, "
                 "{grams:.0f} g au rebut",
    },
}


class Alert(NamedTuple):
    """An alert that fired or resolved: an ``alert`` point, and a message to send."""

    entry: int
    """Which ``[[alerts]]`` entry (its targets)."""
    rule: str
    machine: str
    state: str
    """firing, resolved, or event (a job's end)."""
    message: str
    time_ns: int


class Condition(NamedTuple):
    since_ns: int
    """When it began to hold."""
    due_ns: int
    """When the alert fires, if it still holds."""


class MachineAlerts:
    """The rules that watch one machine."""

    def __init__(self, rules: list[tuple[int, AlertRule]], name: str, language: str,
                 co2e_kg_per_kwh: float, planned_ns: Callable[[int, int], int],
                 clock: Callable[[int], str]) -> None:
        self.rules, self.name, self.co2e = rules, name, co2e_kg_per_kwh
        self.words = MESSAGES[language]
        self.planned_ns, self.clock = planned_ns, clock

    def check(self, m: MachineMemory, machine: str, now_ns: int) -> list[Alert]:
        alerts = []
        for index, rule in self.rules:
            if rule.rule == "job_done":
                continue
            state = m.alerts.setdefault(f"{index}:{rule.rule}", AlertState())
            condition = self._condition(rule, m, now_ns, state.since_ns or now_ns)
            if condition is None:
                state.since_ns = 0
                if state.firing:
                    state.firing = False
                    alerts.append(Alert(index, rule.rule, machine, "resolved",
                                        self._say(f"{rule.rule}/resolved", m, rule, state,
                                                  now_ns), now_ns))
                continue
            if not state.since_ns:
                state.since_ns, state.energy_kwh = condition.since_ns, 0.0
            if not state.firing and now_ns >= condition.due_ns:
                state.firing = True
                alerts.append(Alert(index, rule.rule, machine, "firing",
                                    self._say(rule.rule, m, rule, state, now_ns),
                                    condition.due_ns))
        return alerts

    def job_ended(self, job: EndedJob, machine: str, material: str) -> list[Alert]:
        alerts = []
        for index, rule in self.rules:
            scrap = rule.rule == "fault" and rule.on_scrap and job.outcome in ("scrap",
                                                                                "aborted")
            if rule.rule == "job_done" or scrap:
                words = self.words["scrap" if scrap else "job_done"]
                message = words.format(
                    name=self.name, job=job.name or "?", outcome=job.outcome,
                    duration=_duration((job.end_ns - job.start_ns) // NS),
                    kwh="?" if job.energy_kwh is None else f"{job.energy_kwh:.2f}",
                    grams=job.scrap_g if scrap else job.material_g) + f" {material}"
                alerts.append(Alert(index, rule.rule, machine, "event", message, job.end_ns))
        return alerts

    def _condition(self, rule: AlertRule, m: MachineMemory, now_ns: int, held_since: int,
                   ) -> Condition | None:
        """Whether the rule's condition holds now, since when, and when it is due."""
        wait = int(rule.after_min * 60 * NS)
        if rule.rule == "fault":
            since = m.state_ns or now_ns
            return Condition(since, since) if m.state == "fault" else None
        if rule.rule == "silent":
            due = m.last_seen_ns + wait
            return Condition(m.last_seen_ns, due) if m.last_seen_ns and now_ns >= due else None
        if rule.rule == "stopped":  # planned time standing still, nobody said why
            stop = m.stop
            if stop is None or m.state not in NOT_RUNNING or stop.reason != "unassigned":
                return None
            planned = self.planned_ns(stop.start_ns, now_ns)
            return Condition(stop.start_ns, now_ns if planned >= wait else now_ns + 1)
        above = rule.above_w or 0.0  # standby: drawing power while not running
        if m.state in ("running", "unknown") or m.power_w is None or m.power_w < above:
            return None
        return Condition(held_since, held_since + wait)

    def _say(self, key: str, m: MachineMemory, rule: AlertRule, state: AlertState,
             now_ns: int) -> str:
        # what the meters reported since, and what a power-only meter's held power has
        # used since its last report (reported with its next one)
        since = state.since_ns or now_ns
        held = sum(i.last_w * (now_ns - max(i.last_ns, since)) / 3.6e15
                   for i in m.integrators.values()
                   if i.last_w is not None and i.last_ns is not None and i.last_ns < now_ns)
        kwh = state.energy_kwh + held
        minutes = max(0, (now_ns - state.since_ns) // (60 * NS)) if state.since_ns else 0
        return self.words[key].format(
            name=self.name, since=self.clock(state.since_ns), minutes=minutes,
            watts=m.power_w or 0.0, kwh=kwh, co2e=kwh * self.co2e)


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"
