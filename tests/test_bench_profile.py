"""bench/profile.py counts each py-spy sample once, at the innermost place it names."""

from __future__ import annotations

from pathlib import Path

from bench.profile import BUFFER_THREAD, shares

LOOP = "run (asyncio/runners.py:190);BaseEventLoop.run_forever (asyncio/base_events.py:607)"


def test_a_sample_counts_at_its_innermost_place(tmp_path: Path) -> None:
    raw = tmp_path / "samples.txt"
    raw.write_text("\n".join([
        # the KPI stage inside the ingest loop: the KPI stage's
        f"{LOOP};Ingest.process (edge/pipeline/ingest.py:140);"
        "KpiEngine.process (edge/pipeline/kpi/engine.py:9) 5",
        # paho reading, inside the gateway's hand-over
        f"{LOOP};MqttGateway._readable (gateways/transports/mqtt.py:3);"
        "Client.loop_read (paho/c.py:1) 3",
        # the buffer's thread at work, not inside the event loop
        "_worker (concurrent/futures/thread.py:81);"
        "DurableBuffer._append (edge/storage/buffer.py:9) 2",
        # the loop waiting, and start-up: not the service at work
        f"{LOOP};EpollSelector.select (selectors.py:468) 7",
        "<module> (circlemade/cli.py:475);_find_and_load (<frozen importlib>:1) 4",
        f"{LOOP};Handle._run (asyncio/events.py:80) 1",
    ]) + "\n")
    counts, total = shares(raw)
    assert total == 11
    assert counts == {"KPI stage": 5, "paho: reading packets": 3, BUFFER_THREAD: 2,
                      "event loop, other": 1}
