"""Encrypted backups and the restore drill (S-46, S-14, S-19, R-09, REC-9; issue 13 item 3)."""

from __future__ import annotations

import json

import pytest

from juki.services.audit.checkpoints import audit_dir, create_checkpoint
from juki.services.operations import backup as backups
from juki.services.operations.context import JobFailed
from juki.services.operations.restore import verify_backup
from juki.services.operations.runner import run_job
from juki.store.db import Database, DbRole
from tests.services.operations.support import T0, clock_at, ops_for, some_persons, with_keys

AGE_HEADER = b"age-encryption.org/v1"


def _checkpoint(db: Database) -> None:
    """A logged act (a job run as system:scheduler), then a signed checkpoint over the log."""
    run_job(db, db.settings, "my_number_purge", clock=clock_at(T0))
    folder = audit_dir(db.settings)
    with db.connect() as conn:
        create_checkpoint(conn, folder, folder, now=T0)


def test_S46_S14_backup_is_encrypted_as_written_and_holds_no_plaintext(db: Database) -> None:
    """S-46: the file the contractor carries is age ciphertext from its first byte; the register
    (REC-9) has its SHA-256 and the manifest its per-table counts and hashes. S-14: only the
    administrator's account can read or copy the files (0600 in a 0700 directory)."""
    ops = with_keys(db)
    codes = some_persons(db)
    result = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    dump = (ops.backup_dir / f"{result.stem}.dump.age").read_bytes()
    assert dump.startswith(AGE_HEADER)
    for code in codes:
        assert code.encode() not in dump
    assert b"identity_current" not in dump  # not even the table names are readable
    assert not list(ops.backup_dir.glob("*.dump")) and not list(ops.backup_dir.glob("*.sql"))
    assert ops.backup_dir.stat().st_mode & 0o777 == 0o700
    assert (ops.backup_dir / f"{result.stem}.dump.age").stat().st_mode & 0o777 == 0o600
    assert ops.identity_file.stat().st_mode & 0o777 == 0o600
    manifest = json.loads((ops.backup_dir / f"{result.stem}.manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["pref.identity_current"]["rows"] == len(codes)
    assert all(code not in json.dumps(manifest) for code in codes)
    with db.connect(DbRole.TERM) as conn:
        row = conn.execute("SELECT kind, ciphertext_sha256, size_bytes FROM term.backups").fetchone()
    assert row == ("full", result.ciphertext_sha256, len(dump))


def test_S46_R09_S19_restore_verify_proves_counts_hashes_and_the_operation_log(db: Database) -> None:
    """`restore --verify`: a scratch cluster, row counts and per-table hashes equal the manifest,
    and the restored operation log verifies against the checkpoints backed up with it (S-19, R-09)."""
    ops = with_keys(db)
    some_persons(db)
    _checkpoint(db)
    full = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    report = verify_backup(db.cluster.binaries if db.cluster else pytest.fail("no cluster"), ops, full.stem)
    assert report.ok, report.to_dict()
    assert report.rows == full.rows and report.tables == full.tables
    assert report.audit_ok and report.audit_rows > 0

    oplog = backups.create_backup(db, db.settings, ops, kind="oplog", now=T0)
    manifest = backups.read_manifest(ops.backup_dir, oplog.stem)
    assert set(manifest["tables"]) and all(t.startswith("audit.") for t in manifest["tables"])


def test_S46_a_changed_backup_file_or_a_wrong_key_is_refused(db: Database) -> None:
    ops = with_keys(db)
    some_persons(db)
    _checkpoint(db)
    full = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    assert db.cluster is not None
    path = ops.backup_dir / f"{full.stem}.dump.age"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(JobFailed) as changed:
        verify_backup(db.cluster.binaries, ops, full.stem)
    assert changed.value.code == "E_RESTORE_CIPHERTEXT"

    second = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    ops.identity_file.unlink()
    other = ops_for(db)
    from juki.services.operations import age_keys

    age_keys.keygen(other.identity_file, other.backup_dir / "other-recipients.txt")
    with pytest.raises(JobFailed) as wrong:
        verify_backup(db.cluster.binaries, ops, second.stem)
    assert wrong.value.code == "E_RESTORE_DECRYPT"


def test_S46_restore_detects_a_row_that_differs_from_the_manifest(db: Database) -> None:
    ops = with_keys(db)
    some_persons(db)
    _checkpoint(db)
    full = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    manifest_path = ops.backup_dir / f"{full.stem}.manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tables"]["pref.identity_current"]["hash"] = "0" * 16
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert db.cluster is not None
    report = verify_backup(db.cluster.binaries, ops, full.stem)
    assert not report.ok and report.mismatches == ["pref.identity_current"]
    assert report.error_code == "E_RESTORE_MISMATCH"


def test_S19_R09_a_restored_log_without_its_checkpoints_does_not_pass(db: Database) -> None:
    """S-19 / R-09: the backed-up checkpoints are part of the proof — a backup whose checkpoint
    bundle was replaced by an empty one restores, but its log no longer verifies (A_NO_CHECKPOINT)."""
    import hashlib

    import pyrage

    ops = with_keys(db)
    some_persons(db)
    _checkpoint(db)
    full = backups.create_backup(db, db.settings, ops, kind="full", now=T0)
    manifest_path = ops.backup_dir / f"{full.stem}.manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    recipient = pyrage.x25519.Recipient.from_str(manifest["recipients"][0])
    empty = pyrage.encrypt(json.dumps({"format": 1, "files": {}}).encode(), [recipient])
    (ops.backup_dir / manifest["files"]["audit"]["name"]).write_bytes(empty)
    manifest["files"]["audit"]["sha256"] = hashlib.sha256(empty).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert db.cluster is not None
    report = verify_backup(db.cluster.binaries, ops, full.stem)
    assert report.mismatches == [] and not report.audit_ok
    assert "A_NO_CHECKPOINT" in report.audit_findings and report.error_code == "E_RESTORE_AUDIT"
