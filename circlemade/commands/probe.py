"""``circlemade probe``: ask a polled device once, before a config (edge/tools/probe.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG
from contract.eventlog import setup_logging


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("profile", help="a polled profile: prusalink, mtconnect, sdm630, ...")
    parser.add_argument("endpoint", help="as in the config, e.g. http://192.0.2.30 or "
                                         "modbus+tcp://192.0.2.40:502")
    parser.add_argument("settings", nargs="*", metavar="KEY=VALUE",
                        help='the profile\'s other keys as in the config: unit=2, '
                             'api_key_env="PRUSA_KEY"')
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")


def run(args: argparse.Namespace) -> int:
    from edge.tools.inspect_payload import as_json_line
    from edge.tools.probe import ProbeError, probe, source_of

    try:
        source = source_of(args.profile, args.endpoint, args.settings)
    except ProbeError as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    setup_logging("warning", sys.stderr, fmt="text")  # what the device answered instead
    found = asyncio.run(probe(source, args.timeout))
    print(f"{args.profile} at {args.endpoint}: {len(found.answers)} answer(s)")
    for key, value in found.answers:
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        print(f"  {key}: {shown[:300]}" + (" ..." if len(shown) > 300 else ""))
    print(f"what the {args.profile} profile makes of it: {len(found.readings)} reading(s)")
    for reading in found.readings:
        print("  " + as_json_line(reading))
    if found.failed:
        print(f"probe: no usable answer from {args.endpoint} within {args.timeout:g} s "
              "(the warnings above say what the device did)", file=sys.stderr)
        return 1
    return 0


COMMAND = Command("probe", "ask a polled device once: what came back, what its profile "
                           "makes of it", arguments, run)
