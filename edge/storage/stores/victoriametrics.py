"""VictoriaMetrics, single node or a cluster (vminsert, vmstorage, vmselect), a tenant per
account: ``api = "victoriametrics"``. Points go in as line protocol (``/write``, or
vminsert's ``/insert/<account>:<project>/influx/write``), where each numeric field
becomes the series ``<measurement>_<field>`` with the tags as labels.

A point is written at its whole second plus its revision in milliseconds
(victoria_revisions.py): with ``-dedup.minScrapeInterval=1s`` the store keeps its newest
write, whatever the value. VictoriaMetrics keeps numbers only: a string field would
become a series of zeros, its text lost (tests/test_victoria_rewrites.py). So each
point's string fields are written as labels of one more series, ``<measurement>__text``,
valued at when the edge wrote it; a point rewritten with other words (a verdict's
reason) leaves two such series at its second, and the one of the last revision says what
the point says now. The reader gives the points back as last written
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
from edge.storage.line_protocol import DRAFT, escape_key, series_key
from edge.storage.point_reader import Row
from edge.storage.stores import Store, StoreSettings
from edge.storage.stores.victoria_revisions import Key, Revisions, revisions_for

TEXT = "__text"
"""The suffix of a measurement's series that holds its string fields as labels."""
_PARTS = re.compile(r'(?:[^\s"\\]|\\.|"(?:[^"\\]|\\.)*")+')
_FIELD = re.compile(r'((?:[^,=\\]|\\.)+)=((?:"(?:[^"\\]|\\.)*")|(?:[^,\\]|\\.)*)')
_UNQUOTE = re.compile(r"\\(.)")
NS = 1_000_000_000


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


def latest(lines: list[str]) -> dict[Key, tuple[bool, str]]:
    """The last write of each point (series and second) in a batch, and whether it is a
    draft: a final write is never replaced by a draft."""
    last: dict[Key, tuple[bool, str]] = {}
    for line in lines:
        draft = line.startswith(DRAFT)
        head, body, stamp = _PARTS.findall(line[len(DRAFT):] if draft else line)
        key = (head, int(stamp) // NS)
        if draft and key in last and not last[key][0]:
            continue
        last.pop(key, None)
        last[key] = (draft, body)
    return last


class VictoriaWriter:
    def __init__(self, config: StoreSettings) -> None:
        self._config = config
        tenant = config.account_id
        self._path = "write" if tenant is None else \
            f"insert/{tenant}:{config.project_id}/influx/write"
        self._session: aiohttp.ClientSession | None = None
        self._revisions = Revisions(int(time.time()))
        readable = tenant is None or config.read_url
        self._points = VictoriaPoints(config) if readable else None

    async def prepare(self) -> None:
        """A single node that keeps more than one sample per series and second is told
        of: dashboards would count a rewritten point twice (docs/cluster.md)."""
        if self._config.account_id is not None:
            return  # a cluster's vmstorage and vmselect hold the flag, not vminsert
        if self._session is None:
            self._session = _session(self._config, self._config.url)
        try:
            async with self._session.get("flags") as response:
                flags = await response.text() if response.status == 200 else ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(describe(exc)) from None
        if flags and '-dedup.minScrapeInterval="1s"' not in flags:
            log_event("victoria.no_dedup", logging.WARNING, url=self._config.url,
                      fix="run it with -dedup.minScrapeInterval=1s: it then keeps the "
                          "newest write of a point (a verdict, a late reading), once")

    async def write(self, lines: list[str]) -> None:
        now = time.time()
        last = latest(lines)
        lookup = self._points.revisions if self._points is not None else None
        revisions = await revisions_for(
            self._revisions, [(key, draft) for key, (draft, _) in last.items()], lookup)
        body = "\n".join(out for (head, second), (_, fields) in last.items()
                         for out in with_text_labels(
                             f"{head} {fields} {(second * 1000 + revisions[(head, second)])}"
                             "000000", now)).encode()
        if self._session is None:
            self._session = _session(self._config, self._config.url)
        try:
            async with self._session.post(self._path, data=body) as response:
                if response.status not in (200, 204):
                    raise classify(response.status, await response.text(),
                                   response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(describe(exc)) from None
        self._revisions.written(revisions)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._points is not None:
            await self._points.close()


class VictoriaPoints:
    """The points of a measurement as written: a row per tags and second."""

    def __init__(self, config: StoreSettings) -> None:
        self._config = config
        self._path = "api/v1/export"
        self._session: aiohttp.ClientSession | None = None

    async def rows(self, measurement: str, start_ns: int, end_ns: int,
                   with_tag: str | None = None) -> list[Row]:
        only = f',{with_tag}!=""' if with_tag else ""
        series = await self._export(f'{{__name__=~"{_names(measurement)}"{only}}}',
                                    start_ns / NS, (end_ns - 1) / NS)
        return _rows(measurement, series)

    async def revisions(self, keys: list[Key]) -> dict[Key, int]:
        """The revisions the store holds of these points (victoria_revisions.py), one
        question per measurement and site."""
        asked: dict[tuple[str, str], list[int]] = {}
        for head, second in keys:
            measurement, _, tag_text = head.partition(",")
            site = _UNQUOTE.sub(r"\1", dict(_FIELD.findall(tag_text)).get("site", ""))
            asked.setdefault((measurement, site), []).append(second)
        found: dict[Key, int] = {}
        for (measurement, site), seconds in asked.items():
            spec = MEASUREMENTS.get(measurement)
            only = f',site="{site}"' if site else ""
            for s in await self._export(f'{{__name__=~"{_names(measurement)}"{only}}}',
                                        min(seconds), max(seconds) + 0.999):
                head = series_key(measurement, [(k, v) for k, v in s["metric"].items()
                                                 if spec is not None and k in spec.tags])
                for stamp in s["timestamps"]:
                    key = (head, stamp // 1000)
                    found[key] = max(found.get(key, 0), stamp % 1000)
        return found

    async def _export(self, match: str, start_s: float, end_s: float,
                      ) -> list[dict[str, Any]]:
        if self._session is None:
            self._session = _session(self._config, self._config.prometheus_url,
                                     timeout_s=120)
        params = {"match[]": match, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}"}
        try:
            async with self._session.get(self._path, params=params) as response:
                if response.status != 200:
                    raise WriteFailed(f"{self._path}: HTTP {response.status}: "
                                      f"{(await response.text())[:120]}")
                return [orjson.loads(line) for line in (await response.read()).splitlines()]
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WriteFailed(describe(exc)) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


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
    newest: dict[tuple[tuple[tuple[str, str], ...], int], tuple[int, float]] = {}
    for s in series:
        labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
        field = s["metric"]["__name__"][len(measurement) + 1:]
        tags = tuple(sorted((k, v) for k, v in labels.items() if k in tag_names))
        for value, stamp in zip(s["values"], s["timestamps"], strict=True):
            key = (tags, int(stamp) // 1000)  # its second; the milliseconds: its revision
            row = rows.setdefault(key, {**dict(tags), "time": key[1] * NS})
            if field != TEXT[1:]:
                row[field] = value  # samples come in time order: the last is the newest
            elif (int(stamp) % 1000, value) >= newest.get(key, (-1, 0.0)):
                newest[key] = (int(stamp) % 1000, value)  # the last revision, written last
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
              reader=VictoriaPoints, marks_drafts=True)
