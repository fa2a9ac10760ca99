"""``circlemade status -c FILE``: what the running service's sources and stores do; exit 1
when something needs a person (edge/service/status.py)."""

from __future__ import annotations

import argparse

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load


def arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, " (only its buffer path is read)")


def run(args: argparse.Namespace) -> int:
    from edge.service.status import read_status, status_path

    config = load(args.config, secrets=False)  # reads files only: no secrets needed
    if config is None:
        return EXIT_BAD_CONFIG
    code, lines = read_status(status_path(config.buffer_path()), config.health_interval_s,
                              config.status)
    print("\n".join(lines))
    return code


COMMAND = Command("status", "what the running service's sources do", arguments, run)
