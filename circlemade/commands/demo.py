"""``circlemade demo``: simulators, local servers, the service and a live view, with
nothing configured (circlemade/demo.py)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from circlemade.commands import Command


def arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--data-dir", type=Path, default=None,
        help="Mosquitto, InfluxDB, buffer and log (default ~/.local/share/circlemade/demo)")
    add("--duration", type=float, default=None, help="stop after this many seconds")
    add("--speed", type=float, default=10.0, help="simulated seconds per second")
    add("--broker", default=None,
        help="use this broker (mqtt://HOST:PORT) instead of starting Mosquitto")
    add("--influx", default=None,
        help="use this InfluxDB 1.x (http://HOST:PORT) instead of starting one")
    add("--clean", action="store_true",
        help="start from an empty data directory instead of reusing it")


def run(args: argparse.Namespace) -> int:
    from circlemade.demo import default_data_dir, run_demo
    from simulators.simulate_command import parse_broker

    data_dir = args.data_dir or default_data_dir()
    if args.clean and data_dir.exists():
        shutil.rmtree(data_dir)
    try:
        broker = parse_broker(args.broker) if args.broker else None
        return run_demo(data_dir, args.duration, args.speed, broker, args.influx)
    except KeyboardInterrupt:
        return 130


COMMAND = Command("demo", "the whole trip on this machine, nothing configured", arguments, run)
