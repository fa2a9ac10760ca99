"""``circlemade decode``: what the edge makes of one MQTT payload, before a config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG
from gateways.profiles import SOURCE_MODELS


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", required=True, choices=list(SOURCE_MODELS),
                        help="the payload profile of the source")
    parser.add_argument("--topic", required=True, help="the topic the payload came on")
    parser.add_argument("--machine", default=None, help="machine id when the topic has none")
    parser.add_argument("file", nargs="?", default="-", help="payload file, or - for stdin")


def run(args: argparse.Namespace) -> int:
    from edge.tools.inspect_payload import InspectError, as_json_line, decode_payload

    try:
        payload = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"decode: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        readings, warning = decode_payload(args.profile, args.topic, payload, args.machine)
    except InspectError as exc:
        print(f"decode: {exc}", file=sys.stderr)
        return 1
    for reading in readings:
        print(as_json_line(reading))
    if warning:
        print(f"decode: warning: {warning}", file=sys.stderr)
    return 0


COMMAND = Command("decode", "decode one payload, print readings as JSON", arguments, run)
