"""A config's problems, in words a person can act on: the file, the dotted field path
(``machines[2].sources[0].topic``), what was expected and, unless a secret may stand
there, the value given."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract.errors import ConfigProblem
from contract.model import (
    COUNTRY_PATTERN,
    CPC_PATTERN,
    IDENTIFIER_PATTERN,
    SHARD_PATTERN,
    TOPIC_LEVELS_PATTERN,
)
from contract.secrets import SECRET_KEYS
from gateways.profiles import PROFILE_NAMES


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        got = f" (got {self.value})" if self.value is not None else ""
        return f"{self.path}: {self.message}{got}" if self.path else f"{self.message}{got}"


class ConfigError(ConfigProblem):
    """A config that must not start the service; ``str()`` lists every problem."""

    def __init__(self, file: Path | str, problems: list[Problem]) -> None:
        self.file = str(file)
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.file}: {p}" for p in self.problems]
        return "\n".join(lines)


def literal_secrets(node: Any, path: str) -> Iterator[Problem]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key.lower() in SECRET_KEYS:
                yield Problem(here, f"secrets must not be written in the config file; name an "
                                    f"environment variable ({key}_env) or a file ({key}_file)")
            else:
                yield from literal_secrets(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from literal_secrets(item, f"{path}[{index}]")


_FRIENDLY = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (check the spelling against "
                       "'circlemade example-config')",
}
PATTERN_WORDS = {
    IDENTIFIER_PATTERN: "an id: letters, digits, '_', '.' and '-', starting with a letter or "
                        "digit, at most 64",
    COUNTRY_PATTERN: "two capital letters (ISO 3166), like BE",
    CPC_PATTERN: "a UN CPC code of up to 5 digits, like 369",
    SHARD_PATTERN: "this shard of all: like 1/2",
    TOPIC_LEVELS_PATTERN: "topic levels of letters, digits, '_', '.' and '-', like circlemade",
}
"""What each pattern of the config asks for, in words (pydantic would print the regex)."""


def problem_of(error: Mapping[str, Any]) -> Problem:
    loc = error["loc"]
    # A source's loc carries the profile tag pydantic chose (sources, 0, "json", "fields");
    # the person wrote no such key, so it is left out of the path.
    loc = tuple(step for i, step in enumerate(loc)
                if not (step in PROFILE_NAMES and i > 0 and isinstance(loc[i - 1], int)))
    path = _dotted(loc)
    message = _FRIENDLY.get(error["type"], error["msg"])
    if error["type"] == "string_pattern_mismatch":
        message = "expected " + PATTERN_WORDS.get(error["ctx"]["pattern"], "another form")
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path += ".profile"
        message = f"unknown payload profile; expected one of: {', '.join(PROFILE_NAMES)}"
        value = error.get("ctx", {}).get("tag")
        return Problem(path, message, repr(value) if error["type"] == "union_tag_invalid" else None)
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    value = error.get("input")
    shown = None
    if _secret_place(loc):
        pass  # what stands where a secret belongs is never printed
    elif error["type"] not in ("missing", "url_credentials") and isinstance(
            value, str | int | float | bool):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return Problem(path, message, shown)


def _secret_place(loc: tuple[str | int, ...]) -> bool:
    """A key that holds a secret, or names where one is (``*_env``, ``*_file``)."""
    key = next((str(step).lower() for step in reversed(loc) if isinstance(step, str)), "")
    return key in SECRET_KEYS or key.endswith(("_env", "_file")) or any(
        word in key for word in SECRET_KEYS if len(word) > 3)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text
