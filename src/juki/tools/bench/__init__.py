"""Benchmarks: JSON figures with a raw PostgreSQL baseline measured in the same run."""
