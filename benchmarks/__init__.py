"""Benchmarks: figures printed as JSON (``python -m benchmarks.replay``), not timed tests."""
