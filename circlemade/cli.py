"""The ``circlemade`` command line.

    circlemade check-config -c FILE [--offline]   validate a config; exit 0 when good, 2 when not
    circlemade example-config        print the example config, every field documented
    circlemade run -c FILE           run the edge service until SIGTERM or SIGINT
    circlemade decode --profile P --topic T [FILE|-]   what the edge makes of a payload
    circlemade probe PROFILE ENDPOINT [KEY=VALUE ...]  ask a polled device once
    circlemade simulate [--printers N --meters M --cnc K | --scenario F] --broker URL
    circlemade buffer recover FILE -c CONFIG   what a damaged buffer still holds, to InfluxDB
    circlemade demo                  simulators, local servers, service and live view
    circlemade config show -c FILE   the effective config, secrets masked

Each command is a module of circlemade/commands/, registered by its ``COMMAND``.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import version as package_version

from circlemade.commands import COMMANDS

DESCRIPTION = ("circlemade-edge: shop-floor monitoring at the edge. Reads machines and "
               "meters over MQTT and OPC UA, derives energy, material, scrap, jobs and OEE, "
               "and writes them to InfluxDB for Grafana.")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except BrokenPipeError:  # "| head" has read what it wanted: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def parser() -> argparse.ArgumentParser:
    """The command line from the commands' declarations (circlemade/commands/), also for
    tests that check a command exists without running it."""
    parser = argparse.ArgumentParser(
        prog="circlemade", description=DESCRIPTION,
        epilog="'circlemade COMMAND --help' says more about each command.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {package_version('circlemade-edge')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="what to do")
    for command in COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, **command.options)
        command.arguments(sub)
        if command.run is not None:
            sub.set_defaults(run=command.run)
    return parser


if __name__ == "__main__":
    sys.exit(main())
