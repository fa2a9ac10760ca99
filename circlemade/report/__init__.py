"""``circlemade report``: the monthly circularity report, for people (PDF, HTML) and for
machines (CSV, product footprints)."""
