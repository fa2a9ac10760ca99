"""Supervised tasks: a stage that fails is logged with its traceback, counted, shown by
``circlemade status`` and started again after a capped backoff; one bug must not stop
the service."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable

from contract.counters import Counters
from contract.eventlog import describe, log_event


class Supervisor:
    def __init__(self, health: Counters) -> None:
        self.health = health
        self.crashes: dict[str, tuple[float, str]] = {}
        """Task name -> (when, error) of the last crash of each supervised task."""

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """A task that restarts ``run`` when it fails."""

        async def supervise() -> None:
            delay = 1.0
            while True:
                try:
                    await run()
                    return
                except Exception as exc:
                    self.health.count("service", "task_restarts")
                    self.crashes[name] = (time.time(), describe(exc))
                    log_event("service.task_crashed", logging.ERROR, task=name,
                              error=describe(exc), traceback=traceback.format_exc(),
                              restart_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

        return asyncio.create_task(supervise(), name=name)
