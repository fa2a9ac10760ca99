"""The alert rules that watch a machine: one module each, found here by its ``RULE``
declaration, as device profiles, stores and commands are.

A rule's module holds its condition (does it hold now, since when, and when is it due),
its messages in English and French, and the parameters it needs; ``[[alerts]] rule =
"<name>"`` chooses it. Firing, resolving, repeating, quiet hours, the ``alert`` point,
the notification and the state kept across restarts are edge/pipeline/kpi/alerts.py's,
the same for every rule. (``job_done`` is an event of a job's end, ``edge`` watches
the edge itself, in edge/service/edge_alerts.py, and ``peak`` the site's grid meter, in
edge/pipeline/kpi/peak_guard.py: none is a machine's condition.)
CONTRIBUTING.md has the recipe.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from edge.pipeline.kpi.memory import MachineMemory

NS = 1_000_000_000
NOT_RUNNING = ("idle", "stopped")
"""States in which a machine stands still (neither running nor in fault)."""
EVENT_RULES = ("edge", "job_done")
"""Rules that are not a machine's condition (see above)."""
SITE_RULES = ("peak",)
"""Rules that watch the site, not a machine: ``peak``, the grid meter's running quarter
(edge/pipeline/kpi/peak_guard.py)."""
SENSOR_RULES = ("noise", "air")
"""Rules that watch sensors and name the machines around them: ``noise``
(edge/pipeline/kpi/noise_guard.py) and ``air`` (edge/pipeline/kpi/air.py)."""


class Parameters(Protocol):
    """What a rule's condition reads of its ``[[alerts]]`` entry
    (edge/pipeline/kpi/settings.py ``AlertRule``); a rule that needs another parameter
    adds it here and there."""

    @property
    def after_min(self) -> float: ...
    @property
    def above_w(self) -> float | None: ...


class Condition(NamedTuple):
    since_ns: int
    """When it began to hold."""
    due_ns: int
    """When the alert fires, if it still holds."""
    level: str = ""
    """A rule with levels (a warning, then due) fires again when the level changes,
    with the words of that level."""
    about: str = ""
    """What the message is about, as ``{about}`` (which component)."""


@dataclass(frozen=True)
class Watch:
    """What a condition may look at besides the machine's memory."""

    now_ns: int
    held_since_ns: int
    """Since when this rule's condition has held (now, the first time)."""
    planned_ns: Callable[[int, int], int]
    """Planned production time between two instants (the calendar)."""
    blocking: frozenset[str] = frozenset()
    """The machine's components whose ``block_jobs`` is set (the config)."""


@dataclass(frozen=True)
class Rule:
    name: str
    condition: Callable[[Parameters, MachineMemory, Watch], Condition | None]
    messages: dict[str, dict[str, str]]
    """Per language: ``firing`` and ``resolved`` (and one per level, for a rule with
    levels), with {name}, {since}, {minutes}, {watts}, {kwh}, {co2e} and {about} to fill
    in."""
    needs: dict[str, str] = field(default_factory=dict)
    """Parameters of ``[[alerts]]`` it cannot go without, and what each is for."""
    levels: tuple[str, ...] = ()
    """A rule with levels, from the least to the most urgent: a firing alert fires
    again when its level rises, and only takes the new level when it falls."""


def _declared() -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        rule: Rule | None = getattr(importlib.import_module(info.name), "RULE", None)
        if rule is not None:
            if rule.name in found or rule.name in (*EVENT_RULES, *SITE_RULES, *SENSOR_RULES):
                raise RuntimeError(f"alert rule {rule.name!r} declared twice")
            found[rule.name] = rule
    return dict(sorted(found.items()))


RULES = _declared()
"""Every rule that watches a machine, by name."""
RULE_NAMES = (*RULES, *EVENT_RULES, *SITE_RULES, *SENSOR_RULES)


SENSOR_NEEDS = {"air": {"above": "the value of its signal it fires above"}}
"""What the sensor rules cannot go without (the machine rules declare theirs)."""


def needs(rule: str) -> dict[str, str]:
    """The ``[[alerts]]`` parameters a rule cannot go without, and what each is for."""
    declared = RULES.get(rule)
    return declared.needs if declared is not None else SENSOR_NEEDS.get(rule, {})
