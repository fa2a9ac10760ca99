"""A table for the Variant type asyncua looks up for every value it decodes.

asyncua's ``variant_from_binary`` finds each value's type with ``VariantType(n)``, an Enum
call: at 10,000 monitored items a second that call alone was 14 % of the edge's CPU
(py-spy, bench/README.md). A dict gives the same member for every built-in type number;
anything else (custom types above 25, NodeIds, bad input) still goes to asyncua's own
function, so behaviour and errors are unchanged. Installed by the OPC UA gateway on import.
"""

from __future__ import annotations

from typing import Any

from asyncua import ua

_asyncua_lookup = ua.datatype_to_varianttype
_BY_NUMBER: dict[int, ua.VariantType] = {member.value: member for member in ua.VariantType}


def datatype_to_varianttype(int_type: Any) -> Any:
    if type(int_type) is int:
        member = _BY_NUMBER.get(int_type)
        if member is not None:
            return member
    return _asyncua_lookup(int_type)


def install() -> None:
    """Where ``variant_from_binary`` looks it up (``ua.datatype_to_varianttype``, at call
    time)."""
    ua.datatype_to_varianttype = datatype_to_varianttype
