"""Alert rules, on the KPI stage's clock (the readings' times), so that ``circlemade
replay`` computes the same ``alert`` points as the live service.

Each rule on each machine has a state in the machine's KPI memory (stored with the
points): the alert fires once when its condition has held long enough (and again every
``repeat_min`` if asked) and resolves once when it no longer holds, and a restart
neither fires it again nor forgets to resolve it. ``job_done`` and ``fault`` with
``on_scrap`` are events of a job's end. The edge's own trouble is watched in
edge/service/edge_alerts.py with the same states and words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from edge.pipeline.kpi.memory import AlertState, EndedJob, MachineMemory
from edge.pipeline.kpi.rules import NS, RULES, Condition, Watch
from edge.pipeline.kpi.settings import AlertRule
from edge.pipeline.settings import Machine

BASE_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "job": "{name}: {noun} {job} {outcome}{progress} after {duration}{figures}.",
        "job/progress": " at {pct} %",
        "job/scrap": " to scrap",
        "edge/buffer": "{name}: buffer {pct} % full, {depth} points waiting",
        "edge/buffer/resolved": "{name}: buffer down to {pct} %",
        "edge/sink": "{name}: InfluxDB out of reach for {minutes} min ({error}); "
                     "points wait in the buffer",
        "edge/sink/resolved": "{name}: InfluxDB reachable again",
        "edge/dropped": "{name}: {count} points dropped, the buffer is over its bound",
        "edge/dropped/resolved": "{name}: no points dropped for {minutes} min",
    },
    "fr": {
        "job": "{name} : {noun} {job}, {outcome}{progress} après {duration}{figures}.",
        "job/progress": " à {pct} %",
        "job/scrap": " au rebut",
        "edge/buffer": "{name} : tampon plein à {pct} %, {depth} points en attente",
        "edge/buffer/resolved": "{name} : tampon redescendu à {pct} %",
        "edge/sink": "{name} : InfluxDB injoignable depuis {minutes} min ({error}) ; "
                     "les points attendent dans le tampon",
        "edge/sink/resolved": "{name} : InfluxDB joignable de nouveau",
        "edge/dropped": "{name} : {count} points abandonnés, le tampon dépasse sa limite",
        "edge/dropped/resolved": "{name} : aucun point abandonné depuis {minutes} min",
    },
}
MESSAGES: dict[str, dict[str, str]] = {
    language: {**words, **{
        key: text for rule in RULES.values() for went, text in rule.messages[language].items()
        for key in [rule.name if went == "firing" else f"{rule.name}/{went}"]}}
    for language, words in BASE_MESSAGES.items()}
"""Every alert's words: the rules' own (rules/), a job's end and the edge's."""
NOUNS = {"en": {"printer": "print", "cnc": "program"},
         "fr": {"printer": "impression", "cnc": "programme", "laser": "découpe"}}
OTHER_NOUN = {"en": "job", "fr": "travail"}
OUTCOMES = {"en": {"good": "done", "scrap": "failed", "aborted": "aborted",
                   "unknown": "ended"},
            "fr": {"good": "réussite", "scrap": "échec", "aborted": "abandon",
                   "unknown": "fin"}}
SEPARATOR = {"en": "; ", "fr": " ; "}


class Alert(NamedTuple):
    """An alert that fired or resolved: an ``alert`` point, and a message to send."""

    entry: int
    """Which ``[[alerts]]`` entry (its targets)."""
    rule: str
    machine: str
    """The machine's id; empty for the edge's own alerts."""
    state: str
    """firing, resolved, or event (a job's end)."""
    message: str
    time_ns: int
    check: str = ""
    """What the edge rule found: buffer, sink or dropped."""


def step(state: AlertState, condition: Condition | None, rule: AlertRule, now_ns: int,
         ) -> tuple[str, int] | None:
    """Where an alert goes as time passes: ("firing", when) once its condition has held
    long enough and again every ``repeat_min``, ("resolved", now) once it no longer
    holds, None in between. The state is what a restart resumes from."""
    if condition is None:
        state.since_ns = 0
        if state.firing:
            state.firing = False
            return "resolved", now_ns
        return None
    if not state.since_ns:
        state.since_ns, state.energy_kwh = condition.since_ns, 0.0
    if not state.firing:
        if now_ns < condition.due_ns:
            return None
        state.firing, state.told_ns = True, condition.due_ns
        return "firing", condition.due_ns
    repeat = int((rule.repeat_min or 0) * 60 * NS)
    if repeat and now_ns >= state.told_ns + repeat:
        state.told_ns = now_ns
        return "firing", now_ns
    return None


def label(machine: Machine) -> str:
    """How a message names a machine: its id, and its name when it has one."""
    return f"{machine.id} ({machine.name})" if machine.name and machine.name != machine.id \
        else machine.id


def number(value: float, digits: int, language: str) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "fr" else text


class MachineAlerts:
    """The rules that watch one machine."""

    def __init__(self, rules: list[tuple[int, AlertRule]], machine: Machine, language: str,
                 co2e_kg_per_kwh: float, planned_ns: Callable[[int, int], int],
                 clock: Callable[[int], str]) -> None:
        self.rules, self.machine, self.co2e = rules, machine, co2e_kg_per_kwh
        self.name, self.language, self.words = label(machine), language, MESSAGES[language]
        self.planned_ns, self.clock = planned_ns, clock
        self.blocking = frozenset(c.name for c in machine.components if c.block_jobs)

    def check(self, m: MachineMemory, now_ns: int) -> list[Alert]:
        alerts = []
        for index, rule in self.rules:
            if rule.rule not in RULES:  # job_done: an event of a job's end
                continue
            state = m.alerts.setdefault(f"{index}:{rule.rule}", AlertState())
            condition = self._condition(rule, m, now_ns, state.since_ns or now_ns)
            if condition is not None and state.firing and condition.level != state.level:
                levels = RULES[rule.rule].levels
                if levels.index(condition.level) > levels.index(state.level):
                    state.firing, state.since_ns = False, 0  # a higher level fires again
                else:
                    state.level = condition.level
            moved = step(state, condition, rule, now_ns)
            if moved is not None:
                went, at = moved
                level = condition.level if condition is not None else ""
                state.level = level if went == "firing" else ""
                key = (f"{rule.rule}/resolved" if went == "resolved" else
                       f"{rule.rule}/{level}" if level else rule.rule)
                about = condition.about if condition is not None else ""
                alerts.append(Alert(index, rule.rule, self.machine.id, went,
                                    self._say(key, m, state, now_ns, about), at))
        return alerts

    def job_ended(self, job: EndedJob, material: str) -> list[Alert]:
        alerts = []
        for index, rule in self.rules:
            scrap = rule.rule == "fault" and rule.on_scrap and job.outcome in ("scrap",
                                                                                "aborted")
            if rule.rule == "job_done" or scrap:
                alerts.append(Alert(index, rule.rule, self.machine.id, "event",
                                    self._job(job, material), job.end_ns))
        return alerts

    def _job(self, job: EndedJob, material: str) -> str:
        """E.g. "printer-2 (Prusa MK4): print bracket_v3 failed at 63 % after 1 h 12 min;
        0.09 kWh, 18 g PETG to scrap."."""
        words, language = self.words, self.language
        failed = job.outcome in ("scrap", "aborted")
        progress = "" if job.progress_pct is None or not failed else words[
            "job/progress"].format(pct=number(job.progress_pct, 0, language))
        figures = []
        if job.energy_kwh is not None:
            figures.append(f"{number(job.energy_kwh, 2, language)} kWh")
        grams = job.scrap_g if failed else job.material_g
        if grams > 0:
            figures.append(f"{number(grams, 0, language)} g {material}".rstrip()
                           + (words["job/scrap"] if failed else ""))
        return words["job"].format(
            name=self.name, noun=NOUNS[language].get(self.machine.kind, OTHER_NOUN[language]),
            job=job.name or "?", outcome=OUTCOMES[language].get(job.outcome, job.outcome),
            progress=progress, duration=duration((job.end_ns - job.start_ns) // NS),
            figures=SEPARATOR[language] + ", ".join(figures) if figures else "")

    def _condition(self, rule: AlertRule, m: MachineMemory, now_ns: int, held_since: int,
                   ) -> Condition | None:
        """Whether the rule's condition holds now, since when, and when it is due."""
        return RULES[rule.rule].condition(rule, m, Watch(now_ns, held_since, self.planned_ns,
                                                         self.blocking))

    def _say(self, key: str, m: MachineMemory, state: AlertState, now_ns: int,
             about: str = "") -> str:
        # what the meters reported since, and what a power-only meter's held power has
        # used since its last report (reported with its next one)
        since = state.since_ns or now_ns
        held = sum(i.last_w * (now_ns - max(i.last_ns, since)) / 3.6e15
                   for i in m.energy.integrators.values()
                   if i.last_w is not None and i.last_ns is not None and i.last_ns < now_ns)
        kwh = state.energy_kwh + held
        minutes = max(0, (now_ns - state.since_ns) // (60 * NS)) if state.since_ns else 0
        language = self.language
        return self.words[key].format(
            name=self.name, since=self.clock(state.since_ns), minutes=minutes,
            watts=number(m.energy.power_w or 0.0, 0, language), kwh=number(kwh, 2, language),
            co2e=number(kwh * self.co2e, 2, language), about=about)


def duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"
