"""Waiting for a condition, never for a fixed time: on a busy machine a fixed sleep is
either too short (the test fails) or too long (the suite crawls)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

TIMEOUT_S = 90.0


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.05)


async def until(what: str, condition: Callable[[], bool | Awaitable[bool]],
                timeout_s: float = TIMEOUT_S) -> None:
    """The same in an event loop; ``condition`` may be a coroutine function."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(0.05)


def logged(log: Path, event: str) -> Callable[[], bool]:
    """The service's JSON log at ``log`` holds ``event``."""
    return lambda: log.exists() and f'"event":"{event}"' in log.read_text()
