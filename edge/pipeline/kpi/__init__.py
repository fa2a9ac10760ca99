"""Shop-floor KPIs computed at the edge from canonical readings: machine state, energy,
material, jobs, OEE and circularity figures. Formulas and edge cases: docs/metrics.md."""
