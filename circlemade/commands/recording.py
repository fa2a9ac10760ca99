"""``circlemade record`` and ``circlemade replay``: every raw message to a file, and a
file through the pipeline as the service would run it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from circlemade.commands import Command
from circlemade.commands.config_file import EXIT_BAD_CONFIG, add_config, load
from contract.eventlog import setup_logging
from edge.service.heap import settle_after_start


def record_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, "; its sources are subscribed as the service does")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="the recording to write (JSON lines)")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: Ctrl-C)")


def record(args: argparse.Namespace) -> int:
    from edge.tools import recording

    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    setup_logging("warning")
    count = asyncio.run(recording.record(config, args.output, args.duration))
    print(f"recorded {count} messages to {args.output}", file=sys.stderr)
    return 0


def replay_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser)
    parser.add_argument("recording", type=Path, help="a file written by 'circlemade record'")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, default=None, help="line protocol file (- stdout)")
    target.add_argument("--influx", action="store_true", help="write to the config's InfluxDB")


def replay(args: argparse.Namespace) -> int:
    from edge.tools import recording

    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    setup_logging("warning", sys.stderr, fmt="text")  # bad input: what, where, when
    settle_after_start()
    try:
        if args.influx:
            lines = recording.Replayer(config).lines(recording.read_records(args.recording))
            count = asyncio.run(recording.replay_to_influx(config, lines))
            print(f"replayed {args.recording}: {count} points written to {config.influx.url}",
                  file=sys.stderr)
        elif args.out is None or str(args.out) == "-":
            count = recording.replay_to_file(config, args.recording, sys.stdout)
        else:
            with args.out.open("w") as out:
                count = recording.replay_to_file(config, args.recording, out)
            print(f"replayed {args.recording}: {count} lines in {args.out}", file=sys.stderr)
    except BrokenPipeError:
        raise
    except (OSError, recording.RecordingError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    return 0


COMMAND = (
    Command("record", "write every raw message to a JSON-lines file", record_arguments, record),
    Command("replay", "run a recording through the pipeline", replay_arguments, replay,
            {"description": "Decode, normalise and compute the KPIs of a recording exactly "
                            "as the service does, with the recorded times as the clock; from "
                            "an empty KPI state, as a new edge would. Alert points are "
                            "computed too; a replay never sends a notification."}),
)
