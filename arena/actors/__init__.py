"""The arena's Ray actors, one module each. Only ``arena.topology`` creates them and
wires them together. Nothing is imported here, so that a worker hosting one actor
imports only what that actor needs (faster start-up)."""

__all__: list[str] = []
