"""A workshop that outgrows one edge process: N instances from one config file, each
running the machines whose id hashes to its share; together they run every machine
exactly once, on one broker and one InfluxDB."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from edge.service.config import parse_config, shard_of
from edge.service.config_problems import ConfigError
from edge.service.sources import client_id, operator_decoder
from simulators.local_servers import LocalServer
from tests.talk import publish, rows, running
from tests.waiting import until

MACHINES = [f"printer-{i}" for i in range(1, 13)]


def raw(shard: str | None, mqtt_port: int = 1883, influx_url: str = "http://127.0.0.1:9",
        ) -> dict[str, Any]:
    return {"site": {"id": "big"}, "brokers": [{"port": mqtt_port}],
            "influx": {"api": "v1", "url": influx_url, "database": "sharded",
                       "flush_interval_s": 0.2},
            "machines": [{"id": m, "kind": "printer", "sources": [
                {"topic": f"big/{m}", "profile": "json"}]} for m in MACHINES],
            **({"shard": shard} if shard else {})}


def test_shares_are_disjoint_cover_everything_and_keep_apart() -> None:
    shares = [parse_config(raw(f"{k}/3")) for k in (1, 2, 3)]
    owned = [{m.id for m in share.machines} for share in shares]
    assert set().union(*owned) == set(MACHINES)
    assert sum(len(o) for o in owned) == len(MACHINES) and all(owned)
    # the hash is sha256's, the same on every box and in every run
    assert all(shard_of(m, 3) == int(hashlib.sha256(m.encode()).hexdigest()[:8], 16) % 3 + 1
               for m in MACHINES)
    assert len({share.buffer_path() for share in shares}) == 3
    assert len({client_id(share, share.brokers[0]) for share in shares}) == 3
    assert all(share.others == set(MACHINES) - own for share, own in zip(shares, owned,
                                                                            strict=True))


def test_what_people_say_of_another_shards_machine_is_not_bad_input() -> None:
    share = parse_config(raw("1/3"))
    decoder = operator_decoder(share)
    assert decoder is not None
    other = sorted(share.others)[0]
    assert decoder.decode(f"circlemade/big/{other}/downtime", b'{"reason": "fault"}', 1) == []
    with pytest.raises(ValueError, match="unknown machine 'nobody'"):
        decoder.decode("circlemade/big/nobody/downtime", b'{"reason": "fault"}', 1)


def test_a_share_past_the_count_is_refused() -> None:
    with pytest.raises(ConfigError, match="shard: expected k/N with k at most N"):
        parse_config(raw("4/3"))


async def test_two_shards_store_every_machine_once(
        tmp_path: Path, servers: tuple[LocalServer, LocalServer]) -> None:
    mqtt, influx = servers
    configs = []
    for k in (1, 2):
        config = raw(f"{k}/2", mqtt.port, influx.url)
        config["buffer"] = {"path": str(tmp_path / "buffer.sqlite")}  # one file name: two
        configs.append(parse_config(config))
    async with running(configs[0]) as first, running(configs[1]) as second:
        await until("both shards subscribed", lambda: all(
            s.gateways[0].connected.is_set() for s in (first, second)))
        for round_ in range(3):
            for machine in MACHINES:
                publish(mqtt.port, f"big/{machine}", {"power_w": float(round_),
                                                      "ts": round_})

        async def all_stored() -> bool:
            found = await rows(influx.url, "sharded", 'SELECT "power_w" FROM "energy"')
            return len(found) >= 3 * len(MACHINES)

        await until("every reading stored", all_stored)
        found = await rows(influx.url, "sharded",
                           'SELECT "power_w" FROM "energy" GROUP BY "machine"')
        taken = {s: {route.split("/")[0] for route, fields in s.health.snapshot().items()
                     if fields.get("messages_in")} for s in (first, second)}
    assert len(found) == 3 * len(MACHINES)
    assert taken[first] | taken[second] == set(MACHINES)
    assert not taken[first] & taken[second]
    assert first.config.buffer_path() != second.config.buffer_path()
