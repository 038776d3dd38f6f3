"""The registry: update ledger (F1-1/F2-1), intake, bulk load, reconciliation (F1-7/F2-7), purge."""
