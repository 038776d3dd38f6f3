"""Tooling that is not a business function: benchmarks and the demo (above every layer)."""
