"""Every exception of circlemade, under one base, by what the caller does about it.

::

    CirclemadeError
    ├── BadInput (ValueError)         refused input: count it, say why, go on with the rest
    │   DecodeError > PartialDecode   a device's payload (gateways/profiles/base.py)
    │   UnitError, NormaliseError     a reading's unit or value
    │   LineProtocolError             a point (edge/storage/line_protocol.py)
    │   OperatorRefused               what a person said (edge/pipeline/kpi/context.py)
    │   RecordingError, InspectError  a recording, a payload given to a command
    ├── ConfigProblem (ValueError)    the config or a secret's place: stop the start, exit 2
    │   ConfigError, SecretUnavailable, ProbeError
    ├── Unavailable                   a resource this process cannot have: stop, say which
    │   BufferUnavailable, TerminalUnavailable, StateRefused, ServerUnavailable
    ├── PeerError                     a device, broker or store answered wrongly or not at
    │   HttpRefused, ModbusLost,      all: retry with backoff, count, log throttled
    │   OpcUaError, WriteFailed, WriteRejected, QueryError
    └── control flow inside one module: BufferBlocked, Damaged, Stopped, NothingToRecover,
        ReportError

Each keeps the built-in base it had (``ValueError``, ``RuntimeError``,
``sqlite3.DatabaseError``) so that what caught it before still does.
"""

from __future__ import annotations


class CirclemadeError(Exception):
    """The base of every exception circlemade raises on purpose."""


class BadInput(CirclemadeError, ValueError):
    """Input that is refused: counted, said, and the rest goes on."""


class ConfigProblem(CirclemadeError, ValueError):
    """The config, or where a secret should come from, will not do."""


class Unavailable(CirclemadeError):
    """Something this process needs cannot be had (a file, a port, a state)."""


class PeerError(CirclemadeError):
    """A device, broker or store did not answer as it should."""
