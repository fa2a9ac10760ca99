"""Sending alerts to people, through apprise (ntfy, email, Telegram, Signal, Slack,
Matrix, webhooks and a hundred more), off the hot path.

The KPI stage decides what fires and resolves (edge/pipeline/kpi/alerts.py) and writes it as
points; the service offers those alerts here once their batch is committed, so a
restart never sends one twice. A bounded queue holds them; one task sends them in a
worker thread (apprise blocks), with retries and a rate limit overall, so a target that
is slow, down or answering 500 never slows ingest. Quiet hours hold a rule's messages
(its points are still written). What cannot be queued or sent is counted
(``edge_health`` source ``alerts``) and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, time
from zoneinfo import ZoneInfo

import apprise

from contract.eventlog import log_event
from contract.secrets import read_secret
from edge.pipeline.kpi.alerts import Alert
from edge.pipeline.kpi.settings import AlertRule
from edge.service.config import Config
from edge.storage.health import Health

SOURCE = "alerts"
QUEUE = 1000
PER_MINUTE = 20
"""At most this many messages a minute, all targets together: a storm is held back."""
RETRIES = (2.0, 10.0, 60.0)
"""Seconds before each new try of a message that could not be sent."""


class Notifier:
    def __init__(self, config: Config, health: Health) -> None:
        self.health = health
        self._rules = config.alerts
        self._targets = [notify_urls(rule) for rule in config.alerts]
        self._zone = ZoneInfo(config.site.timezone)
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE)
        self._sent: deque[float] = deque()
        self.clock: Callable[[], float] = clock.monotonic
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """How the rate limit tells and waits for time (a test moves it on)."""

    def offer(self, alerts: list[Alert]) -> None:
        """Queue what has targets and is not in its rule's quiet hours; never waits."""
        for alert in alerts:
            rule = self._rules[alert.entry]
            if not self._targets[alert.entry] or self._quiet(rule, alert.time_ns):
                continue
            try:
                self._queue.put_nowait(alert)
            except asyncio.QueueFull:
                self.health.count(SOURCE, "alerts_dropped")
                log_event("alerts.queue_full", logging.ERROR, rule=alert.rule,
                          machine=alert.machine, queued=QUEUE)

    async def run(self) -> None:
        while True:
            alert = await self._queue.get()
            await self._within_rate()
            for delay in (*RETRIES, None):
                if await asyncio.to_thread(self._send, alert):
                    self.health.count(SOURCE, "alerts_sent")
                    break
                self.health.count(SOURCE, "alerts_failed")
                if delay is None:
                    log_event("alerts.not_sent", logging.ERROR, rule=alert.rule,
                              machine=alert.machine, tries=len(RETRIES) + 1)
                    break
                await asyncio.sleep(delay)

    def _send(self, alert: Alert) -> bool:
        targets = apprise.Apprise()
        for url in self._targets[alert.entry]:
            targets.add(url)
        title = f"circlemade: {' '.join(filter(None, (alert.rule, alert.check)))} {alert.state}"
        return bool(targets.notify(body=alert.message, title=title))

    async def _within_rate(self) -> None:
        while True:
            now = self.clock()
            while self._sent and now - self._sent[0] >= 60:
                self._sent.popleft()
            if len(self._sent) < PER_MINUTE:
                self._sent.append(now)
                return
            await self.sleep(60 - (now - self._sent[0]))

    def _quiet(self, rule: AlertRule, time_ns: int) -> bool:
        moment = datetime.fromtimestamp(time_ns / 1e9, self._zone).time()
        for span in rule.quiet:
            begin, end = (time.fromisoformat(part) for part in span.split("-"))
            inside = begin <= moment < end if begin < end else moment >= begin or moment < end
            if inside:
                return True
        return False


def send_test(config: Config) -> list[tuple[str, bool]]:
    """One test message to every target of every rule: (where, whether it went)."""
    results = []
    for index, rule in enumerate(config.alerts):
        for number, url in enumerate(notify_urls(rule)):
            targets = apprise.Apprise()
            targets.add(url)
            went = bool(targets.notify(title="circlemade: test",
                                       body=f"A test of [[alerts]] {index} ({rule.rule})."))
            results.append((f"alerts[{index}] target {number + 1} ({url.split(':', 1)[0]})",
                            went))
    return results


def notify_urls(alert: AlertRule, environ: Mapping[str, str] | None = None) -> list[str]:
    """The rule's apprise URLs, those with secrets read from the environment or files."""
    urls = list(alert.notify)
    for env in alert.notify_env:
        secret = read_secret(env, None, environ)
        urls += [secret.get_secret_value()] if secret is not None else []
    for file in alert.notify_file:
        secret = read_secret(None, file, environ)
        urls += secret.get_secret_value().split() if secret is not None else []
    return urls
