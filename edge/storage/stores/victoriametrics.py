"""VictoriaMetrics, single node or a cluster (vminsert, vmstorage, vmselect), a tenant per
account: ``api = "victoriametrics"``. Points go in as line protocol (``/write``, or
vminsert's ``/insert/<account>:<project>/influx/write``), where each numeric field
becomes the series ``<measurement>_<field>`` with the tags as labels.

VictoriaMetrics keeps numbers only: a string field would become a series of zeros, its
text lost (tests/test_victoria_rewrites.py). So each point's string fields are written
as labels of one more series, ``<measurement>__text``, whose value is when the edge
wrote it: a point rewritten with other words (a verdict's reason) leaves two such series
at its time, and the newest says what the point says now. Numbers rewritten at the same
time are kept once with ``-dedup.minScrapeInterval=1ms`` (docs/cluster.md); without it the
reader takes the last. The reader gives the points back as they were written
(``/api/v1/export``, or vmselect's ``/select/<account>:<project>/prometheus/...``).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import aiohttp
import orjson

from contract.eventlog import describe, log_event
from contract.schema import MEASUREMENTS
from edge.storage.influx_write import WriteFailed, classify
from edge.storage.line_protocol import escape_key
from edge.storage.point_reader import Row
from edge.storage.stores import Store, StoreSettings

TEXT = "__text"
"""The suffix of a measurement's series that holds its string fields as labels."""
_PARTS = re.compile(r'(?:[^\s"\\]|\\.|"(?:[^"\\]|\\.)*")+')
_FIELD = re.compile(r'((?:[^,=\\]|\\.)+)=((?:"(?:[^"\\]|\\.)*")|(?:[^,\\]|\\.)*)')
_UNQUOTE = re.compile(r"\\(.)")


def with_text_labels(line: str, written_s: float) -> list[str]:
    """A line as VictoriaMetrics can keep it: its numbers, and its words as labels of
    ``<measurement>__text`` (valued at ``written_s``, the newest wins)."""
    head, body, stamp = _PARTS.findall(line)
    numbers, words = [], []
    for key, value in _FIELD.findall(body):
        if value.startswith('"'):
            text = _UNQUOTE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1),
                                value[1:-1])
            words.append(f"{key}={escape_key(text)}" if text else "")
        else:
            numbers.append(f"{key}={value}")
    out = [f"{head} {','.join(numbers)} {stamp}"] if numbers else []
    measurement, _, tags = head.partition(",")
    labels = ",".join(w for w in words if w)
    if words:
        out.append(f"{measurement}{',' + tags if tags else ''}"
                   f"{',' + labels if labels else ''} {TEXT[1:]}={written_s!r} {stamp}")
    return out


def newest(lines: list[str]) -> list[str]:
    """The last line of each point (series and time) in a batch: a point written twice
    in one request would leave VictoriaMetrics to choose, and it keeps the first."""
    last: dict[tuple[str, str], str] = {}
    for line in lines:
        head, _, stamp = _PARTS.findall(line)
        last.pop((head, stamp), None)
        last[(head, stamp)] = line
    return list(last.values())


class VictoriaWriter:
    def __init__(self, config: StoreSettings) -> None:
        self._config = config
        tenant = config.account_id
        self._path = "write" if tenant is None else \
            f"insert/{tenant}:{config.project_id}/influx/write"
        self._session: aiohttp.ClientSession | None = None

    async def prepare(self) -> None:
        """A single node that keeps both samples of a point written twice is told of:
        what reads it back could show the older (docs/cluster.md)."""
        if self._config.account_id is not None:
            return  # a cluster's vmstorage and vmselect hold the flag, not vminsert
        if self._session is None:
            self._session = _session(self._config, self._config.url)
        try:
            async with self._session.get("flags") as response:
                flags = await response.text() if response.status == 200 else ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(describe(exc)) from None
        if flags and "dedup.minScrapeInterval" not in flags:
            log_event("victoria.no_dedup", logging.WARNING, url=self._config.url,
                      fix="run it with -dedup.minScrapeInterval=1ms: a rewritten point "
                          "(a verdict, a late reading) is then kept once, the newest")

    async def write(self, lines: list[str]) -> None:
        now = time.time()
        body = "\n".join(out for line in newest(lines)
                         for out in with_text_labels(line, now)).encode()
        if self._session is None:
            self._session = _session(self._config, self._config.url)
        try:
            async with self._session.post(self._path, data=body) as response:
                if response.status not in (200, 204):
                    raise classify(response.status, await response.text(),
                                   response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(describe(exc)) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class VictoriaPoints:
    """The points of a measurement as written: a row per tags and time."""

    def __init__(self, config: StoreSettings) -> None:
        tenant = config.account_id
        self._path = "api/v1/export" if tenant is None else \
            f"select/{tenant}:{config.project_id}/prometheus/api/v1/export"
        self._session = _session(config, config.read_url or config.url, timeout_s=120)

    async def rows(self, measurement: str, start_ns: int, end_ns: int,
                   with_tag: str | None = None) -> list[Row]:
        only = f',{with_tag}!=""' if with_tag else ""
        params = {"match[]": f'{{__name__=~"{_names(measurement)}"{only}}}',
                  "start": f"{start_ns / 1e9:.3f}", "end": f"{(end_ns - 1) / 1e9:.3f}"}
        async with self._session.get(self._path, params=params) as response:
            if response.status != 200:
                raise WriteFailed(f"{self._path}: HTTP {response.status}: "
                                  f"{(await response.text())[:120]}")
            series = [orjson.loads(line) for line in (await response.read()).splitlines()]
        return _rows(measurement, series)

    async def close(self) -> None:
        await self._session.close()


def _names(measurement: str) -> str:
    """The series of a measurement's fields, and of its words: exactly those (``job_`` is
    also where ``job_event``'s series begin)."""
    spec = MEASUREMENTS.get(measurement)
    fields = [re.escape(f) for f, field in (spec.fields.items() if spec else [])
              if field.type != "string"]
    return f"{re.escape(measurement)}_({'|'.join([*fields, TEXT[1:]])})" if spec else \
        f"{re.escape(measurement)}_.+"


def _rows(measurement: str, series: list[dict[str, Any]]) -> list[Row]:
    spec = MEASUREMENTS.get(measurement)
    tag_names = set(spec.tags) if spec is not None else set()
    rows: dict[tuple[tuple[tuple[str, str], ...], int], Row] = {}
    newest: dict[tuple[tuple[tuple[str, str], ...], int], float] = {}
    for s in series:
        labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
        field = s["metric"]["__name__"][len(measurement) + 1:]
        tags = tuple(sorted((k, v) for k, v in labels.items() if k in tag_names))
        for value, stamp in zip(s["values"], s["timestamps"], strict=True):
            key = (tags, int(stamp))
            row = rows.setdefault(key, {**dict(tags), "time": int(stamp) * 1_000_000})
            if field != TEXT[1:]:
                row[field] = value  # a rewrite: the last sample (one with dedup)
            elif value >= newest.get(key, float("-inf")):
                newest[key] = value
                for name in [n for n in row if n not in tag_names and n != "time"
                             and isinstance(row[n], str)]:
                    del row[name]
                row.update({k: v for k, v in labels.items() if k not in tag_names})
    return [rows[key] for key in sorted(rows, key=lambda k: k[1])]


def _session(config: StoreSettings, base: str, timeout_s: float | None = None,
             ) -> aiohttp.ClientSession:
    password, token = config.password(), config.token()
    auth = aiohttp.BasicAuth(config.username, password.get_secret_value() if password
                             else "") if config.username else None
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    return aiohttp.ClientSession(base_url=base.rstrip("/") + "/", auth=auth, headers=headers,
                                 timeout=aiohttp.ClientTimeout(
                                     total=timeout_s or config.timeout_s))


STORE = Store("victoriametrics", VictoriaWriter,
              "VictoriaMetrics, single node or a cluster's tenant (account, project)",
              reader=VictoriaPoints)
