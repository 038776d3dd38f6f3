"""The restore drill as a measurement: back up, lose the data directory, restore, serve again.

Used by `juki bench restore --persons N` and, at a small population, by the fault test. Figures:

- RPO (recovery point): the seconds of committed work lost, from the backup's snapshot to the
  fault, and the notifications accepted in that time that the restore does not bring back. With
  the embedded cluster's daily pg_dump this is up to a day by design; WAL archiving (pgBackRest on
  a real server, docs/operations.md) is what brings it down to seconds.
- RTO (recovery time): from the start of the restore (the data directory gone) until the restored
  database answers a query as the server role again: initdb, roles, pg_restore of the decrypted
  stream, then the proof (counts, hashes, operation log), which is part of the time to serve.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from juki.config import Settings
from juki.domain.records import FileKind
from juki.services.operations import age_keys
from juki.services.operations import backup as backups
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.operations.restore import restore_embedded
from juki.services.operations.runner import run_job
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.registry.load import load_population
from juki.store.db import Database, DbRole
from juki.store.migrate import migrate
from juki.synth import generate_changes, write_population


def _apply(db: Database, lines: list[bytes]) -> int:
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo}, batch_size=500)
        return sum(
            1
            for r in applier.apply(iter_lines([b"\n".join(lines)]), source="restore-drill")
            if r.status == "accepted"
        )


def restore_drill(
    work: Path, persons: int, *, seed: int = 1, lost_changes: int = 50, pg_binaries: str = "auto"
) -> dict[str, Any]:
    """Run the whole drill under ``work`` (a fresh directory) and return its figures."""
    settings = Settings(data_dir=(work / "data").resolve(), pg_binaries=pg_binaries)
    ops = OperationsSettings(
        backup_dir=(work / "media").resolve(),
        recipients_file=(work / "keys" / "recipients.txt").resolve(),
        identity_file=(work / "keys" / "identity.age").resolve(),
    )
    age_keys.keygen(ops.identity_file, ops.recipients_file)
    db = Database.open(settings)
    assert db.cluster is not None
    try:
        with db.connect(autocommit=True) as conn:
            migrate(conn)
        mark = time.monotonic()
        write_population(work / "population", persons, seed)
        conninfos = {kind: db.admin_conninfo for kind in FileKind}
        load_population(conninfos, work / "population", rejects_dir=work / "rejects")
        load_seconds = time.monotonic() - mark
        changes = list(generate_changes(persons, seed, lost_changes * 2, invalid_share=0.0))
        lines = [orjson.dumps(c.notification) for c in changes if c.notification]
        kept = _apply(db, lines[:lost_changes])
        run_job(db, settings, "my_number_purge", trigger="manual")
        run_job(db, settings, "audit_checkpoint", trigger="manual")
        mark = time.monotonic()
        full = backups.create_backup(db, settings, ops, kind="full", now=datetime.now(UTC))
        backup_seconds = time.monotonic() - mark
        manifest = backups.read_manifest(ops.backup_dir, full.stem)
        lost = _apply(db, lines[lost_changes:])  # committed after the backup: what the fault loses
        fault_at = datetime.now(UTC)
        db.cluster.stop("immediate")
        shutil.rmtree(db.cluster.pgdata)
        began = time.monotonic()
        report = restore_embedded(settings, ops, full.stem)
        restored = Database.open(settings, create=False)
        with restored.connect(DbRole.PREF) as conn:
            row = conn.execute("SELECT count(*) FROM pref.identity_current").fetchone()
        rto = time.monotonic() - began
        snapshot_at = datetime.fromisoformat(manifest["snapshot_at"])
        return {
            "benchmark": "restore",
            "persons": persons,
            "rows": full.rows,
            "backup_bytes": full.size_bytes,
            "backup_seconds": round(backup_seconds, 3),
            "load_seconds": round(load_seconds, 3),
            "applied_before_backup": kept,
            "lost_after_backup": lost,
            "rpo_seconds": round((fault_at - snapshot_at).total_seconds(), 3),
            "rto_seconds": round(rto, 3),
            "restore": report.to_dict(),
            "served_persons": int(row[0]) if row else 0,
            "ok": report.ok,
        }
    finally:
        cluster = db.cluster
        if cluster.is_running():
            cluster.stop("immediate")


def extrapolate(figures: dict[str, Any], persons: int) -> dict[str, float]:
    """Linear in the rows (pg_dump, pg_restore, the index builds and the hashes all are, roughly)."""
    scale = persons / figures["persons"]
    return {
        "persons": persons,
        "backup_seconds": round(figures["backup_seconds"] * scale, 1),
        "rto_seconds": round(
            figures["restore"]["seconds"]["cluster"]
            + (figures["rto_seconds"] - figures["restore"]["seconds"]["cluster"]) * scale,
            1,
        ),
        "backup_bytes": round(figures["backup_bytes"] * scale),
    }
