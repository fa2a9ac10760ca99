"""What the dashboards read of a site's config, as protocols: they are written from the
config file by ``circlemade dashboards`` but depend on no part of the edge (the config's
models are edge/service/config.py's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Store(Protocol):
    """The store Grafana reads (``[influx]``)."""

    @property
    def api(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def database(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def username(self) -> str | None: ...
    @property
    def token_env(self) -> str | None: ...
    @property
    def password_env(self) -> str | None: ...
    @property
    def token_file(self) -> object | None: ...
    @property
    def account_id(self) -> int | None: ...
    @property
    def read_url(self) -> str | None: ...
    @property
    def prometheus_url(self) -> str: ...


class Member(Protocol):
    @property
    def id(self) -> str: ...


class Cluster(Protocol):
    @property
    def sites(self) -> Sequence[Member]: ...


class SiteConfig(Protocol):
    @property
    def influx(self) -> Store: ...
    @property
    def cluster(self) -> Cluster: ...

    def shown_names(self, sites: list[str]) -> dict[str, str]: ...
