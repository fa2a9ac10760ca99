"""``[neighbours]``: the noise limits of the environmental permit by period of the day,
and the air limits the daily counts are kept against (docs/metrics.md, neighbours)."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from contract.model import StrictModel


class NoisePeriod(StrictModel):
    """E.g. ``{ name = "night", start = "22:00", end = "07:00", laeq_max_db = 45 }``."""

    name: str = Field(min_length=1)
    """Becomes the ``period`` tag of its ``noise`` windows."""
    start: time
    """Local time it begins, in the site's time zone."""
    end: time
    """Local time it ends; an end at or before the start runs past midnight."""
    laeq_max_db: float = Field(gt=0, le=160)
    """The permit's limit for the period's LAeq, dB(A)."""


class NeighbourSettings(StrictModel):
    periods: list[NoisePeriod] = Field(default_factory=list)
    """The permit's periods; a time no period holds has no limit (no period window)."""
    pm2_5_guideline_ugm3: float = Field(default=15.0, gt=0)
    """An hour whose mean PM2.5 is above this counts in ``pm2_5_hours_over`` (the WHO's
    2021 24-hour guideline: 15 ug/m3)."""
    voc_index_max: float = Field(default=250.0, gt=0)
    """An hour whose mean VOC index is above this counts in ``voc_hours_over``."""
    baseline_min: float = Field(default=10.0, gt=0, le=120)
    """A job's air fingerprint: its mean less the mean of this many minutes before it."""
