"""Back ends of commands: record and replay, decode, probe, the config reference."""
