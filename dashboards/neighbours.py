"""The Neighbours dashboard: each sound sensor's sliding hour against the permit's
period limits, the periods' levels and the machines that ran in their minutes over, the
noise alerts, the air at the sensors, the days' hours over the WHO guideline, and the
jobs' emission fingerprints by material (docs/metrics.md, neighbours)."""

from __future__ import annotations

from contract.kpi_points import ALERT, JOB
from contract.neighbour_points import AIR, AIR_SIGNALS, ENVIRONMENT, NOISE
from dashboards.panels import PanelSpec
from dashboards.queries import each_field

SENSORS = '"site" =~ /^$site$/ AND "machine" =~ /^$machine$/'
SLIDING = f"""{SENSORS} AND "period" = ''"""
PERIODS = f"""{SENSORS} AND "period" != ''"""
FINGERPRINTS = [f"{signal}_rise" for signal in AIR_SIGNALS]
COLUMNS = ", ".join(f'"{name}"' for name in FINGERPRINTS)


def neighbours() -> list[PanelSpec]:
    return [
        PanelSpec("Sliding hour against the period's limit", "timeseries", [
            each_field(NOISE, ["laeq_1h_db"], SLIDING, 'time($__interval), "machine"', "max"),
            each_field(NOISE, ["limit_db"], PERIODS, "time($__interval) fill(previous)",
                       "max")], 16, unit="dB",
            description="LAeq of the last 60 minutes (levels averaged as energy) and the "
            "limit of the period it falls in ([neighbours] periods)."),
        PanelSpec("Periods over their limit", "table", [each_field(NOISE, [
            "laeq_db", "limit_db", "lmax_db", "minutes_over", "machines_over"], PERIODS,
            '"machine", "period"')], 8, expects="text",
            description="Each period's LAeq, its limit, its loudest level, the minutes whose "
            "own LAeq was over the limit, and the machines that ran in them."),
        PanelSpec("Noise alerts", "table", [
            f'SELECT "state", "message" FROM "{ALERT.name}" WHERE {SENSORS} AND '
            f"\"rule\" = 'noise' AND $timeFilter"], 12, expects="text",
            description="Near the limit (with the machines running then), and periods that "
            "ended above it."),
        PanelSpec("Air at the sensors", "timeseries", [each_field(
            ENVIRONMENT, ["pm2_5_ugm3", "voc_index"], SENSORS, 'time($__interval), "machine"',
            "mean")], 12),
        PanelSpec("Hours over the WHO guideline and the VOC limit per day", "bars", [
            each_field(AIR, ["pm2_5_hours_over", "voc_hours_over"], SENSORS, '"machine"')],
            12, description="Clock hours whose mean PM2.5 was above 15 ug/m3 (WHO 24-hour "
            "guideline) or whose VOC index was above [neighbours] voc_index_max."),
        PanelSpec("Jobs' emission fingerprints", "table", [
            f'SELECT "job", "material", "lot", {COLUMNS} FROM "{JOB.name}" WHERE "site" =~ '
            f'/^$site$/ AND "{FINGERPRINTS[0]}" > -1000000 AND $timeFilter'], 12,
            expects="text",
            description="Each job's rise of PM2.5, particles and VOC index at the sensor "
            "beside its machine over the minutes before it, with its material and lot."),
    ]
