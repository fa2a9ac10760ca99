"""The report's batches and series readiness (docs/metrics.md, batches): each batch that
started in the month as its last write says, and each product's learning curve and
readiness card as the month's last batch end left them."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]
BATCH_COLUMNS = ["batch", "product", "quantity", "good_parts", "remaining", "fpy",
                 "cycle_cv", "setup_s", "kwh_per_good_part", "g_per_good_part",
                 "co2e_kg_per_good_part", "cost_per_good_part", "cost_unknown"]
SERIES_COLUMNS = ["product", "batches", "learning_rate", "learning_rate_low",
                  "learning_rate_high", "ready", "failing"]


def batches(rows: dict[str, list[Row]], site: str, start: int, end: int) -> list[Row]:
    """The month's batches, in the order they started."""
    found = [row for row in rows.get("batch", [])
             if row.get("site") == site and start <= row["time"] < end]
    return sorted(found, key=lambda row: (row["time"], row["batch"]))


def series(rows: dict[str, list[Row]], site: str, start: int, end: int) -> list[Row]:
    """Per product: its learning rate and what its readiness card says, last in the month."""
    def last(measurement: str, *keys: str) -> dict[tuple[str, ...], Row]:
        kept: dict[tuple[str, ...], Row] = {}
        for row in sorted(rows.get(measurement, []), key=lambda r: r["time"]):
            if row.get("site") == site and start <= row["time"] < end:
                kept[tuple(str(row.get(k, "")) for k in keys)] = row
        return kept

    learning, card = last("learning", "product"), last("readiness", "product", "criterion")
    found = []
    for (product,), fit in sorted(learning.items()):
        criteria = {c: row for (p, c), row in card.items() if p == product}
        failing = [f"{c} off by {row.get('off_by', 0):.3g}" for c, row in sorted(criteria.items())
                   if c != "ready" and not row.get("passes")]
        ready = criteria.get("ready", {}).get("passes")
        found.append({"product": product, **fit, "ready": "yes" if ready else "no",
                      "failing": "; ".join(failing)})
    return found
