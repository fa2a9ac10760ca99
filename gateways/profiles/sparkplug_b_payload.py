"""The Sparkplug B payload (``org.eclipse.tahu.protobuf.Payload``), defined in code.

The message layout follows the Sparkplug 3.0 specification's payload definition, with
the field numbers of its ``sparkplug_b.proto``. Only the parts the edge reads or the
simulator writes are declared (payload timestamp, metrics, seq, uuid, body; metric name,
alias, timestamp, datatype, flags, properties and scalar values); protobuf skips the
rest (datasets, templates, metadata) as unknown fields. Building the descriptor here,
in its own pool, needs no protoc step and no generated code tied to one protobuf release.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
OPTIONAL, REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED

# Sparkplug B DataType codes (specification, section 6.4.16)
INT8, INT16, INT32, INT64 = 1, 2, 3, 4
UINT8, UINT16, UINT32, UINT64 = 5, 6, 7, 8
FLOAT, DOUBLE, BOOLEAN, STRING, DATETIME, TEXT = 9, 10, 11, 12, 13, 14

PACKAGE = "org.eclipse.tahu.protobuf"


def _message(parent: Any, name: str, fields: list[tuple[str, int, int, int, str | None, bool]],
             ) -> Any:
    message = parent.add(name=name)
    for field_name, number, label, field_type, type_name, in_oneof in fields:
        field = message.field.add(name=field_name, number=number, label=label, type=field_type)
        if type_name:
            field.type_name = type_name
        if in_oneof:
            field.oneof_index = 0
    if any(f[5] for f in fields):
        message.oneof_decl.add(name="value")
    return message


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="circlemade/sparkplug_b.proto", package=PACKAGE, syntax="proto2")
    payload = proto.message_type.add(name="Payload")
    scalars = [("int_value", _F.TYPE_UINT32), ("long_value", _F.TYPE_UINT64),
               ("float_value", _F.TYPE_FLOAT), ("double_value", _F.TYPE_DOUBLE),
               ("boolean_value", _F.TYPE_BOOL), ("string_value", _F.TYPE_STRING)]
    _message(payload.nested_type, "PropertyValue", [
        ("type", 1, OPTIONAL, _F.TYPE_UINT32, None, False),
        ("is_null", 2, OPTIONAL, _F.TYPE_BOOL, None, False),
        *[(name, 3 + i, OPTIONAL, kind, None, True) for i, (name, kind) in enumerate(scalars)],
    ])
    _message(payload.nested_type, "PropertySet", [
        ("keys", 1, REPEATED, _F.TYPE_STRING, None, False),
        ("values", 2, REPEATED, _F.TYPE_MESSAGE, f".{PACKAGE}.Payload.PropertyValue", False),
    ])
    _message(payload.nested_type, "Metric", [
        ("name", 1, OPTIONAL, _F.TYPE_STRING, None, False),
        ("alias", 2, OPTIONAL, _F.TYPE_UINT64, None, False),
        ("timestamp", 3, OPTIONAL, _F.TYPE_UINT64, None, False),
        ("datatype", 4, OPTIONAL, _F.TYPE_UINT32, None, False),
        ("is_historical", 5, OPTIONAL, _F.TYPE_BOOL, None, False),
        ("is_transient", 6, OPTIONAL, _F.TYPE_BOOL, None, False),
        ("is_null", 7, OPTIONAL, _F.TYPE_BOOL, None, False),
        ("properties", 9, OPTIONAL, _F.TYPE_MESSAGE, f".{PACKAGE}.Payload.PropertySet", False),
        *[(name, 10 + i, OPTIONAL, kind, None, True) for i, (name, kind) in enumerate(scalars)],
        ("bytes_value", 16, OPTIONAL, _F.TYPE_BYTES, None, True),
    ])
    for name, number, label, kind, type_name in [
        ("timestamp", 1, OPTIONAL, _F.TYPE_UINT64, None),
        ("metrics", 2, REPEATED, _F.TYPE_MESSAGE, f".{PACKAGE}.Payload.Metric"),
        ("seq", 3, OPTIONAL, _F.TYPE_UINT64, None),
        ("uuid", 4, OPTIONAL, _F.TYPE_STRING, None),
        ("body", 5, OPTIONAL, _F.TYPE_BYTES, None),
    ]:
        field = payload.field.add(name=name, number=number, label=label, type=kind)
        if type_name:
            field.type_name = type_name
    return proto


_pool = descriptor_pool.DescriptorPool()
_pool.Add(_file())
Payload: Any = message_factory.GetMessageClass(_pool.FindMessageTypeByName(f"{PACKAGE}.Payload"))
"""The protobuf message class: ``Payload.FromString(raw)``, ``Payload(...).SerializeToString()``."""

_SIGNED = {INT8: 8, INT16: 16, INT32: 32, INT64: 64}


def metric_value(metric: Any) -> float | str | None:
    """A metric's value as a float (numbers, booleans) or a string; None when null."""
    which = metric.WhichOneof("value")
    if metric.is_null or which is None:
        return None
    value = getattr(metric, which)
    if which == "string_value":
        return str(value)
    if which == "bytes_value":
        return None
    bits = _SIGNED.get(metric.datatype)
    if bits is not None and isinstance(value, int):
        stored = 32 if bits < 64 else 64  # int_value is uint32: two's complement of 32 bits
        if value >= 2 ** (stored - 1):
            value -= 2**stored
    return float(value)


def add_metric(payload: Any, name: str | None, value: float | bool | str, datatype: int,
               alias: int | None = None, timestamp_ms: int | None = None) -> None:
    """Append a metric (for simulators and tests)."""
    metric = payload.metrics.add()
    if name is not None:
        metric.name = name
    if alias is not None:
        metric.alias = alias
    if timestamp_ms is not None:
        metric.timestamp = timestamp_ms
    metric.datatype = datatype
    if datatype == BOOLEAN:
        metric.boolean_value = bool(value)
    elif datatype in (STRING, TEXT):
        metric.string_value = str(value)
    elif datatype == FLOAT:
        metric.float_value = float(value)
    elif datatype == DOUBLE:
        metric.double_value = float(value)
    elif datatype in (INT64, UINT64, DATETIME):
        metric.long_value = int(value) % 2**64
    else:
        metric.int_value = int(value) % 2**32
