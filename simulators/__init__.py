"""Simulated workshop: devices that speak the real protocols and payloads, and the local
servers (Mosquitto, InfluxDB 1.x, VictoriaMetrics) that the demo and the tests start."""
