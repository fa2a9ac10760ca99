"""``standby``: not running but drawing more than ``above_w`` for ``after_min`` minutes
(a machine left on: the energy and CO2e since are in the message)."""

from __future__ import annotations

from edge.pipeline.kpi.memory import MachineMemory
from edge.pipeline.kpi.rules import NS, Condition, Parameters, Rule, Watch


def left_on(rule: Parameters, m: MachineMemory, watch: Watch) -> Condition | None:
    above = rule.above_w or 0.0
    power_w = m.energy.power_w
    if m.clock.state in ("running", "unknown") or power_w is None or power_w < above:
        return None
    return Condition(watch.held_since_ns, watch.held_since_ns + int(rule.after_min * 60 * NS))


RULE = Rule("standby", left_on, {
    "en": {"firing": "{name}: not running but drawing {watts} W for {minutes} min; "
                     "{kwh} kWh since ({co2e} kg CO2e)",
           "resolved": "{name}: no longer drawing power while idle; {kwh} kWh used"},
    "fr": {"firing": "{name} : ne tourne pas mais consomme {watts} W depuis {minutes} min ; "
                     "{kwh} kWh ({co2e} kg CO2e)",
           "resolved": "{name} : ne consomme plus à l'arrêt ; {kwh} kWh utilisés"},
}, needs={"above_w": "the power it watches for"})
