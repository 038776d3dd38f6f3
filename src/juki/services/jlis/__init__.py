"""Towards J-LIS: queries to the national servers (F1-5/F2-5) and the outbox relay (F1-1/F2-1)."""
