"""The Modbus transport: pymodbus's async client (TCP, or RTU on a serial port) behind a
gateway that polls every register block of one device, reconnects with a capped backoff
and counts what goes wrong.

An exception answer (an address the device does not have, a busy device, a gateway
whose meter does not answer) is counted and logged with its code's meaning and the poll
goes on; a lost connection or three unanswered requests reconnect, and the device's
machine goes offline once per outage (unless ``offline_state`` is false).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from contract.counters import Counters
from contract.errors import PeerError
from contract.eventlog import describe, log_event
from contract.raw_message import RawMessage
from contract.reading import Reading
from gateways.decoding import DecodeError, PartialDecode
from gateways.gateway import Outbox, ValueDecoder
from gateways.transports.value_gateway import ValueGatewayBase

logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # we log, counted and throttled
EXCEPTION_CODES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
                   4: "device failure", 5: "acknowledge", 6: "device busy",
                   10: "gateway path unavailable", 11: "gateway target did not respond"}
"""Modbus exception codes (Modbus application protocol, 7)."""
UNANSWERED = 3
"""Requests in a row without an answer before the connection is made again."""


class Block(Protocol):
    """Registers read with one request (gateways/profiles/modbus/registers.py)."""

    @property
    def function(self) -> str: ...
    @property
    def address(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def key(self) -> str: ...


class RegisterDecoder(ValueDecoder, Protocol):
    @property
    def blocks(self) -> Mapping[str, Block]: ...


class ModbusSettings(Protocol):
    """What the gateway reads of its source (the profiles' ``ModbusSourceBase``)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def unit(self) -> int: ...
    @property
    def poll_interval_s(self) -> float: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def reconnect_min_s(self) -> float: ...
    @property
    def reconnect_max_s(self) -> float: ...


class ModbusLost(PeerError):
    """A reason to drop the connection and start again."""


def client_for(endpoint: str, timeout_s: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    """``modbus+tcp://HOST:PORT`` or ``modbus+rtu:///dev/ttyX?baudrate=9600&parity=N``;
    pymodbus's own reconnecting is off: the gateway does it, with its backoff."""
    parts = urlsplit(endpoint)
    if parts.scheme == "modbus+tcp":
        return AsyncModbusTcpClient(parts.hostname or "", port=parts.port or 502,
                                    timeout=timeout_s, retries=0, reconnect_delay=0)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return AsyncModbusSerialClient(
        parts.path, baudrate=int(query.get("baudrate", 9600)),
        parity=query.get("parity", "N"), stopbits=int(query.get("stopbits", 1)),
        bytesize=int(query.get("bytesize", 8)), timeout=timeout_s, retries=0,
        reconnect_delay=0)


class ModbusGateway(ValueGatewayBase):
    transport = "modbus"

    def __init__(self, source: ModbusSettings, route: str, decoder: RegisterDecoder,
                 counters: Counters) -> None:
        super().__init__(route, decoder, counters, source)
        self.source, self.decoder = source, decoder

    async def run(self, out: Outbox) -> None:
        while not self._stopping.is_set():
            client = client_for(self.source.endpoint, self.source.timeout_s)
            try:
                if not await client.connect():
                    raise ModbusLost(f"could not connect to {self.source.endpoint} (refused, "
                                     f"or no answer within {self.source.timeout_s:g} s)")
                self.connected.set()
                self._outage.over()
                log_event("modbus.connected", route=self.route, endpoint=self.source.endpoint,
                          unit=self.source.unit, blocks=list(self.decoder.blocks))
                self.reconnected()
                await self._poll(client, out)
            except (ModbusLost, ModbusException, OSError) as exc:
                await self._lost(exc, out)
            finally:
                self.connected.clear()
                client.close()
            await self.back_off()

    async def _poll(self, client: Any, out: Outbox) -> None:
        unanswered = 0
        while not self._stopping.is_set():
            readings: list[RawMessage | Reading] = []
            now = time.time_ns()  # one instant per poll: its blocks make one point
            for block in self.decoder.blocks.values():
                words = await self._read(client, block)
                if words is None:
                    unanswered += 1
                    if unanswered >= UNANSWERED:
                        raise ModbusLost(f"no answer from unit {self.source.unit} at "
                                         f"{self.source.endpoint} to {UNANSWERED} requests")
                    continue
                unanswered = 0
                readings += self._decoded(block, words, now)
            if readings:
                await out.put(readings)
            await self.pause(self.source.poll_interval_s)

    async def _read(self, client: Any, block: Block) -> list[int] | None:
        """The block's registers; None when the request went unanswered (a timeout)."""
        read = (client.read_input_registers if block.function == "input"
                else client.read_holding_registers)
        try:
            response = await read(block.address, count=block.count, device_id=self.source.unit)
        except ModbusException as exc:
            if not client.connected:
                raise ModbusLost(describe(exc)) from None
            self._throttle.event(f"timeout|{block.key}", "modbus.no_answer", logging.WARNING,
                                 route=self.route, block=block.key, error=describe(exc))
            self.health.count(self.route, "modbus_errors")
            return None
        if response.isError():
            code = getattr(response, "exception_code", 0)
            meaning = EXCEPTION_CODES.get(code, "unknown exception code")
            self.health.count(self.route, "modbus_errors")
            self._throttle.event(f"exception|{block.key}|{code}", "modbus.exception",
                                 logging.WARNING, route=self.route, block=block.key,
                                 unit=self.source.unit, code=code, error=meaning)
            return []
        return list(response.registers)

    def _decoded(self, block: Block, words: list[int], now: int,
                 ) -> list[RawMessage | Reading]:
        if not words:
            return []
        self.health.count(self.route, "messages_in")
        self.health.set(self.route, "last_message_s", now / 1e9)
        if self.tap is not None:
            self.tap(block.key, words, now)
        try:
            return list(self.decoder.decode_value(block.key, words, now))
        except PartialDecode as exc:
            self._bad(block, str(exc))
            return list(exc.readings)
        except DecodeError as exc:
            self._bad(block, str(exc))
            return []

    def _bad(self, block: Block, error: str) -> None:
        self.health.count(self.route, "decode_errors")
        self._throttle.event(f"decode|{block.key}", "modbus.decode_error", route=self.route,
                             block=block.key, error=error)

    async def _lost(self, exc: BaseException, out: Outbox) -> None:
        message = describe(exc)
        self.health.count(self.route, "reconnects")
        self._throttle.event(f"lost|{message[:60]}", "modbus.disconnected", logging.WARNING,
                             route=self.route, endpoint=self.source.endpoint, error=message)
        offline = self._outage.begun(self.tap)
        if offline:
            await out.put(list(offline))
