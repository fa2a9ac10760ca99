"""The commands of ``circlemade``: one module each, found here by its ``COMMAND``
declaration (a :class:`Command`, or a tuple of them), as the device profiles are.

To add a command, write ``circlemade/commands/<name>.py`` with its arguments, what it
runs, and ``COMMAND = Command("<name>", "<one line of help>", arguments, run)``; then its
test. Nothing else: ``circlemade --help`` and the dispatch are derived from the
declarations (CONTRIBUTING.md has the recipe).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    """Adds the command's arguments (and its sub-tools, each with ``set_defaults(run=)``)."""
    run: Callable[[argparse.Namespace], int] | None = None
    """What it does, its exit code; None when each sub-tool sets its own."""
    options: dict[str, Any] = field(default_factory=dict)
    """More of ``add_parser``'s keywords (a longer description)."""


Tools = argparse._SubParsersAction  # argparse's own name for a command's sub-parsers


def tools(parser: argparse.ArgumentParser) -> Tools[argparse.ArgumentParser]:
    """The sub-tools of a command with several (``circlemade opcua browse|make-cert``)."""
    return parser.add_subparsers(dest="tool", required=True, metavar="TOOL",
                                 help="the tool to run")


def tool(tools: Tools[argparse.ArgumentParser], name: str, help: str,
         run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """One sub-tool: its parser, which runs ``run``."""
    parser = tools.add_parser(name, help=help)
    parser.set_defaults(run=run)
    return parser


def _declared() -> dict[str, Command]:
    found: dict[str, Command] = {}
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        declared = getattr(importlib.import_module(info.name), "COMMAND", ())
        for command in declared if isinstance(declared, tuple) else (declared,):
            if command.name in found:
                raise RuntimeError(f"command {command.name!r} declared twice")
            found[command.name] = command
    return dict(sorted(found.items()))


COMMANDS = _declared()
"""Every command by name."""
