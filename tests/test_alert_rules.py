"""The alert rules' registry (edge/pipeline/kpi/rules/): each rule is one module with its
condition and its words in both languages, and the config takes exactly the rules there
are (the standby rule is the recipe's example in CONTRIBUTING.md)."""

from __future__ import annotations

import pytest

from edge.pipeline.kpi.alerts import MESSAGES
from edge.pipeline.kpi.rules import RULE_NAMES, RULES, SITE_RULES
from edge.pipeline.kpi.rules import needs as rule_needs
from edge.service.config import parse_config
from edge.service.config_problems import ConfigError

WORDS = {"name": "x1c", "since": "09:15", "minutes": 12, "watts": "80", "kwh": "0.02",
         "co2e": "0.00", "about": "hotend"}


def test_every_rule_speaks_both_languages_with_the_words_it_is_given() -> None:
    assert set(RULES) == {"fault", "maintenance_due", "silent", "standby", "stopped"}
    for rule in RULES.values():
        for language in ("en", "fr"):
            for went in ("firing", "resolved", *rule.levels):
                text = rule.messages[language][went].format(**WORDS)
                assert text.startswith("x1c"), (rule.name, language, went)
            assert MESSAGES[language][rule.name] == rule.messages[language]["firing"]


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_the_config_takes_each_rule_with_what_it_needs(rule: str) -> None:
    base = {"site": {"id": "s"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
            "machines": [{"id": "m", "kind": "printer", "sources": [
                {"topic": "t", "profile": "json"}]}]}
    needs = rule_needs(rule)
    if needs:
        with pytest.raises(ConfigError, match=f"{next(iter(needs))}: the {rule} rule needs"):
            parse_config({**base, "alerts": [{"rule": rule}]}, environ={})
    entry = {"rule": rule, **{name: 50.0 for name in needs}}
    if rule in SITE_RULES:
        with pytest.raises(ConfigError, match=f"the {rule} rule watches the grid meter"):
            parse_config({**base, "alerts": [entry]}, environ={})
        base = {**base, "site": {"id": "s", "grid_meter": "g"}, "machines": [
            *base["machines"], {"id": "g", "kind": "meter", "sources": [
                {"topic": "g", "profile": "json"}]}]}
    assert parse_config({**base, "alerts": [entry]}, environ={}).alerts[0].rule == rule
