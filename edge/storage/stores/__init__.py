"""The kinds of store points are written to: one module each, found here by its
``STORE`` declaration, as device profiles and commands are.

A store's module holds its writer (``write(lines)`` and ``close()`` of line protocol,
raising :class:`~edge.storage.influx_write.WriteFailed` for what a retry may heal and
:class:`~edge.storage.influx_write.WriteRejected` for what it cannot; ``prepare()``
when it has something to do first) and ``STORE = Store(api, Writer, description)``.
A config's ``[influx]`` or ``[[sinks]]`` entry chooses it with ``api = "<api>"``; the
sink, the buffer's queue per store, the status line and the retries come with it.
CONTRIBUTING.md has the recipe.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr

from contract.addresses import url
from edge.storage.influx_write import LineWriter
from edge.storage.point_reader import PointReader


class StoreSettings(Protocol):
    """What a writer reads of its store's config entry (``[influx]``, ``[[sinks]]``):
    the config's ``Influx`` model has all of it, and a store needs none of the rest."""

    @property
    def name(self) -> str: ...
    @property
    def api(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def database(self) -> str: ...
    @property
    def retention_policy(self) -> str | None: ...
    @property
    def bucket(self) -> str: ...
    @property
    def org(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def timeout_s(self) -> float: ...
    @property
    def account_id(self) -> int | None: ...
    @property
    def project_id(self) -> int: ...
    @property
    def read_url(self) -> str | None: ...
    @property
    def prometheus_url(self) -> str: ...

    def password(self) -> SecretStr | None: ...

    def token(self) -> SecretStr | None: ...


HTTP_URL = url("http", "https", example="http://192.0.2.10:8086")
"""The URL of a store reached over HTTP: the default of every kind but a file."""


@dataclass(frozen=True)
class Store:
    api: str
    """What ``api = "..."`` names it in the config."""
    writer: Callable[[StoreSettings], LineWriter]
    description: str
    """One line for the config reference."""
    reader: Callable[[StoreSettings], PointReader] | None = None
    """How its points are read back (edge/storage/point_reader.py): the report can use it
    (and Grafana, with the query language of its kind)."""
    check_url: Callable[[str], str] = HTTP_URL
    """Refuses, with a message in words, a ``url`` this kind of store cannot take."""
    marks_drafts: bool = False
    """Its writer is given drafts marked (edge/storage/line_protocol.py, ``DRAFT``);
    otherwise they come as every line, the final write replacing them."""

    @property
    def readable(self) -> bool:
        return self.reader is not None


def _declared() -> dict[str, Store]:
    found: dict[str, Store] = {}
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        store: Store | None = getattr(importlib.import_module(info.name), "STORE", None)
        if store is not None:
            if store.api in found:
                raise RuntimeError(f"store api {store.api!r} declared twice")
            found[store.api] = store
    return dict(sorted(found.items()))


STORES = _declared()
"""Every kind of store by its ``api`` name."""


def make_writer(config: StoreSettings) -> LineWriter:
    return STORES[config.api].writer(config)
