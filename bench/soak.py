"""Soak: hours at a workshop's rate with a fault every few minutes, counting every point.

A publisher sends sequence-numbered readings (``--rate`` messages/s over 20 machines) to a
real Mosquitto; circlemade-edge writes them through a fault proxy to a real InfluxDB 1.x.
Every ``--fault-every-min`` one fault, in turn:

- broker restart (Mosquitto stopped and started; it keeps the edge's session on disk)
- InfluxDB restart
- InfluxDB refusing the credentials (HTTP 401) for a minute
- edge SIGKILL, then started again
- the buffer's disk full for a minute (a filler file on a small tmpfs; needs root,
  skipped with a note otherwise)

At the end it counts, per sequence number, what InfluxDB holds (lost = published and
not stored) and what InfluxDB accepted more than once (duplicated: written again after a
restart or a retry; idempotent, the same series and time, so stored once), and samples
the edge's RSS every ten seconds.

    .venv/bin/python -m bench.soak                          # the full two hours
    .venv/bin/python -m bench.soak --minutes 20 --fault-every-min 2
    .venv/bin/python -m bench.soak --chart-from result.json --chart soak.png
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import tomli_w

from bench.harness import Process
from bench.process_stats import rss_mb
from simulators import local_servers
from simulators.fault_proxy import Fault, FaultProxy
from simulators.mqtt_publisher import Publisher
from simulators.sequence_count import stored_sequence

FAULTS = ("broker restart", "InfluxDB restart", "InfluxDB 401 for 60 s", "edge SIGKILL",
          "disk full for 60 s")
MACHINES = 20
SEQ = re.compile(rb"^telemetry,[^ ]* layer=([0-9.]+)", re.MULTILINE)


class Soak:
    def __init__(self, root: Path, rate: float, progress: Callable[[str], None]) -> None:
        self.root, self.rate, self.progress = root, rate, progress
        self.mqtt = local_servers.mosquitto(root / "mqtt").start()
        self.influx = local_servers.influxdb1(root / "influx").start()
        self.accepted: Counter[int] = Counter()
        self.proxy = FaultProxy(self.influx.url, accepted=self._count)
        self.disk = root / "disk"
        self.disk_mounted = _mount_tmpfs(self.disk, "64m")
        state = self.disk if self.disk_mounted else root / "state"
        self.config = root / "edge.toml"
        self.config.write_text(tomli_w.dumps({
            "site": {"id": "soak"}, "health_interval_s": 5,
            "brokers": [{"port": self.mqtt.port, "client_id": "soak-edge",
                         "reconnect_max_s": 5}],
            "influx": {"api": "v1", "url": self.proxy.url, "database": "soak",
                       "retry_max_s": 5},
            "buffer": {"path": str(state / "buffer.sqlite"), "min_free_bytes": 1_000_000},
            "machines": [{"id": f"m{i}", "kind": "printer", "sources": [{
                "topic": f"soak/m{i}", "profile": "json",
                "time": {"path": "ts", "format": "unix_ms"},
                "fields": [{"path": "seq", "signal": "layer"}]}]} for i in range(MACHINES)],
        }))
        self.earlier_lines: list[str] = []
        """The log of edges killed before the current one."""
        self.edge = self._start_edge()
        self.sent = 0
        self._stop = threading.Event()
        self._publisher = threading.Thread(target=self._publish, daemon=True)

    def _count(self, body: bytes) -> None:
        for found in SEQ.finditer(body):
            self.accepted[int(float(found[1]))] += 1

    def _start_edge(self) -> Process:
        edge = Process([sys.executable, "-m", "circlemade.cli", "run", "-c", str(self.config)],
                       lambda line: '"mqtt.connected"' in line)
        edge.wait_connected()
        return edge

    def _publish(self) -> None:
        publisher = Publisher("127.0.0.1", self.mqtt.port, "soak-publisher")
        publisher.wait_connected()
        started = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            while self.sent < due:
                seq = self.sent
                publisher.publish(f"soak/m{seq % MACHINES}",
                                  orjson.dumps({"seq": seq, "ts": int(time.time() * 1000)}))
                self.sent += 1
            time.sleep(0.01)
        publisher.close(timeout_s=300)

    def fault(self, name: str) -> None:
        if name == "broker restart":
            self.mqtt.stop()
            time.sleep(5)
            self.mqtt.start()
        elif name == "InfluxDB restart":
            self.influx.stop()
            time.sleep(5)
            self.influx.start()
        elif name == "InfluxDB 401 for 60 s":
            self.proxy.fault = Fault(status=401)
            time.sleep(60)
            self.proxy.fault = Fault()
        elif name == "edge SIGKILL":
            self.edge.popen.send_signal(signal.SIGKILL)
            self.edge.popen.wait()
            self.earlier_lines += self.edge.lines
            time.sleep(5)
            self.edge = self._start_edge()
        elif self.disk_mounted:
            filler = self.disk / "filler"
            free = shutil.disk_usage(self.disk).free
            with filler.open("wb") as file:
                file.write(b"\0" * max(0, free - 200_000))
            time.sleep(60)
            filler.unlink()
        else:
            self.progress("  (disk full skipped: mounting a tmpfs needs root)")

    def run(self, minutes: float, every_min: float) -> dict[str, Any]:
        self._publisher.start()
        started = time.monotonic()
        rss: list[tuple[float, float]] = []
        faults: list[dict[str, Any]] = []
        next_fault, turn = every_min * 60, 0
        while (elapsed := time.monotonic() - started) < minutes * 60:
            rss.append((round(elapsed), rss_mb(self.edge.popen.pid)))
            if elapsed >= next_fault:
                name = FAULTS[turn % len(FAULTS)]
                self.progress(f"  soak: {elapsed / 60:5.1f} of {minutes:g} min: {name} "
                              f"(sent {self.sent:,}, RSS {rss[-1][1]:.0f} MB)")
                self.fault(name)
                faults.append({"at_min": round(elapsed / 60, 1), "fault": name})
                turn += 1
                next_fault += every_min * 60
            time.sleep(10 - (time.monotonic() - started) % 10)
        self._stop.set()
        self._publisher.join()
        self.progress(f"  soak: publishing ended ({self.sent:,} messages); draining")
        stored = self._wait_stored()
        self.edge.stop()
        duplicated = sum(n - 1 for n in self.accepted.values() if n > 1)
        return {"minutes": minutes, "fault_every_min": every_min, "rate": self.rate,
                "published": self.sent, "stored": len(stored),
                "lost": self.sent - len(stored & set(range(self.sent))),
                "duplicated_writes": duplicated,
                "rss_max_mb": max(mb for _, mb in rss), "rss_end_mb": rss[-1][1],
                "faults": faults, "rss": rss,
                "warnings_and_errors": _events(self.earlier_lines + self.edge.lines)}

    def _wait_stored(self, timeout_s: float = 600) -> set[int]:
        deadline = time.monotonic() + timeout_s
        while True:
            stored = asyncio.run(stored_sequence(self.influx.url, "soak"))
            if len(stored) >= self.sent or time.monotonic() > deadline:
                return stored
            time.sleep(5)

    def close(self) -> None:
        self.proxy.close()
        for server in (self.mqtt, self.influx):
            server.stop()
        if self.disk_mounted:
            subprocess.run(["umount", "-l", str(self.disk)], check=False)


def _events(lines: list[str]) -> dict[str, int]:
    """How often the edge logged each warning and error event."""
    counted: Counter[str] = Counter()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
            counted[f"{entry['level']} {entry.get('event')}"] += 1
    return dict(counted)


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True).returncode == 0


def chart(result: dict[str, Any], path: Path) -> None:
    """RSS over the run, a line at each fault, the counts in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4))
    seconds, mb = zip(*result["rss"], strict=True)
    ax.plot([s / 60 for s in seconds], mb, color="#2e7d32")
    for fault in result["faults"]:
        ax.axvline(fault["at_min"], color="#b71c1c", linestyle=":", linewidth=1)
        ax.text(fault["at_min"], max(mb) * 1.02, fault["fault"], rotation=90, fontsize=7,
                va="bottom", ha="right", color="#b71c1c")
    ax.set_ylim(0, max(mb) * 1.6)
    ax.set_xlabel("minutes")
    ax.set_ylabel("edge RSS, MB")
    ax.set_title(f"soak: {result['published']:,} published at {result['rate']:g} msg/s, "
                 f"{result['lost']:,} lost, {result['duplicated_writes']:,} written twice; "
                 f"{len(result['faults'])} faults (dotted)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--fault-every-min", type=float, default=10)
    parser.add_argument("--rate", type=float, default=50, help="messages/s")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    parser.add_argument("--chart", type=Path, default=None,
                        help="draw RSS and faults into this PNG (needs matplotlib)")
    parser.add_argument("--chart-from", type=Path, default=None,
                        help="only draw the chart, from a result written by --out")
    args = parser.parse_args()
    if args.chart_from:
        chart(json.loads(args.chart_from.read_text()), args.chart or Path("soak.png"))
        return
    with tempfile.TemporaryDirectory(prefix="circlemade-soak-") as folder:
        soak = Soak(Path(folder), args.rate, print)
        try:
            result = soak.run(args.minutes, args.fault_every_min)
        finally:
            soak.close()
    print(f"soak: {result['minutes']:g} min at {result['rate']:g} msg/s, "
          f"{len(result['faults'])} faults: published {result['published']:,}, "
          f"stored {result['stored']:,}, lost {result['lost']:,}, written twice or more "
          f"{result['duplicated_writes']:,} (idempotent); RSS max {result['rss_max_mb']:.0f} "
          f"MB, at the end {result['rss_end_mb']:.0f} MB")
    print(f"soak: the edge's warnings and errors: {result['warnings_and_errors']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    if args.chart:
        chart(result, args.chart)


if __name__ == "__main__":
    main()
