"""Backups past their retention are deleted, files and all (R-06, R-09, S-19, REC-9).

A full backup holds everything as it was, including temporary 個人番号 and records purged since;
deleting it when its period ends is what makes purged data unrecoverable (R-06). The register row
stays, marked purged (what existed and when it was destroyed is itself a record: R-10, REC-9).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from juki.services.operations.ops_settings import OperationsSettings
from juki.store.db import Database, DbRole

_SUFFIXES = (".dump.age", ".audit.age", ".manifest.json")


def purge_backups(db: Database, today: date, kind: str) -> int:
    ops = OperationsSettings.for_settings(db.settings)
    with db.connect(DbRole.TERM, autocommit=True) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT id, file_name FROM term.backups WHERE kind = %s AND purged_at IS NULL"
            " AND retain_until < %s FOR UPDATE",
            (kind, today),
        ).fetchall()
        for backup_id, stem in rows:
            for suffix in _SUFFIXES:
                (ops.backup_dir / f"{stem}{suffix}").unlink(missing_ok=True)
            conn.execute(
                "UPDATE term.backups SET purged_at = %s WHERE id = %s", (datetime.now(UTC), backup_id)
            )
    return len(rows)


def purge_full_backups(db: Database, today: date) -> int:
    return purge_backups(db, today, "full")


def purge_oplog_backups(db: Database, today: date) -> int:
    return purge_backups(db, today, "oplog")
