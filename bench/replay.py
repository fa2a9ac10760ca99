"""Replay speed: a recorded simulated workshop through ``circlemade replay`` (decode,
normalise, KPIs, line protocol into a file), timed from the command's start to its end.

    .venv/bin/python -m bench.replay [--machines 20] [--hours 24] [--step 1]

With the defaults the recording is a 20-device day, about 2 million messages: 10 Bambu
printers (X1 full reports, P1 partial ones) each behind a plug (Tasmota, Shelly Gen2,
Shelly Gen1), every device reporting each second (Tasmota adds a STATE message every
tenth, Shelly Gen1 a topic per value). OctoPrint, at three messages a second, would
make it 2.8 million. Generating it takes a while and a few hundred MB of /tmp.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from bench.harness import REPO
from simulators.fleet import Fleet, PrinterSpec, Scenario
from simulators.recorded_shift import fleet_recording

START = int(datetime(2026, 11, 23, 5, 0, tzinfo=UTC).timestamp())


def run(machines: int, hours: float, step: int, progress: Callable[[str], None] = print,
        ) -> dict[str, Any]:
    printers = machines // 2
    scenario = Scenario.from_counts(printers, printers, 0, seed=5)
    scenario = scenario.model_copy(update={"printers": [
        PrinterSpec(id=p.id, format="bambu" if i % 2 else "bambu_p1")
        for i, p in enumerate(scenario.printers)]})
    fleet = Fleet(scenario)
    with tempfile.TemporaryDirectory(prefix="circlemade-replay-bench-") as folder:
        config = Path(folder) / "edge.toml"
        config.write_text(tomli_w.dumps({
            "site": {"id": "bench"}, "influx": {"api": "v1", "url": "http://127.0.0.1:9"},
            "machines": fleet.machines_config()}))
        path = Path(folder) / "day.jsonl"
        started = time.perf_counter()
        lines = fleet_recording(fleet, START, hours, step)
        path.write_bytes(b"\n".join(lines) + b"\n")
        count = len(lines)
        del lines
        progress(f"  replay: recording of {count:,} messages "
                 f"({path.stat().st_size / 1e6:,.0f} MB) made in "
                 f"{time.perf_counter() - started:.1f} s; replaying it")
        out = Path(folder) / "day.lp"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "circlemade.cli", "replay", "-c", str(config),
                        str(path), "--out", str(out)], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        with out.open("rb") as file:
            points = sum(1 for _ in file)
    return {"machines": machines, "hours": hours, "messages": count, "points": points,
            "seconds": seconds, "msg_per_s": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machines", type=int, default=20, help="printers and their plugs")
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--step", type=int, default=1, help="seconds between messages")
    args = parser.parse_args()
    print(json.dumps(run(args.machines, args.hours, args.step)))


if __name__ == "__main__":
    main()
