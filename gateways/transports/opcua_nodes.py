"""Finding an OPC UA source's nodes on a server: by browse path under its root (one
Browse request per parent, :class:`Children`) or by node id, a namespace URI standing for
its index."""

from __future__ import annotations

from typing import Any

from asyncua import Client, Node

from contract.errors import PeerError
from contract.eventlog import Throttle
from gateways.transports.opcua_settings import NodeAddress, OpcUaSettings


class OpcUaError(PeerError):
    """A reason to drop the connection and start again."""


async def resolve(client: Client, source: OpcUaSettings, throttle: Throttle,
                  route: str) -> dict[str, Node]:
    """The source's nodes on this server, found again on every connection (by path or
    namespace URI: indexes can move); one that is missing is told once and skipped."""
    children = Children()
    root = await browse_path(client.nodes.objects, source.root, children)
    if root is None:
        raise OpcUaError(f"root {source.root!r} not found under Objects")
    nodes: dict[str, Node] = {}
    for spec in source.node_specs():
        node = await _node(client, root, spec, children)
        if node is None:
            throttle.event(f"missing|{spec.key}", "opcua.node_not_found", route=route,
                           node=spec.key)
        else:
            nodes[spec.key] = node
    if not nodes:
        raise OpcUaError("none of the configured nodes exists on the server")
    return nodes


async def _node(client: Client, root: Node, spec: NodeAddress, children: Children,
                ) -> Node | None:
    if spec.path is not None:
        return await browse_path(root, spec.path, children)
    assert spec.node_id is not None
    if spec.node_id.startswith("nsu="):
        uri, _, identifier = spec.node_id[4:].partition(";")
        try:
            index = await client.get_namespace_index(uri)
        except ValueError:
            return None
        return client.get_node(f"ns={index};{identifier}")
    return client.get_node(spec.node_id)


class Children:
    """Each parent's children by browse name, from one Browse request per parent.

    Reading browse names child by child made resolving N nodes under one parent N x N
    round trips: 10,000 nodes did not resolve in five minutes (bench/README.md)."""

    def __init__(self) -> None:
        self._known: dict[Any, list[tuple[str, Node]]] = {}

    async def of(self, parent: Node) -> list[tuple[str, Node]]:
        if parent.nodeid not in self._known:
            descriptions = await parent.get_children_descriptions()
            self._known[parent.nodeid] = [(d.BrowseName.Name, Node(parent.session, d.NodeId))
                                          for d in descriptions]
        return self._known[parent.nodeid]


async def browse_path(start: Node, path: str, children: Children | None = None) -> Node | None:
    """Follow ``A/B/C`` by browse name (any namespace); ``*`` takes the first child."""
    children = children or Children()
    node = start
    for name in [p for p in path.split("/") if p]:
        match = next((child for child_name, child in await children.of(node)
                      if name in ("*", child_name)), None)
        if match is None:
            return None
        node = match
    return node
