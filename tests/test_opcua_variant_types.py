"""The Variant type table gives asyncua's own answers, and asyncua's decoder uses it."""

from __future__ import annotations

from typing import Any

import pytest
from asyncua import ua
from asyncua.ua import ua_binary

from gateways.transports import opcua_variant_types

CASES: list[Any] = [*range(-2, 70), ua.NodeId(11), ua.NodeId(30), "11", 11.0, True, None]


def answer(lookup: Any, value: Any) -> Any:
    try:
        return lookup(value)
    except Exception as error:  # the same error is part of the same answer
        return type(error), str(error)


@pytest.mark.parametrize("value", CASES, ids=repr)
def test_same_answer_as_asyncua(value: Any) -> None:
    theirs = answer(opcua_variant_types._asyncua_lookup, value)
    ours = answer(opcua_variant_types.datatype_to_varianttype, value)
    assert ours == theirs and type(ours) is type(theirs)


def test_the_gateway_installs_it_where_the_decoder_looks() -> None:
    import gateways.transports.opcua  # noqa: F401 - installs the table

    assert ua.datatype_to_varianttype is opcua_variant_types.datatype_to_varianttype
    for value in [3.5, 7, "spindle", [1.0, 2.0]]:
        variant = ua.Variant(value)
        encoded = ua_binary.variant_to_binary(variant)
        decoded = ua_binary.variant_from_binary(ua.utils.Buffer(encoded))
        assert decoded.VariantType is variant.VariantType and decoded.Value == value
