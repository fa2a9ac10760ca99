"""Mosquitto, InfluxDB 1.x and VictoriaMetrics as child processes on free loopback ports.

The demo and the tests use these instead of Docker, which does not run on the edge boxes
we develop on. Each server gets its own data directory and config file, listens on
127.0.0.1 only, and is stopped by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from contract.errors import Unavailable

DEBIAN_PACKAGES = {"mosquitto": "mosquitto", "mosquitto_passwd": "mosquitto",
                   "influxd": "influxdb",
                   "victoria-metrics": "victoria-metrics"}


class ServerUnavailable(Unavailable, RuntimeError):
    """A server binary is missing or the server did not come up."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if path is None:
        raise ServerUnavailable(f"{name} not found; install the Debian package "
                                f"'{DEBIAN_PACKAGES.get(name, name)}' (scripts/setup does)")
    return path


@dataclass
class LocalServer:
    name: str
    command: list[str]
    port: int
    data_dir: Path
    ready: Callable[[LocalServer], bool]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def start(self, timeout_s: float = 30.0) -> LocalServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerUnavailable(f"{self.name} exited with {self.process.returncode}; "
                                        f"log:\n{self.log_tail()}")
            if self.ready(self):
                return self
            time.sleep(0.05)
        self.stop()
        raise ServerUnavailable(f"{self.name} not ready after {timeout_s} s; "
                                f"log:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL, as a power cut or an OOM kill would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def __enter__(self) -> LocalServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tcp_ready(server: LocalServer) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", server.port)) == 0


def _http_ready(path: str, statuses: tuple[int, ...]) -> Callable[[LocalServer], bool]:
    def ready(server: LocalServer) -> bool:
        try:
            with urllib.request.urlopen(server.url + path, timeout=0.5) as response:
                return int(response.status) in statuses
        except (urllib.error.URLError, OSError):
            return False

    return ready


def mosquitto(data_dir: Path, port: int | None = None, listener_options: str = "",
              anonymous: bool = True, max_inflight: int = 1000) -> LocalServer:
    """Mosquitto with persistence and queues big enough not to drop bursts at QoS 1.

    Its defaults (``max_queued_messages 1000``, 20 in flight) drop messages to a slow
    subscriber at QoS 0 *and* 1, and 20 in flight would throttle an edge that acknowledges
    after its buffer commit (deploy/mosquitto.conf says why 1000); ``user root`` keeps it
    from switching to the ``mosquitto`` user, which could not write a data directory made
    by root. ``max_inflight``: Mosquitto's default (20) makes a stock broker.
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        f"{listener_options}"
        f"allow_anonymous {'true' if anonymous else 'false'}\n"
        "persistence true\n"
        f"persistence_location {data_dir}/\n"
        "autosave_interval 10\n"
        "max_queued_messages 1000000\n"
        f"max_inflight_messages {max_inflight}\n"
        "log_dest stderr\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
        "user root\n"
    )
    return LocalServer("mosquitto", [find_binary("mosquitto"), "-c", str(conf)], port,
                       data_dir, _tcp_ready)


def mosquitto_with_password(data_dir: Path, user: str, password: str,
                            tls: dict[str, Path] | None = None) -> LocalServer:
    """Mosquitto that wants a user and password, over TLS when ``tls`` names the ``ca``,
    ``cert`` and ``key`` files (and ``require_certificate`` for client certificates)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    passwords = data_dir / "passwords"
    subprocess.run([find_binary("mosquitto_passwd"), "-b", "-c", str(passwords), user,
                    password], check=True, capture_output=True)
    options = f"password_file {passwords}\n"
    if tls:
        options += (f"cafile {tls['ca']}\ncertfile {tls['cert']}\nkeyfile {tls['key']}\n"
                    f"require_certificate {'true' if 'require_certificate' in tls else 'false'}\n")
    return mosquitto(data_dir, listener_options=options, anonymous=False)


def influxdb1(data_dir: Path, port: int | None = None) -> LocalServer:
    """``influxd`` 1.x with its data, meta and WAL under ``data_dir``; ``/ping`` -> 204."""
    port = port or free_port()
    rpc_port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "influxdb.conf"
    conf.write_text(
        "reporting-disabled = true\n"
        f'bind-address = "127.0.0.1:{rpc_port}"\n'
        f'[meta]\n  dir = "{data_dir}/meta"\n  logging-enabled = false\n'
        f'[data]\n  dir = "{data_dir}/data"\n  wal-dir = "{data_dir}/wal"\n'
        "  query-log-enabled = false\n"
        "[monitor]\n  store-enabled = false\n"
        f'[http]\n  bind-address = "127.0.0.1:{port}"\n  log-enabled = false\n'
        '[logging]\n  level = "warn"\n'
    )
    return LocalServer("influxd", [find_binary("influxd"), "-config", str(conf)], port,
                       data_dir, _http_ready("/ping", (204,)))


def victoria_metrics(data_dir: Path, port: int | None = None,
                     dedup: bool = True) -> LocalServer:
    """VictoriaMetrics, which accepts InfluxDB's ``/api/v2/write``.

    ``-search.latencyOffset=0s`` makes fresh points visible to queries at once (the
    default hides the last 30 s); tests call ``/internal/force_flush`` after writing.
    ``-dedup.minScrapeInterval=1s`` (``dedup``) keeps one sample per series and second,
    the one with the biggest timestamp, as docs/cluster.md asks of VictoriaMetrics.
    """
    port = port or free_port()
    return LocalServer(
        "victoria-metrics",
        [find_binary("victoria-metrics"), f"-storageDataPath={data_dir}/storage",
         f"-httpListenAddr=127.0.0.1:{port}", "-search.latencyOffset=0s",
         "-loggerLevel=ERROR", "-retentionPeriod=100y",
         *(["-dedup.minScrapeInterval=1s"] if dedup else [])],
        port, data_dir, _http_ready("/health", (200,)),
    )
