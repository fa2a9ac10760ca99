"""Storage: the durable buffer, the stores' sinks and writers, line protocol, dead
letters, buffer recovery, and the InfluxQL client the report and tools read with."""
