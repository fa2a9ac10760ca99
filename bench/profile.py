"""Where the service's CPU goes while it drains the throughput workload: py-spy on it.

The same drain as bench/throughput.py (the workload published while the service is away,
then taken from its persistent session); py-spy samples the service from its MQTT
connection to its stop, and each sample is counted once, at the innermost of the places
below it passed through. Idle time is left out. The event loop's thread does all the
work but the buffer's SQLite calls, so its shares say where the throughput goes.

    scripts/profile-ingest [--qos 1] [--messages 60000] [--keep FILE]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import throughput
from bench.harness import Process, servers_running
from bench.workload import Workshop

PLACES = [
    ("paho: reading packets", ("loop_read (", "_packet_read (", "_handle_publish (")),
    ("paho: writing packets", ("loop_write (", "_packet_write (", "_packet_queue (")),
    ("PUBLISH fast path", ("mqtt_publish.py", "_take_publishes (")),
    ("hand-over to the pipeline", ("_deliver (", "_on_message (gateways")),
    ("payload decoding", ("gateways/profiles",)),
    ("KPI stage", ("edge/pipeline/kpi/",)),
    ("checks and canonical units", ("canonical (edge/pipeline/normalise",)),
    ("line protocol of readings", ("encode (edge/pipeline/normalise",)),
    ("line protocol of KPI points", ("point_lines (", "derived (edge")),
    ("ingest loop", ("edge/pipeline/ingest.py",)),
    ("SQLite buffer", ("edge/storage/buffer.py",)),
    ("sink and HTTP", ("edge/storage/sink.py", "influx_write", "aiohttp")),
]
IDLE = ("select (selectors", "epoll", "_worker (concurrent")


BUFFER_THREAD = "the buffer's thread: SQLite, and its commits waiting on fsync"
"""py-spy cannot tell a commit's fsync wait from work: the thread's samples are shown
apart from the event loop's, whose thread is the one that bounds the throughput."""


def place(stack: list[str]) -> str | None:
    """The innermost named place of a sample, "event loop, other" for the rest of the
    loop's work, None for what is not the service at work."""
    if any(idle in stack[-1] for idle in IDLE):
        return None
    if not any("run_forever" in f for f in stack):
        # the buffer's thread at work, or start-up and threads between tasks
        return BUFFER_THREAD if any("edge/storage/buffer.py" in f for f in stack) else None
    for frame in reversed(stack):
        for name, marks in PLACES:
            if any(mark in frame for mark in marks):
                return name
    return "event loop, other"


def shares(raw: Path) -> tuple[Counter[str], int]:
    """Samples per place in a py-spy ``--format raw`` file, and their total."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        where = place(stack.split(";"))
        if where is not None:
            counts[where] += int(count)
    return counts, sum(counts.values())


def profile(qos: int, messages: int, out: Path) -> throughput.Drain:
    """One drain of circlemade-edge with py-spy attached once it is connected."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("py-spy is not installed: scripts/profile-ingest installs it")
    started: list[subprocess.Popen[bytes]] = []

    def attach(process: Process) -> None:
        started.append(subprocess.Popen(
            [py_spy, "record", "--nonblocking", "--format", "raw", "--rate", "250",
             "--output", str(out), "--pid", str(process.popen.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    workshop = Workshop(50)
    with servers_running() as servers:
        drain = throughput.drain_once(servers, throughput.Case("circlemade-edge", qos,
                                                               "InfluxDB 1.x"),
                                      workshop, messages, 1, on_connected=attach)
    for spy in started:
        spy.wait(60)  # it writes its file once the service has stopped
    return drain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--qos", type=int, default=1, choices=[0, 1])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw samples here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="circlemade-profile-") as work:
        raw = args.keep or Path(work) / "samples.txt"
        drain = profile(args.qos, args.messages, raw)
        counts, total = shares(raw)
    print(f"QoS {args.qos}, {args.messages:,} messages drained in {drain.seconds:.1f} s "
          f"under py-spy ({args.messages / drain.seconds:,.0f} msg/s), {total} samples")
    loop = total - counts[BUFFER_THREAD]
    print("| in the event loop's thread | share of its samples |\n|---|---|")
    for name, count in counts.most_common():
        if name != BUFFER_THREAD:
            print(f"| {name} | {100 * count / max(loop, 1):.0f} % |")
    print(f"\n{BUFFER_THREAD}: {counts[BUFFER_THREAD]} samples beside the loop's {loop}")


if __name__ == "__main__":
    main()
