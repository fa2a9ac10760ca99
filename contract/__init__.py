"""The contract every part of circlemade-edge speaks: readings and raw messages, the
schema of what is stored (measurements, fields, units), machine states, the strict
pydantic base and identifiers, and the small shared means (secrets, event log, health
counters).

Everything imports it; it imports nothing of ours (checked by import-linter in
``scripts/test``, see ``[tool.importlinter]`` in pyproject.toml).
"""
