"""The machines' sources as the service runs them: a route per source, an MQTT gateway
per broker with the subscriptions and device requests of its sources, a gateway of its
own per value source (OPC UA, Modbus, HTTP), and the decoders of the MQTT routes."""

from __future__ import annotations

import socket

from contract.counters import Counters
from contract.materials import DENSITY_G_PER_CM3
from edge.service.config import Config
from gateways.broker import Broker, DeviceRequest
from gateways.gateway import Gateway
from gateways.operator_input import OperatorDecoder
from gateways.profiles import Decoder
from gateways.profiles.base import MqttSourceBase
from gateways.transports.mqtt import MqttGateway
from gateways.transports.mqtt_routes import Subscription


def routes(config: Config) -> dict[str, tuple[str, int]]:
    """Route name (``machine/profile``, the health ``source``) -> (machine id, source index)."""
    table: dict[str, tuple[str, int]] = {}
    for machine in config.machines:
        for index, source in enumerate(machine.sources):
            name = f"{machine.id}/{source.profile}"
            if name in table:
                name = f"{name}/{index}"
            table[name] = (machine.id, index)
    return table


OPERATOR_ROUTE = "operator"


def operator_decoder(config: Config) -> OperatorDecoder | None:
    """The decoder of operator input (route ``operator``), when it is subscribed to."""
    if not config.operator_input():
        return None
    return OperatorDecoder(config.site.id, {m.id for m in config.machines}, config.operator,
                           set(DENSITY_G_PER_CM3), others=config.others,
                           components={m.id: {c.name for c in m.components}
                                       for m in config.machines})


def client_id(config: Config, broker: Broker) -> str:
    """The configured id, or one that a config copied to a second box does not share:
    two clients with one id take the persistent session from each other."""
    chosen = broker.client_id or f"circlemade-{config.site.id}-{broker.id}-{socket.gethostname()}"
    return f"{chosen}-shard-{config.shard.replace('/', '-of-')}" if config.shard else chosen


class Sources:
    def __init__(self, config: Config, health: Counters, client_suffix: str = "") -> None:
        machines = {m.id: m for m in config.machines}
        self.decoders: dict[str, Decoder] = {}
        """Of the MQTT routes (a value gateway decodes its own)."""
        subscriptions: dict[str, list[Subscription]] = {b.id: [] for b in config.brokers}
        requests: dict[str, list[DeviceRequest]] = {b.id: [] for b in config.brokers}
        self.values: list[Gateway] = []
        """One per OPC UA, Modbus or HTTP source: each reads and decodes its values."""
        self.value_routes: list[tuple[str, str]] = []
        """The transport and route of each value gateway, as recorded."""
        for route, (machine_id, index) in routes(config).items():
            source = machines[machine_id].sources[index]
            if not isinstance(source, MqttSourceBase):
                self.values.append(source.gateway(
                    route, source.decoder(config.site.id, machine_id), health))
                self.value_routes.append((source.transport, route))
                continue
            self.decoders[route] = source.decoder(config.site.id, machine_id)
            qos = source.qos if source.qos is not None else config.broker(source.broker).qos
            subscriptions[source.broker].append(Subscription(source.topic, qos, route))
            requests[source.broker] += source.requests()
        operator = operator_decoder(config)
        if operator is not None:
            self.decoders[OPERATOR_ROUTE] = operator
            broker = config.broker(config.operator.broker)
            subscriptions[broker.id].append(Subscription(operator.topic, max(broker.qos, 1),
                                                         OPERATOR_ROUTE))
        self.mqtt = [
            MqttGateway(broker, client_id(config, broker) + client_suffix,
                        subscriptions[broker.id], health, requests[broker.id])
            for broker in config.brokers
            if subscriptions[broker.id]
        ]
