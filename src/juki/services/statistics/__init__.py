"""Statistics (F1-8, REC-10)."""
