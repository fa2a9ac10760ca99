"""``circlemade buffer recover``: what a damaged buffer file still holds, to InfluxDB."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from circlemade.commands import Command, tool, tools
from circlemade.commands.config_file import EXIT_BAD_CONFIG, load
from contract.eventlog import setup_logging


def arguments(parser: argparse.ArgumentParser) -> None:
    recover = tool(tools(parser), "recover",
                   "write what a damaged buffer file still holds to InfluxDB", run_recover)
    recover.add_argument("file", type=Path, help="e.g. the <name>.damaged-<time> file the "
                         "service set aside")
    recover.add_argument("-c", "--config", type=Path, required=True,
                         help="the config whose InfluxDB receives the points")
    recover.add_argument("--out", type=Path, default=None,
                         help="write line protocol to this file (- stdout) instead")


def run_recover(args: argparse.Namespace) -> int:
    from edge.storage.buffer_recovery import NothingToRecover, Recovery, recovered_lines
    from edge.tools import recording

    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    recovery = Recovery()
    lines = recovered_lines(args.file, recovery)
    try:
        if args.out is None:
            setup_logging("warning")
            written = asyncio.run(recording.replay_to_influx(config, lines))
            target = f"written to {config.influx.url}: {written}"
        else:
            with (sys.stdout if str(args.out) == "-" else args.out.open("w")) as file:
                for line in lines:
                    file.write(line + "\n")
            target = f"in {args.out}"
    except (OSError, NothingToRecover) as exc:
        print(f"buffer recover: {args.file}: {exc}", file=sys.stderr)
        return 1
    print(f"buffer recover: {args.file}: {recovery.chunks_read} chunks read, "
          f"{recovery.chunks_unreadable} unreadable; {recovery.points} points; {target}",
          file=sys.stderr)
    return 0


COMMAND = Command("buffer", "the durable buffer's tools", arguments)
