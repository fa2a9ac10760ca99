"""Dotted paths into decoded JSON, compiled once: ``status.temps[0].nozzle``."""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Path = tuple[str | int, ...]


def compile_path(path: str) -> Path:
    """Split ``a.b[2].c`` into ``("a", "b", 2, "c")``; ValueError when malformed."""
    steps: list[str | int] = []
    position = 0
    for match in _STEP.finditer(path):
        gap = path[position : match.start()]
        if gap not in ("", ".") or (gap == "." and not steps):
            break
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if not steps or position != len(path):
        raise ValueError(f"malformed JSON path {path!r}; expected keys and indexes like 'a.b[0].c'")
    return tuple(steps)


_MISSING = object()


def lookup(document: Any, path: Path) -> Any:
    """The value at ``path``, or ``MISSING`` when any step is absent."""
    node = document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


MISSING = _MISSING
