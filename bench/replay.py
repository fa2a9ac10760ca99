"""Replay speed: a recorded simulated workshop through ``circlemade replay``'s pipeline
(decode, normalise, KPIs, line protocol), output discarded. Prints the figures.

    .venv/bin/python bench/replay.py [--machines 20] [--hours 24] [--step 1]

With the defaults the recording is a 20-machine day, about 1.7 million messages (10
printers, half Bambu, half OctoPrint, each behind a plug, one message per device and
second); generating it takes a while and a few hundred MB in a temporary directory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from edge.config import parse_config
from edge.recording import Replayer, read_records
from simulators.fleet import Fleet, PrinterSpec, Scenario
from simulators.recorded_shift import fleet_recording

START = int(datetime(2026, 11, 23, 5, 0, tzinfo=UTC).timestamp())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=20, help="printers and their plugs")
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--step", type=int, default=1, help="seconds between messages")
    args = parser.parse_args()
    printers = args.machines // 2
    scenario = Scenario.from_counts(printers, printers, 0, seed=5)
    scenario = scenario.model_copy(update={"printers": [
        PrinterSpec(id=p.id, format="bambu" if i % 2 else "octoprint")
        for i, p in enumerate(scenario.printers)]})
    fleet = Fleet(scenario)
    config = parse_config({"site": {"id": "bench"},
                           "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
                           "machines": fleet.machines_config()})
    with tempfile.TemporaryDirectory(prefix="circlemade-replay-bench-") as folder:
        path = Path(folder) / "day.jsonl"
        started = time.perf_counter()
        lines = fleet_recording(fleet, START, args.hours, args.step)
        path.write_bytes(b"\n".join(lines) + b"\n")
        count = len(lines)
        del lines
        print(f"recording: {count:,} messages, {path.stat().st_size / 1e6:,.0f} MB, made in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        points = sum(1 for _ in Replayer(config).lines(read_records(path)))
        seconds = time.perf_counter() - started
    print(f"replay: {count:,} messages -> {points:,} lines in {seconds:.1f} s: "
          f"{count / seconds:,.0f} msg/s ({args.machines} devices, {args.hours:g} h)")


if __name__ == "__main__":
    main()
