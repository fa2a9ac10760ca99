"""Addresses in the config (URLs, host names, host:port, serial ports), checked with a
message a technician understands: what is wrong and what a right one looks like, never a
regular expression. Parsed by the standard library, as the clients will parse them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from pydantic import AfterValidator


def url(*schemes: str, example: str, path: bool = True) -> Callable[[str], str]:
    """A check of a URL of one of ``schemes`` with a host, a valid port and no spaces."""
    def check(value: str) -> str:
        like = f"; like {example}"
        if any(c.isspace() for c in value):
            raise ValueError("a URL has no spaces" + like)
        scheme = value.partition("://")[0].lower() if "://" in value else ""
        if scheme not in schemes:
            starts = " or ".join(f"{s}://" for s in schemes)
            raise ValueError(f"expected a URL starting with {starts}" + like)
        parts = urlsplit(value)
        if not parts.hostname:
            raise ValueError("the URL names no host" + like)
        _port_of(parts.netloc, like)
        if not path and parts.path not in ("", "/"):
            raise ValueError("give the address only, without a path" + like)
        return value
    return check


def file_url(example: str) -> Callable[[str], str]:
    """A check of a ``file:///absolute/path`` URL naming a file (not a directory)."""
    def check(value: str) -> str:
        if not value.startswith("file:///") or value.endswith("/"):
            raise ValueError(f"expected a file URL; like {example}")
        return value
    return check


def _port_of(netloc: str, like: str) -> None:
    """Refuse a port that is not a number from 1 to 65535 (``host:80:80``, ``host:80a``)."""
    address = netloc.rpartition("@")[2]
    after_host = address.partition("]")[2] if address.startswith("[") else \
        address.partition(":")[1] + address.partition(":")[2]
    try:
        port = urlsplit(f"//{address}").port
    except ValueError:
        port = 0
    if after_host and not port:
        raise ValueError(f"{after_host[1:]!r} is not a port (1 to 65535)" + like)


def host(value: str) -> str:
    """A host name or an IP address alone: the port, the scheme and TLS have their own keys."""
    if "://" in value:
        raise ValueError("a host name or address, not a URL: the port goes in port, TLS in "
                         "tls = true; like host = \"broker.lan\"")
    if not value or any(c.isspace() or c in "/@?#" for c in value):
        raise ValueError("expected a host name or an IP address, like broker.lan or "
                         "192.0.2.10")
    if ":" in value:
        try:
            ipaddress.IPv6Address(value.strip("[]"))
        except ValueError:
            raise ValueError("a host name or address only: the port goes in port") from None
    return value


def listen(value: str) -> str:
    """``host:port`` a server listens on."""
    name, _, port = value.rpartition(":")
    like = "; like 127.0.0.1:8480 or 0.0.0.0:8480"
    if not name or not port:
        raise ValueError("expected host:port" + like)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{port!r} is not a port (1 to 65535)" + like)
    host(name)
    return value


MODBUS_LIKE = "; like modbus+tcp://192.0.2.40:502 or modbus+rtu:///dev/ttyUSB0?baudrate=9600"
SERIAL_SETTINGS: dict[str, tuple[str, ...]] = {
    "baudrate": ("1200", "2400", "4800", "9600", "19200", "38400", "57600", "115200"),
    "parity": ("N", "E", "O"), "stopbits": ("1", "2"), "bytesize": ("7", "8"),
}
"""What a Modbus RTU line may be set to (Modbus over serial line, section 2.5)."""


def modbus(value: str) -> str:
    """``modbus+tcp://HOST[:PORT]`` or ``modbus+rtu:///dev/PORT?baudrate=...``."""
    if value.startswith("modbus+tcp://"):
        return url("modbus+tcp", example="modbus+tcp://192.0.2.40:502", path=False)(value)
    if not value.startswith("modbus+rtu://"):
        raise ValueError("expected modbus+tcp:// or modbus+rtu://" + MODBUS_LIKE)
    parts = urlsplit(value)
    if parts.netloc or not parts.path.startswith("/dev/"):
        raise ValueError("name the serial port after three slashes" + MODBUS_LIKE)
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        allowed = SERIAL_SETTINGS.get(key)
        if allowed is None:
            raise ValueError(f"unknown serial setting {key!r}; expected "
                             f"{', '.join(SERIAL_SETTINGS)}")
        if values[-1] not in allowed:
            raise ValueError(f"{key} = {values[-1]!r} is not one of {', '.join(allowed)}")
    return value


HttpUrl = Annotated[str, AfterValidator(url("http", "https", example="http://192.0.2.10:8086"))]
"""An http:// or https:// URL with a host."""
HttpAddress = Annotated[str, AfterValidator(url("http", "https", path=False,
                                                example="http://192.0.2.30"))]
"""An http:// or https:// address of a device, without a path."""
OpcUaUrl = Annotated[str, AfterValidator(url("opc.tcp", example="opc.tcp://192.0.2.50:4840"))]
Host = Annotated[str, AfterValidator(host)]
Listen = Annotated[str, AfterValidator(listen)]
ModbusEndpoint = Annotated[str, AfterValidator(modbus)]
