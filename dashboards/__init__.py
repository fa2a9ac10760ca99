"""Grafana dashboards generated with grafanalib from the storage schema of :mod:`contract.schema`,
and the provisioning files that make a fresh Grafana show them with no clicks."""
