"""The operation log (S-15..S-20): rows, guard, signed checkpoints, verification, review."""
