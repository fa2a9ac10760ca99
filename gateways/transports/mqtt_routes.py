"""Which routes (a machine's source) each MQTT topic goes to, from the subscriptions'
filters: one dict lookup per message in the hot path, and a new topic looked up in one
tree of all the filters (paho's matcher), not against each filter in turn (with a
thousand machines, that made the first message of every topic cost as much as a
thousand)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paho.mqtt.matcher import MQTTMatcher

from contract.eventlog import log_event

_new_matcher: Callable[[], Any] = MQTTMatcher
"""paho's matcher (untyped): ``matcher[filter] = value``, ``iter_match(topic)``."""

TOPIC_CACHE = 10_000
"""Topics whose routes are remembered; more than a workshop's devices ever use."""


@dataclass(frozen=True, slots=True)
class Subscription:
    topic: str
    qos: int
    route: str


class Routes:
    def __init__(self, subscriptions: list[Subscription]) -> None:
        self._routes: defaultdict[str, list[str]] = defaultdict(list)
        self.qos: dict[str, int] = {}
        """The highest QoS asked of each filter."""
        for sub in subscriptions:
            self._routes[sub.topic].append(sub.route)
            self.qos[sub.topic] = max(self.qos.get(sub.topic, 0), sub.qos)
        self._matcher = _new_matcher()
        for order, (pattern, routes) in enumerate(self._routes.items()):
            self._matcher[pattern] = (order, routes)
        self._by_topic: dict[str, list[str]] = {}

    def filters(self) -> list[str]:
        return list(self._routes)

    def of(self, topic: str) -> list[str]:
        """The routes whose filters match ``topic``, remembered per topic."""
        routes = self._by_topic.get(topic)
        if routes is None:
            if len(self._by_topic) >= TOPIC_CACHE:
                self._by_topic.clear()  # a flood of new topics must not grow memory
            matched: list[tuple[int, list[str]]] = sorted(self._matcher.iter_match(topic))
            routes = self._by_topic[topic] = [
                route for _, pattern_routes in matched for route in pattern_routes]
        return routes

    def subscribed(self, broker_id: str, reasons: list[Any]) -> None:
        """Subscribed: from here on nothing published is missed. A filter the broker
        refuses (its ACL) is an error naming it."""
        filters = self.filters()
        refused = [f"{topic} ({reason})" for topic, reason in zip(filters, reasons,
                                                                   strict=False)
                   if reason.is_failure]
        if refused:
            log_event("mqtt.subscription_refused", logging.ERROR, broker=broker_id,
                      topics=refused)
        log_event("mqtt.subscribed", broker=broker_id, topics=len(filters) - len(refused))
