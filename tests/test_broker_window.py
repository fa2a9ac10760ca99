"""The broker's in-flight window as the MQTT gateway learns it
(gateways/transports/mqtt_window.py): where the broker stopped sending, until more than
that arrive."""

from __future__ import annotations

from gateways.transports.mqtt_window import BrokerWindow


def received(window: BrokerWindow, count: int) -> None:
    for _ in range(count):
        window.received()


def acknowledged(window: BrokerWindow, count: int) -> None:
    for _ in range(count):
        window.acknowledged()


def test_a_quiet_moment_at_the_most_in_flight_is_the_window() -> None:
    window = BrokerWindow()
    received(window, 20)
    assert window.at_largest() and not window.reached()
    assert window.quiet()
    assert window.window == 20 and window.reached()
    acknowledged(window, 20)
    received(window, 9)
    assert not window.enough(9)
    window.received()
    assert window.enough(10)  # half the window: the other half comes while it commits
    received(window, 9)
    assert not window.reached() and not window.enough(9)
    window.received()
    assert window.reached() and window.enough(1)  # no waiting for a quiet moment


def test_a_quiet_moment_below_the_most_is_the_devices() -> None:
    window = BrokerWindow()
    received(window, 50)
    acknowledged(window, 50)
    received(window, 8)
    assert not window.at_largest()
    assert not window.quiet()
    assert window.window is None


def test_more_than_the_window_in_flight_means_a_bigger_window() -> None:
    """A batch handed over early (a quiet moment of the devices at the most so far) must
    not keep every later batch that small: messages arriving while it is committed show
    the broker was not holding back."""
    window = BrokerWindow()
    received(window, 8)
    assert window.quiet() and window.window == 8
    received(window, 3)  # arriving while the 8 are committed
    assert window.window is None and window.largest == 11
    acknowledged(window, 8)
    received(window, 5)
    assert not window.reached() and not window.at_largest()


def test_a_new_connection_starts_with_none_in_flight() -> None:
    window = BrokerWindow()
    received(window, 5)
    window.reconnected()
    assert window.in_flight == 0 and not window.at_largest()
    acknowledged(window, 3)  # acknowledgements of the old connection's messages
    assert window.in_flight == 0
