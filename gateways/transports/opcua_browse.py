"""``circlemade opcua browse``: the address space as a tree, to write a config from.

Each line: browse path from Objects, node id with its namespace URI (stable across server
restarts, unlike the index), data type and current value of variables.
"""

from __future__ import annotations

from typing import Any

from asyncua import Client, ua

from gateways.transports.opcua_nodes import browse_path


async def browse(endpoint: str, depth: int = 4, start: str = "", timeout_s: float = 10,
                 ) -> list[str]:
    lines: list[str] = []
    async with Client(endpoint, timeout=timeout_s) as client:
        namespaces = await client.get_namespace_array()
        node = client.nodes.objects
        if start:
            found = await browse_path(node, start)
            if found is None:
                raise LookupError(f"{start!r} not found under Objects")
            node = found
        await _walk(node, start.strip("/"), depth, namespaces, lines)
    return lines


async def _walk(node: Any, path: str, depth: int, namespaces: list[str],
                lines: list[str]) -> None:
    if depth <= 0:
        return
    for child in await node.get_children(refs=ua.ObjectIds.HierarchicalReferences):
        name = (await child.read_browse_name()).Name
        if not path and name in ("Server", "Aliases"):
            continue  # the server's own diagnostics: large and not about the machine
        child_path = f"{path}/{name}" if path else name
        node_class = await child.read_node_class()
        detail = ""
        if node_class == ua.NodeClass.Variable:
            try:
                value = await child.read_data_value()
                variant = value.Value
                detail = f"  {variant.VariantType.name}  {variant.Value!r:.60}"
            except Exception as exc:  # a node the server will not read is still listed
                detail = f"  (unreadable: {type(exc).__name__})"
        lines.append(f"{child_path}  {_stable_id(child.nodeid, namespaces)}{detail}")
        if node_class == ua.NodeClass.Object:
            await _walk(child, child_path, depth - 1, namespaces, lines)


def _stable_id(node_id: Any, namespaces: list[str]) -> str:
    text = str(node_id.to_string())
    if node_id.NamespaceIndex == 0:
        return text
    identifier = text.split(";", 1)[1]
    return f"nsu={namespaces[node_id.NamespaceIndex]};{identifier}"
