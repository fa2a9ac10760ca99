"""circlemade-edge: normalise shop-floor readings, derive KPIs, buffer and write to InfluxDB.

Data flows one way: ``gateways`` turn device messages into :class:`contract.reading.Reading`
objects; this package normalises them, turns them into points of the canonical schema
(:mod:`contract.schema`) and writes them to InfluxDB (:mod:`edge.storage.sink`).
"""
