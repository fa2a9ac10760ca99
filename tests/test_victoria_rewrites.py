"""What VictoriaMetrics keeps of a point written twice (a job a verdict rewrote, a window
a late reading changed), found on the real server: with ``-dedup.minScrapeInterval=1ms``
(docs/cluster.md) the newest sample only, before and after asking for a merge; without it both,
with instant queries answering the newest. And what it does with a string field: a
series of zeros, its text lost (docs/cluster.md, which store)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import orjson
import pytest

from simulators import local_servers
from simulators.local_servers import LocalServer
from tests.conftest import unavailable

T = 1_790_000_000
LINE = "job,site=s,machine=m good_parts={} " + f"{T}000000000"


def write(server: LocalServer, body: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/write", data=body.encode(),
                                                  method="POST"), timeout=30)
    urllib.request.urlopen(f"{server.url}/internal/force_flush", timeout=30)


def exported(server: LocalServer, name: str) -> list[float]:
    with urllib.request.urlopen(f"{server.url}/api/v1/export?match[]={name}&start=0",
                                timeout=30) as answer:
        return [v for line in answer.read().splitlines()
                for v in orjson.loads(line)["values"]]


def kept(server: LocalServer, name: str) -> tuple[list[float], str]:
    """The raw samples exported, and what an instant query answers."""
    with urllib.request.urlopen(f"{server.url}/api/v1/query?query={name}&time={T}",
                                timeout=30) as answer:
        (result,) = orjson.loads(answer.read())["data"]["result"]
    return exported(server, name), result["value"][1]


@pytest.mark.servers
@pytest.mark.parametrize(("dedup", "samples"), [(True, [3.0]), (False, [5.0, 3.0])])
def test_a_point_rewritten_with_a_smaller_value_reads_back_as_the_newest(
        tmp_path: Path, dedup: bool, samples: list[float]) -> None:
    try:
        server = local_servers.victoria_metrics(tmp_path / "vm", dedup=dedup).start()
    except local_servers.ServerUnavailable as exc:
        unavailable(str(exc))
    try:
        write(server, LINE.format(5))
        write(server, LINE.format(3))  # a verdict: fewer good parts
        assert kept(server, "job_good_parts") == (samples, "3")
        urllib.request.urlopen(f"{server.url}/internal/force_merge", timeout=30)
        assert kept(server, "job_good_parts") == (samples, "3")
        write(server, f'job,site=s,machine=m job="bracket.gcode" {T + 60}000000000')
        assert exported(server, "job_job") == [0.0]  # the text is gone
    finally:
        server.stop()
