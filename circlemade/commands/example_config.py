"""``circlemade example-config``: the example config every install carries."""

from __future__ import annotations

import argparse
from importlib import resources

from circlemade.commands import Command


def arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""


def run(args: argparse.Namespace) -> int:
    print(resources.files("circlemade").joinpath("examples/workshop.toml").read_text(), end="")
    return 0


COMMAND = Command("example-config", "print the example config, every field documented",
                  arguments, run)
