"""The dashboards' InfluxQL, said again in PromQL (MetricsQL) for VictoriaMetrics: one
set of panels, two query languages, the same figures (docs/cluster.md).

Only the InfluxQL the generators write is understood (``SELECT agg("field") ... FROM
"m" WHERE <tags> AND $timeFilter GROUP BY time(..), <tags>``); anything else raises, so a
new panel cannot leave the VictoriaMetrics dashboards behind in silence. Line protocol
lands in VictoriaMetrics as ``<measurement>_<field>`` with the tags as labels, and the
edge writes string fields as labels of ``<measurement>__text`` (docs/schema.md).

Each InfluxQL item becomes one PromQL target:

- a mean is a sum over a count (never a mean of means), a sum, count or maximum the
  same over time and then across series, ``last`` the last of each series;
- a window of ``GROUP BY time(w)`` looks ahead (``offset -w``), so a value stands at
  the start of its window as InfluxDB's does; without one, the panel's whole range
  (an instant query);
- a column of raw points (tables) is the range vector itself, every point as written;
- a string field is the label of that name on ``<measurement>__text``, or its number
  where the schema has one (``state_code``, which the panels map back to the name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contract.errors import CirclemadeError
from contract.schema import MEASUREMENTS

TEXT = "__text"
_QUERY = re.compile(
    r'SELECT (?P<items>.+?) FROM "(?P<m>\w+)" WHERE (?P<where>.+?)(?: AND)? \$timeFilter'
    r"(?: GROUP BY (?P<group>.+?))?(?: fill\(\w+\))?$")
_AGGREGATE = re.compile(r'^(?P<fn>\w+)\("(?P<f>\w+)"\)(?: AS "(?P<alias>[^"]+)")?$')
_RATIO = re.compile(r'^sum\("(?P<a>\w+)"\) / sum\("(?P<b>\w+)"\) AS "(?P<alias>[^"]+)"$')
_DIFFERENCE = re.compile(r'^non_negative_difference\(max\("(?P<f>\w+)"\)\)$')
_RAW = re.compile(r'^"(?P<f>\w+)"$')
_CONDITIONS = (
    (re.compile(r'^"(\w+)" =~ /\^\$(\w+)\$/$'), '{0}=~"${1}"'),
    (re.compile(r'^"(\w+)" =~ /\.\*/$'), ""),
    (re.compile(r"^\"(\w+)\" = '([^']*)'$"), '{0}="{1}"'),
    (re.compile(r"^\"(\w+)\" != '([^']*)'$"), '{0}!="{1}"'),
    (re.compile(r'^"(\w+)" > (-?[\d.]+)$'), ""),  # a field's presence: its own series
)
_TAG_VALUES = re.compile(r'^SHOW TAG VALUES FROM "(?P<m>\w+)" WITH KEY = "(?P<k>\w+)"'
                         r"(?: WHERE (?P<where>.+))?$")
_OVER_TIME = {"sum": "sum", "count": "count", "max": "max", "last": "last", "min": "min"}
_ACROSS = {"sum": "sum", "count": "sum", "max": "max", "last": "max", "min": "min"}


class Untranslatable(CirclemadeError, ValueError):
    """InfluxQL the translator does not know: teach it, or write the panel differently."""


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str
    instant: bool
    """Over the panel's whole range (InfluxQL without ``GROUP BY time``)."""
    step: str = ""
    """A fixed window (``time(15m)``): the step of the range query."""
    raw: bool = False
    """Every point as written (a table's rows)."""


def translate(query: str, alias: str = "") -> list[Target]:
    """The PromQL targets of one InfluxQL query, an item each."""
    found = _QUERY.match(query)
    if found is None:
        raise Untranslatable(f"not InfluxQL of the dashboards: {query}")
    measurement, where = found["m"], _labels(found["where"])
    tags, window = _grouping(found["group"] or "")
    items = _split(found["items"])
    return [_item(item, measurement, where, tags, window, alias, len(items) > 1)
            for item in items]


def label_values(query: str) -> str:
    """A template variable's query: ``SHOW TAG VALUES`` as ``label_values()``."""
    found = _TAG_VALUES.match(query)
    if found is None:
        raise Untranslatable(f"not a tag-values query: {query}")
    where = _labels(found["where"] or "")
    return f'label_values({{__name__=~"{found["m"]}_.+"{"," + where if where else ""}}}, ' \
           f'{found["k"]})'


def text_series(query: str) -> tuple[str, list[str]]:
    """An annotation's query: the ``__text`` series of its measurement (the words of each
    point are its labels), and the words asked for."""
    found = _QUERY.match(query)
    if found is None:
        raise Untranslatable(f"not InfluxQL of the dashboards: {query}")
    where = _labels(found["where"])
    words = [raw["f"] for item in _split(found["items"]) if (raw := _RAW.match(item))]
    return f'{found["m"]}{TEXT}{{{where}}}', words


def _item(item: str, measurement: str, where: str, tags: list[str], window: str,
          alias: str, several: bool) -> Target:
    by = f" by ({', '.join(tags)})" if tags else ""
    span = window or "$__range"
    ahead = f" offset -{window}" if window else ""
    legend = _legend(alias, tags)

    def over(fn: str, field: str) -> str:
        return f"{fn}_over_time({_selector(measurement, field, where)}[{span}]{ahead})"

    if ratio := _RATIO.match(item):
        expr = (f"sum{by} ({over('sum', ratio['a'])}) / "
                f"sum{by} ({over('sum', ratio['b'])})")
        return _target(expr, legend.replace("$col", ratio["alias"]) or ratio["alias"], window)
    if difference := _DIFFERENCE.match(item):
        expr = (f"sum{by} (increase({_selector(measurement, difference['f'], where)}"
                f"[{span}]{ahead}))")
        return _target(expr, legend or difference["f"], window)
    if raw := _RAW.match(item):
        field = raw["f"]
        if _is_text(measurement, field):
            return Target(f"{_selector(measurement, field, where)}[$__range]",
                          "{{" + field + "}}", instant=True, raw=True)
        return Target(f"{_selector(measurement, field, where)}[$__range]", field,
                      instant=True, raw=True)
    aggregate = _AGGREGATE.match(item)
    if aggregate is None:
        raise Untranslatable(f"an item the translator does not know: {item}")
    fn, field, name = aggregate["fn"], aggregate["f"], aggregate["alias"] or ""
    if _is_text(measurement, field) and _has(measurement, f"{field}_code"):
        field = f"{field}_code"  # a state's number, mapped back to its name by the panel
    if _is_text(measurement, field):  # the words are labels: the last of each series
        labels = [*tags, field]
        expr = f"max by ({', '.join(labels)}) ({over('last', field)})"
        return _target(expr, " ".join("{{" + t + "}}" for t in labels), window)
    if fn == "mean":
        expr = f"sum{by} ({over('sum', field)}) / sum{by} ({over('count', field)})"
    elif fn in _OVER_TIME:
        expr = f"{_ACROSS[fn]}{by} ({over(_OVER_TIME[fn], field)})"
    else:
        raise Untranslatable(f"an aggregate the translator does not know: {fn}")
    if "$col" in alias:
        shown = legend.replace("$col", name or field)
    else:
        shown = f"{legend} {name or field}".strip() if several else legend
    return _target(expr, shown or name or field, window)


def _target(expr: str, legend: str, window: str) -> Target:
    fixed = window if window and not window.startswith("$") else ""
    return Target(expr, legend, instant=not window, step=fixed)


def _legend(alias: str, tags: list[str]) -> str:
    """InfluxDB's alias patterns (``$tag_site``) as Grafana's legend for Prometheus."""
    if alias:
        return re.sub(r"\$tag_(\w+)", r"{{\1}}", alias)
    return " ".join("{{" + t + "}}" for t in tags)


def _selector(measurement: str, field: str, where: str) -> str:
    if _is_text(measurement, field):
        return f'{measurement}{TEXT}{{{where}{", " if where else ""}{field}!=""}}'
    return f"{measurement}_{field}{{{where}}}"


def _is_text(measurement: str, field: str) -> bool:
    spec = MEASUREMENTS.get(measurement)
    if spec is None or field not in spec.fields:
        raise Untranslatable(f"{measurement}.{field} is not in the schema")
    return spec.fields[field].type == "string"


def _has(measurement: str, field: str) -> bool:
    return field in MEASUREMENTS[measurement].fields


def _labels(where: str) -> str:
    matchers = []
    for condition in where.split(" AND ") if where else []:
        for pattern, form in _CONDITIONS:
            if found := pattern.match(condition.strip()):
                if form:
                    matchers.append(form.format(*found.groups()))
                break
        else:
            raise Untranslatable(f"a condition the translator does not know: {condition}")
    return ", ".join(matchers)


def _grouping(group: str) -> tuple[list[str], str]:
    tags, window = [], ""
    for part in _split(group):
        if time := re.fullmatch(r"time\(([^)]+)\)", part):
            window = time[1]
        else:
            tags.append(part.strip('"'))
    return tags, window


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(", ")] if text else []
