"""A file of JSON lines, one object per point: ``api = "json-lines"``,
``url = "file:///var/tmp/circlemade-points.jsonl"``. For debugging: what a store is sent,
readable with ``jq`` or ``tail -f``, beside the real stores as a ``[[sinks]]`` entry
(with its own queue, so it never holds them back)::

    {"measurement":"energy","tags":{"machine":"x1c","site":"atelier"},
     "fields":{"power_w":182.5},"time_ns":1796455311794047232}

Appends only; rotate it with logrotate's ``copytruncate``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson

from contract.addresses import file_url
from edge.storage.influx_write import WriteFailed
from edge.storage.line_protocol import parse
from edge.storage.stores import Store, StoreSettings


class JsonLinesWriter:
    def __init__(self, config: StoreSettings) -> None:
        self.path = Path(unquote(urlsplit(config.url).path))

    async def write(self, lines: list[str]) -> None:
        text = b"".join(orjson.dumps(vars(parse(line))) + b"\n" for line in lines)
        try:
            await asyncio.to_thread(self._append, text)
        except OSError as exc:
            raise WriteFailed(f"{self.path}: {exc.strerror}") from None

    def _append(self, text: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as file:
            file.write(text)

    async def close(self) -> None:
        """Nothing stays open between writes."""


STORE = Store("json-lines", JsonLinesWriter, "a local file of JSON lines, one per point "
              "(debugging)", check_url=file_url("file:///var/tmp/points.jsonl"))
