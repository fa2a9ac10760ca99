"""The pipeline: ingest (decode, normalise, route), normalise (units and ranges), and
kpi (the KPI stage)."""
