"""The figures of a set of jobs of one product (a batch, or a product's day or month), by
the formulas of docs/metrics.md (batches and products)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median, pstdev

from contract.product_points import COST_PARTS
from edge.pipeline.kpi.batch_memory import BatchJob


def figures(jobs: Sequence[BatchJob], setup_s: float, co2e_kg_per_kwh: float,
            labour_counted: bool) -> dict[str, float | str]:
    """``labour_counted``: the site prices labour; if not, labour is left out of the cost
    rather than unknown."""
    good = sum(j.good for j in jobs)
    scrap = sum(j.scrap for j in jobs)
    parts, run_s = good + scrap, sum(j.seconds for j in jobs)
    found: dict[str, float | str] = {"jobs": float(len(jobs)), "parts": parts,
                                     "good_parts": good, "setup_s": setup_s, "run_s": run_s}
    if parts:
        found |= {"fpy": sum(j.first_good for j in jobs) / parts, "scrap_ratio": scrap / parts,
                  "rework_ratio": sum(j.rework for j in jobs) / parts}
    if setup_s + run_s:
        found["setup_ratio"] = setup_s / (setup_s + run_s)
    found |= cycle(jobs)
    energy, material = sum(j.energy_kwh for j in jobs), sum(j.material_g for j in jobs)
    recycled = sum(j.recycled_g for j in jobs)
    found |= {"energy_kwh": energy, "material_g": material, "recycled_g": recycled}
    if good:
        found |= {"kwh_per_good_part": energy / good, "g_per_good_part": material / good,
                  "recycled_g_per_good_part": recycled / good,
                  "co2e_kg_per_good_part": energy * co2e_kg_per_kwh / good}
        found |= cost(jobs, good, labour_counted)
    return found


def cycle(jobs: Sequence[BatchJob]) -> dict[str, float | str]:
    """Median time per good part, and its coefficient of variation (population sd / mean)."""
    per_part = [j.seconds / j.good for j in jobs if j.good > 0]
    found: dict[str, float | str] = {}
    if per_part:
        found["cycle_s"] = median(per_part)
    if len(per_part) >= 2:
        found["cycle_cv"] = pstdev(per_part) / (sum(per_part) / len(per_part))
    return found


def cost(jobs: Sequence[BatchJob], good: float, labour_counted: bool,
         ) -> dict[str, float | str]:
    """Each part of the cost per good part apart; a part with a price missing in any job
    is unknown, and so is the total."""
    found: dict[str, float | str] = {}
    unknown, total = [], 0.0
    for part in COST_PARTS:
        if part == "labour" and not labour_counted:
            continue
        spent = [j.eur.get(part) for j in jobs]
        if any(eur is None for eur in spent):
            unknown.append(part)
            continue
        per_good = sum(eur or 0.0 for eur in spent) / good
        found[f"{part}_eur_per_good_part"] = per_good
        total += per_good
    if not unknown:
        found["cost_per_good_part"] = total
    found["cost_unknown"] = ",".join(unknown)
    return found
