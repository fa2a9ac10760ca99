"""The settings of storage: each store the points go to, and the durable buffer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contract.model import Identifier, PositiveSeconds, StrictModel, one_of
from contract.schema import MEASUREMENTS
from contract.secrets import read_secret
from edge.storage.stores import STORES


class Influx(StrictModel):
    """A store the points are written to: ``[influx]`` (the first) and each ``[[sinks]]``.
    Each has its own queue in the buffer, so one store's outage never holds back another."""

    name: Identifier = "influx"
    """Names this store in ``circlemade status``, the logs and the health counters (source
    ``sink-<name>``; the first store's keep ``sink`` and ``buffer``)."""
    api: str
    """The kind of store (edge/storage/stores/): v1: ``/write?db=&rp=`` (InfluxDB 1.x);
    v2: ``/api/v2/write`` (2.x, 3.x, 1.8+); victoriametrics: a VictoriaMetrics server or
    cluster, a tenant per account; json-lines: a local file, for debugging."""
    url: str
    """Where InfluxDB (or a server speaking its write API) answers, without credentials;
    json-lines: ``file:///path``."""
    database: str = "circlemade"
    """v1: the database, created when missing."""
    retention_policy: str | None = None
    """v1: a retention policy of the database (its default when unset)."""
    bucket: str = "circlemade"
    """v2: the bucket (InfluxDB 3: the database)."""
    org: str = "circlemade"
    """v2: the organisation."""
    username: str | None = None
    """v1: basic auth user, with the password from password_env or password_file."""
    password_env: str | None = None
    """v1: environment variable holding the password."""
    password_file: Path | None = None
    """v1: file holding the password."""
    token_env: str | None = None
    """v2: environment variable holding the API token."""
    token_file: Path | None = None
    """v2: file holding the API token (e.g. a systemd credential)."""
    account_id: int | None = Field(default=None, ge=0)
    """victoriametrics: the tenant's account in a VictoriaMetrics cluster (written through
    vminsert's ``/insert/<account>:<project>/``, read through vmselect's ``/select/...``);
    unset: a single-node VictoriaMetrics."""
    project_id: int = Field(default=0, ge=0)
    """victoriametrics: the tenant's project within its account."""
    read_url: str | None = None
    """victoriametrics: where its points are read: a cluster's vmselect (e.g.
    ``http://vmselect:8481``, the tenant's ``/select/<account>:<project>/prometheus`` is
    added), or a whole Prometheus API root under ``/select/`` (e.g.
    ``http://vmselect:8481/select/multitenant/prometheus``: every tenant); unset: ``url``."""
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 5000
    """Points per write request."""
    flush_interval_s: PositiveSeconds = 0.1
    """How long a small batch waits to grow before it is written."""
    timeout_s: PositiveSeconds = 10.0
    """Per write request."""
    retry_min_s: PositiveSeconds = 0.5
    """Backoff after a failed write, doubling up to retry_max_s (a Retry-After is obeyed)."""
    retry_max_s: PositiveSeconds = 30.0
    """The backoff's cap."""
    measurements: list[str] | None = None
    """Which measurements this store receives, e.g. ``["job", "oee", "circularity",
    "downtime", "scrap", "material_lot", "energy_hourly", "alert", "edge_health"]`` for a
    central store that wants KPIs, not 1 Hz telemetry; unset: all of them."""
    max_points: int | None = Field(default=None, ge=1000)
    """This store's own bound of points waiting in the buffer; unset: [buffer] max_points."""
    max_age_s: float | None = Field(default=None, gt=0)
    """This store's own bound of the age of waiting points; unset: [buffer] max_age_s."""

    @field_validator("measurements")
    @classmethod
    def _known_measurements(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            if name not in MEASUREMENTS:
                raise ValueError(f"unknown measurement {name!r}; expected some of: "
                                 f"{', '.join(MEASUREMENTS)}")
        return names

    @field_validator("api")
    @classmethod
    def _known_store(cls, api: str) -> str:
        return one_of(api, STORES, "kind of store")

    @field_validator("url")
    @classmethod
    def _store_url(cls, value: str, info: ValidationInfo) -> str:
        """The URL its kind of store takes (a file store: ``file:///path``)."""
        store = STORES.get(info.data.get("api", ""))
        return value if store is None else store.check_url(value)

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        if "@" in urlsplit(url).netloc:
            raise PydanticCustomError(
                "url_credentials", "credentials must not be written in the URL (they would "
                "be logged); give username with password_env or password_file, or token_env "
                "or token_file")
        return url

    @property
    def prometheus_url(self) -> str:
        """victoriametrics: the root of the Prometheus API its points are read through."""
        base = (self.read_url or self.url).rstrip("/")
        if "/select/" in base or self.account_id is None:
            return base
        return f"{base}/select/{self.account_id}:{self.project_id}/prometheus"

    def token(self) -> SecretStr | None:
        return read_secret(self.token_env, self.token_file)

    def password(self) -> SecretStr | None:
        return read_secret(self.password_env, self.password_file)


class BufferSettings(StrictModel):
    path: Path | None = None
    """SQLite file; default $XDG_STATE_HOME/circlemade/<site>-<target>.sqlite."""
    max_points: int = Field(default=5_000_000, ge=1000)
    """Past this many points waiting, the oldest are dropped and counted."""
    max_bytes: int = Field(default=2_000_000_000, ge=1_000_000)
    """Bound of the file's pages in use; past it (like past max_points or max_age_s) the
    oldest points are dropped and counted."""
    max_age_s: float = Field(default=7 * 86400, gt=0)
    """Points older than this are dropped and counted (default 7 days)."""
    min_free_bytes: int = Field(default=50_000_000, ge=0)
    """Free space the buffer leaves on its disk: below it nothing is appended and nothing
    acknowledged (the broker keeps the messages) until the sink has made room."""
    fsync: bool = True
    """Each commit is on the disk (fsync) before its messages are acknowledged, so a power
    cut loses nothing acknowledged; false saves the fsync per batch on slow SD cards and
    keeps only what survives a killed process."""
