"""Shared helpers of the operations tests: a fixed clock, keys, a few persons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from juki.services.operations import age_keys
from juki.services.operations.ops_settings import OperationsSettings
from juki.store.db import Database
from tests.factories import notification, pref_record
from tests.services.registry.test_ledger import ADDRESS2, apply, born

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def clock_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def ops_for(db: Database) -> OperationsSettings:
    return OperationsSettings.for_settings(db.settings, env={})


def with_keys(db: Database) -> OperationsSettings:
    ops = ops_for(db)
    age_keys.keygen(ops.identity_file, ops.recipients_file)
    return ops


def some_persons(db: Database, first: int = 700, count: int = 3) -> list[str]:
    """Persons born, one of them moved (a history version) — real rows through the ledger."""
    codes = [born(db, n) for n in range(first, first + count)]
    apply(
        db,
        notification(
            "pref",
            "relocation",
            codes[0],
            record=pref_record(first, birth_date="2026-09-01", address=ADDRESS2),
        ),
    )
    return codes
