"""Which routes a topic goes to: the gateway's tree of filters must agree with paho's
own ``topic_matches_sub`` (the reference, which the gateway once called for every filter
in turn) on every filter and topic, wildcards and ``$`` topics included."""

from __future__ import annotations

import paho.mqtt.client as paho
from hypothesis import given
from hypothesis import strategies as st

from gateways.transports.mqtt_routes import Routes, Subscription

LEVELS = st.sampled_from(["a", "b", "device", "$SYS", "", "tele"])
FILTER_LEVELS = st.sampled_from(["a", "b", "device", "$SYS", "", "tele", "+"])
topics = st.lists(LEVELS, min_size=1, max_size=4).map("/".join)
filters = st.tuples(st.lists(FILTER_LEVELS, min_size=1, max_size=4),
                    st.booleans()).map(lambda f: "/".join(f[0] + (["#"] if f[1] else [])))


@given(st.lists(filters, min_size=1, max_size=12, unique=True), st.lists(topics, max_size=12))
def test_routes_agree_with_paho_on_every_filter(patterns: list[str], seen: list[str]) -> None:
    subscriptions = [Subscription(p, 1, f"route-{i}") for i, p in enumerate(patterns)]
    subscriptions.append(Subscription(patterns[0], 0, "second-route-of-the-first"))
    routes = Routes(subscriptions)
    for topic in seen:
        expected = [s.route for p in routes.filters() for s in subscriptions
                    if s.topic == p and paho.topic_matches_sub(p, topic)]
        assert routes.of(topic) == expected, topic
        assert routes.of(topic) == expected  # remembered


def test_a_thousand_machines_each_get_their_own_topic() -> None:
    routes = Routes([Subscription(f"device/{i:05d}/report", 1, f"m{i}") for i in range(1000)]
                    + [Subscription("device/+/report", 1, "all")])
    assert routes.of("device/00042/report") == ["m42", "all"]
    assert routes.of("device/x/report") == ["all"]
    assert routes.of("device/00042") == []
