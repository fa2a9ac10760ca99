"""InfluxDB line protocol, written by hand because it is the hot path.

Every numeric field is written as a float (no ``i`` suffix) at this one choke point:
InfluxDB rejects a whole batch when a field changes between integer and float, a failure
peers keep hitting. Non-finite numbers are refused here, never sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from contract.errors import BadInput

_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n"})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n"})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": r"\n"})


DRAFT = "#draft "
"""Before a line a store's queue holds as a draft (an open window as far as it has gone,
which its final write replaces), for a store that keeps one sample per point only if told
which to rank lowest (VictoriaMetrics). ``#`` starts a comment in line protocol."""


class LineProtocolError(BadInput):
    """A value that cannot be stored (non-finite number, empty tag, no fields)."""


def escape_key(text: str) -> str:
    """Escape a tag key, tag value or field key."""
    return text.translate(_KEY_ESCAPES)


def format_value(value: float | int | bool | str) -> str:
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    number = float(value)
    if not math.isfinite(number):
        raise LineProtocolError(f"non-finite value {value!r}")
    return repr(number)


def series_key(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """``measurement,tag=v,...``: tags sorted by key, as InfluxDB recommends for write
    performance; empty tag values dropped (InfluxDB does not store them). Callers in the
    hot path cache it per series."""
    head = measurement.translate(_MEASUREMENT_ESCAPES)
    for key, value in sorted(tags):
        if value:
            head += "," + escape_key(key) + "=" + escape_key(value)
    return head


def encode_fields(fields: Iterable[tuple[str, float | int | bool | str]]) -> str:
    return ",".join(escape_key(key) + "=" + format_value(value) for key, value in fields)


def encode(
    measurement: str,
    tags: Iterable[tuple[str, str]],
    fields: Iterable[tuple[str, float | int | bool | str]],
    time_ns: int,
) -> str:
    """One line: ``measurement,tag=v field=1.0,other="x" 1700000000000000000``."""
    body = encode_fields(fields)
    if not body:
        raise LineProtocolError(f"point of {measurement!r} has no fields")
    return f"{series_key(measurement, tags)} {body} {int(time_ns)}"


Fields = dict[str, float | str]


@dataclass(frozen=True)
class Line:
    measurement: str
    tags: dict[str, str]
    fields: Fields
    time_ns: int


_TOKEN = re.compile(r'(?:[^\s"\\]|\\.|"(?:[^"\\]|\\.)*")+')
_PAIR = re.compile(r'((?:[^,=\\]|\\.)+)=((?:"(?:[^"\\]|\\.)*")|(?:[^,\\]|\\.)*)')


def parse(line: str) -> Line:
    """One line of line protocol (as the edge writes it: float fields, string fields)."""
    head, body, stamp = _TOKEN.findall(line)
    measurement, _, tag_text = head.partition(",")
    tags = dict(_PAIR.findall(tag_text)) if tag_text else {}
    fields: Fields = {}
    for key, value in _PAIR.findall(body):
        fields[key] = value[1:-1] if value.startswith('"') else float(value)
    return Line(measurement, tags, fields, int(stamp))


def last_writes(lines: list[Line]) -> dict[tuple[str, tuple[tuple[str, str], ...], int], Fields]:
    """What InfluxDB keeps: per series and time the last write (its fields merged)."""
    kept: dict[tuple[str, tuple[tuple[str, str], ...], int], Fields] = {}
    for line in lines:
        key = (line.measurement, tuple(sorted(line.tags.items())), line.time_ns)
        kept[key] = {**kept.get(key, {}), **line.fields}
    return kept
