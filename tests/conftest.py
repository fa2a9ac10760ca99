"""Real servers for the tests: Mosquitto, InfluxDB 1.x and VictoriaMetrics as child
processes on free loopback ports, one of each per test session; and each test's own
state directory.

With CI=true a missing server binary fails the run; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from simulators import local_servers
from simulators.local_servers import LocalServer, ServerUnavailable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SERVER_FIXTURES = {"mosquitto", "influxdb1", "victoria", "servers", "node_opcua_server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server fixture is marked ``servers``, so ``scripts/test -m "not
    servers"`` is the fast inner loop (modules that start servers otherwise say so)."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


def unavailable(reason: str) -> NoReturn:
    """What the tests do when a server or tool they need is missing: fail in CI, where
    scripts/setup installs everything; elsewhere skip, saying why (pytest -rs lists it)."""
    if IN_CI:
        pytest.fail(f"needed in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def started(server: LocalServer) -> LocalServer:
    try:
        return server.start()
    except ServerUnavailable as exc:
        unavailable(str(exc))


def serve(make: object, data_dir: Path) -> Generator[LocalServer, None, None]:
    assert callable(make)
    try:
        server: LocalServer = started(make(data_dir))
    except ServerUnavailable as exc:  # a binary missing before the start
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    yield from serve(local_servers.mosquitto, tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture(scope="session")
def influxdb1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    yield from serve(local_servers.influxdb1, tmp_path_factory.mktemp("influxdb"))


@pytest.fixture(scope="session")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    yield from serve(local_servers.victoria_metrics, tmp_path_factory.mktemp("victoria"))


REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "circlemade" / "examples" / "workshop.toml"


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's default paths (buffer, dead letters, status, the demo's data) lie
    under its own tmp_path, for it and the processes it starts: nothing is written into
    the user's ~/.local, and no test finds another's buffer or KPI state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LocalServer, LocalServer]]:
    """A Mosquitto and an InfluxDB of this test's own, free to be stopped."""
    mqtt_gen = serve(local_servers.mosquitto, tmp_path / "mqtt")
    influx_gen = serve(local_servers.influxdb1, tmp_path / "influx")
    try:
        yield next(mqtt_gen), next(influx_gen)
    finally:
        mqtt_gen.close()
        influx_gen.close()
