"""VictoriaMetrics as a store of its own (``api = "victoriametrics"``): the same points
written to InfluxDB 1.x and to VictoriaMetrics read back the same through each one's
reader, the newest write winning (a job rewritten with fewer good parts and a reason),
its words kept as labels; a cluster's tenant is written under its account's path."""

from __future__ import annotations

import asyncio
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config
from edge.storage.influx_write import LineWriter, WriteFailed
from edge.storage.line_protocol import DRAFT
from edge.storage.stores import STORES, make_writer
from simulators import local_servers
from simulators.local_servers import LocalServer
from tests.conftest import unavailable
from tests.waiting import until

T = 1_790_000_000_000_000_000
JOB = "job,kind=printer,machine=p1,outcome=good,site=s"


async def taken(writer: LineWriter, batch: list[str]) -> bool:
    """Written; False while InfluxDB 1.x does not see the database it just created yet
    (it happened once in CI: "database not found" right after CREATE DATABASE)."""
    try:
        await writer.write(batch)
    except WriteFailed as exc:
        if "database not found" in str(exc):
            return False
        raise
    return True


def store(influxdb1: LocalServer, victoria: LocalServer, api: str, name: str) -> Any:
    entry = ({"api": "v1", "url": influxdb1.url, "database": name} if api == "v1" else
             {"api": "victoriametrics", "url": victoria.url})
    config = parse_config({"site": {"id": "s"}, "influx": entry, "brokers": [],
                           "machines": [{"id": "p1", "kind": "printer", "sources": [
                               {"profile": "prusalink", "endpoint": "http://127.0.0.1:9",
                                "api_key_env": "K"}]}]}, secrets=False)
    return config.influx


async def written_and_read(settings: Any, lines: list[list[str]], restarted: bool = False,
                           ) -> list[dict[str, Any]]:
    """Each batch in one write (the second is a rewrite); ``restarted``: each by a writer
    of its own, as after a restart of the edge."""
    writer = make_writer(settings)
    prepare = getattr(writer, "prepare", None)
    if prepare is not None:
        await prepare()
    for batch in lines:
        await until("the store takes the write", partial(taken, writer, batch))
        if restarted:
            await writer.close()
            writer = make_writer(settings)
    await writer.close()
    if settings.api == "victoriametrics":
        await asyncio.to_thread(flush, settings.url)
    make = STORES[settings.api].reader
    assert make is not None
    reader = make(settings)
    try:
        return await reader.rows("job", T - 10**9, T + 3 * 10**9)
    finally:
        await reader.close()


@pytest.mark.parametrize("restarted", [False, True], ids=["one run", "restarted"])
@pytest.mark.parametrize("api", ["v1", "victoriametrics"])
def test_a_rewritten_job_reads_back_as_the_newest_on_both_stores(
        influxdb1: LocalServer, victoria: LocalServer, api: str, restarted: bool) -> None:
    """Fewer good parts after a verdict: the smaller value, written last, is what is read;
    on VictoriaMetrics also when another run of the edge wrote the first, and a draft
    (an open window's kind of write) written after it changes nothing."""
    settings = store(influxdb1, victoria, api, f"rewrites_{restarted}")
    at = T + restarted * 10**9
    first = f'{JOB} job="bracket.gcode",good_parts=3.0,scrap_parts=0.0 {at}'
    verdict = (f'{JOB} job="bracket.gcode",good_parts=2.0,scrap_parts=1.0,'
               f'reason="warping",verdict_by="amina" {at}')
    batches = [[first], [verdict]]
    if api == "victoriametrics":
        batches.append([f"{DRAFT}{first}"])
    rows = asyncio.run(written_and_read(settings, batches, restarted))
    rows = [r for r in rows if r["time"] == at]
    (row,) = rows
    assert row["good_parts"] == 2.0 and row["scrap_parts"] == 1.0
    assert row["job"] == "bracket.gcode" and row["reason"] == "warping"
    assert row["machine"] == "p1" and row["outcome"] == "good"


@pytest.mark.servers
def test_a_cluster_tenant_is_written_under_its_accounts_path(tmp_path: Path) -> None:
    """The paths of a cluster's tenant, against a single node that answers them: a node
    does not, so the write is refused there and says so (a cluster's vminsert takes it)."""
    try:
        server = local_servers.victoria_metrics(tmp_path / "vm").start()
    except local_servers.ServerUnavailable as exc:
        unavailable(str(exc))
    try:
        config = parse_config({"site": {"id": "s"}, "brokers": [], "influx": {
            "api": "victoriametrics", "url": server.url, "account_id": 42, "project_id": 7},
            "machines": [{"id": "p1", "kind": "printer", "sources": [
                {"profile": "prusalink", "endpoint": "http://127.0.0.1:9",
                 "api_key_env": "K"}]}]}, secrets=False)
        writer = make_writer(config.influx)
        with pytest.raises(Exception, match="insert/42:7/influx/write|404|400"):
            asyncio.run(writer.write([f"{JOB} good_parts=1.0 {T}"]))
        asyncio.run(writer.close())
    finally:
        server.stop()


def flush(url: str) -> None:
    urllib.request.urlopen(f"{url}/internal/force_flush", timeout=30)


def test_a_running_edge_writes_jobs_to_victoriametrics_as_to_influxdb(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer],
        victoria: LocalServer) -> None:
    """The store recipe's test (CONTRIBUTING.md): a running edge, InfluxDB its first
    store and VictoriaMetrics a ``[[sinks]]`` entry of jobs; read back, both hold the
    same job, its name and outcome included."""
    import tomli_w

    from tests.talk import publish, start_edge, stop_edge, stored
    from tests.waiting import logged, wait_for

    mqtt, influx = servers
    config = tmp_path / "edge.toml"
    config.write_text(tomli_w.dumps({
        "site": {"id": "vm"},
        "brokers": [{"port": mqtt.port, "client_id": "vm-edge"}],
        "influx": {"api": "v1", "url": influx.url, "database": "vm_jobs",
                   "flush_interval_s": 0.2},
        "sinks": [{"name": "cluster", "api": "victoriametrics", "url": victoria.url,
                   "measurements": ["job"], "flush_interval_s": 0.2}],
        "buffer": {"path": str(tmp_path / "buffer.sqlite")},
        "machines": [{"id": "p1", "kind": "printer", "sources": [
            {"topic": "d/p1", "profile": "json",
             "time": {"path": "ts", "format": "unix_s"}}]}]}))
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)
    try:
        wait_for("the edge subscribed", logged(log, "mqtt.subscribed"))
        for second, said in ((1_796_000_000, {"state": "running", "job_event": "start",
                                              "job_name": "hinge v2.gcode"}),
                             (1_796_000_600, {"state": "idle", "job_event": "end",
                                              "job_outcome": "good"})):
            publish(mqtt.port, "d/p1", {"ts": second, **said})
        wait_for("the job in InfluxDB", lambda: len(stored(
            influx.url, "vm_jobs", 'SELECT * FROM "job"')) == 1)

        def in_victoria() -> bool:
            flush(victoria.url)
            return bool(asyncio.run(read_jobs(victoria)))

        wait_for("the job in VictoriaMetrics", in_victoria)
    finally:
        stop_edge(edge)
    (mine,) = stored(influx.url, "vm_jobs", 'SELECT * FROM "job"')
    (theirs,) = asyncio.run(read_jobs(victoria))
    assert theirs["job"] == mine["job"] == "hinge v2.gcode"
    assert theirs["outcome"] == "good" and theirs["duration_s"] == mine["duration_s"] == 600


async def read_jobs(victoria: LocalServer) -> list[dict[str, Any]]:
    settings = parse_config({"site": {"id": "vm"}, "brokers": [], "influx": {
        "api": "victoriametrics", "url": victoria.url}, "machines": [
        {"id": "p1", "kind": "printer", "sources": [
            {"profile": "prusalink", "endpoint": "http://127.0.0.1:9", "api_key_env": "K"}]}]},
        secrets=False).influx
    make = STORES["victoriametrics"].reader
    assert make is not None
    reader = make(settings)
    try:
        rows = await reader.rows("job", 1_795_000_000 * 10**9, 1_797_000_000 * 10**9)
        return [row for row in rows if row["site"] == "vm"]  # the server is shared
    finally:
        await reader.close()
