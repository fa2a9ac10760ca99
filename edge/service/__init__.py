"""The service: its wiring (wiring.py), status and health, systemd, the heap, the edge's
own alerts and the notifier."""
