"""Sensors and what the neighbours and the people inside breathe and hear (docs/metrics.md,
neighbours): the readings of sound and air sensors, the ``noise`` as the environmental
permit measures it, and the ``air`` at the machines. Part of the storage schema
(contract/schema.py)."""

from __future__ import annotations

from contract.measurement import FieldSpec, measurement

AIR_SIGNALS = ("pm2_5_ugm3", "particles_03_per_dl", "voc_index")
"""What a job's emission fingerprint is made of: the rise of each at the sensor beside
its machine."""

ENVIRONMENT = measurement(
    "environment",
    "What a sensor (a machine of kind sensor, placed by its location) reads of sound and "
    "air.",
    [
        FieldSpec("sound_dba", None, doc="A-weighted equivalent level over the sensor's "
                  "interval, dB(A) (LAeq)", limits=(0, 160)),
        FieldSpec("pm1_ugm3", "microgram / meter ** 3", doc="PM1", limits=(0, 10_000)),
        FieldSpec("pm2_5_ugm3", "microgram / meter ** 3", doc="PM2.5", limits=(0, 10_000)),
        FieldSpec("pm10_ugm3", "microgram / meter ** 3", doc="PM10", limits=(0, 10_000)),
        FieldSpec("particles_03_per_dl", None, doc="particles above 0.3 um per 100 ml",
                  limits=(0, 1e9)),
        FieldSpec("voc_index", None, doc="Sensirion VOC index (100: the sensor's average "
                  "of the last day)", limits=(0, 500)),
        FieldSpec("nox_index", None, doc="Sensirion NOx index (1: clean)", limits=(0, 500)),
        FieldSpec("co2_ppm", "ppm", doc="carbon dioxide", limits=(0, 100_000)),
        FieldSpec("temperature_c", "degC", doc="air temperature", limits=(-40, 100)),
        FieldSpec("humidity_pct", "percent", doc="relative humidity", limits=(0, 100)),
    ],
)

NOISE = measurement(
    "noise",
    "A sound sensor's levels as the permit measures them: each minute the sliding hour "
    "(no ``period`` tag, at the minute's end); each period of [neighbours] periods (tag "
    "``period``, at its start, written again each minute until it ends).",
    [
        FieldSpec("laeq_1h_db", None, doc="LAeq of the last 60 minutes, dB(A): levels "
                  "averaged as energy"),
        FieldSpec("laeq_1min_db", None, doc="LAeq of the minute, dB(A)"),
        FieldSpec("laeq_db", None, doc="the period: LAeq so far, dB(A)"),
        FieldSpec("lmax_db", None, doc="the period: the highest level read, dB(A)"),
        FieldSpec("minutes_over", None, doc="the period: minutes whose own LAeq was above "
                  "the period's limit"),
        FieldSpec("limit_db", None, doc="the period: its laeq_max_db"),
        FieldSpec("machines_over", None, "string", "the period: the machines that ran in "
                  "its minutes over, with how many, e.g. 'cnc-1=30, laser-1=4'"),
    ],
    extra_tags=("period",),
)

AIR = measurement(
    "air",
    "An air sensor's day (tag ``window`` = day, at the day's start, written again each "
    "hour): the hours above the WHO guideline and the VOC limit.",
    [
        FieldSpec("pm2_5_hours_over", None, doc="clock hours whose mean PM2.5 was above "
                  "[neighbours] pm2_5_guideline_ugm3 (WHO 24-hour: 15)"),
        FieldSpec("voc_hours_over", None, doc="clock hours whose mean VOC index was above "
                  "[neighbours] voc_index_max"),
        FieldSpec("pm2_5_ugm3", "microgram / meter ** 3", doc="the day's mean so far"),
        FieldSpec("voc_index", None, doc="the day's mean so far"),
    ],
    extra_tags=("window",),
)

JOB_AIR = [
    *[FieldSpec(f"{signal}_rise", None, doc=f"mean {signal} at the sensor beside the machine "
                "during the job less its mean in the 10 minutes before (absent without such "
                "a sensor)") for signal in AIR_SIGNALS],
    FieldSpec("material", None, "string", "with a fingerprint: the material it was made of")]
"""The job's emission fingerprint, fields of ``job``."""
