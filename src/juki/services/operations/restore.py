"""Restore a backup and prove it (`juki backup restore [--verify]`; S-46, S-19, R-09).

A restore decrypts ``<stem>.dump.age`` as a stream straight into pg_restore's standard input (no
plaintext file), after checking the ciphertext's SHA-256 against the manifest. It then proves what
it restored: every table's row count and order-independent hash equal the manifest's, and the
restored operation log verifies against the checkpoints backed up with it (`juki audit verify`).

`verify_backup` does this in a scratch cluster of its own (initdb in a temporary directory, removed
afterwards), so the drill never touches the serving database. `restore_database` restores into a
given cluster — after a fault, the embedded one re-created empty in the data directory.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pyrage
from psycopg import sql

from juki.config import Settings
from juki.services.audit.checkpoints import CHECKPOINT_FILE
from juki.services.audit.verify import verify
from juki.services.operations import age_keys
from juki.services.operations.backup import read_manifest
from juki.services.operations.context import JobFailed
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.operations.pg_tools import clean_env
from juki.services.operations.table_hashes import table_figures
from juki.store.db import Database, DbRole
from juki.store.embedded import Binaries, EmbeddedCluster, find_binaries

_CHUNK = 1 << 20


@dataclass
class RestoreReport:
    """What a restore proved; ``ok`` only when every check passed."""

    stem: str
    tables: int = 0
    rows: int = 0
    mismatches: list[str] = field(default_factory=list)
    audit_rows: int = 0
    audit_ok: bool = False
    audit_findings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.audit_ok

    @property
    def error_code(self) -> str | None:
        """E_RESTORE_MISMATCH (a table differs) before E_RESTORE_AUDIT (the log does not verify)."""
        if self.mismatches:
            return "E_RESTORE_MISMATCH"
        return None if self.audit_ok else "E_RESTORE_AUDIT"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "ok": self.ok,
            "error_code": self.error_code,
            "tables": self.tables,
            "rows": self.rows,
            "mismatches": self.mismatches,
            "audit_rows": self.audit_rows,
            "audit_ok": self.audit_ok,
            "audit_findings": self.audit_findings,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_ciphertext(ops: OperationsSettings, manifest: dict[str, Any]) -> None:
    for entry in manifest["files"].values():
        path = ops.backup_dir / entry["name"]
        if not path.exists() or _sha256(path) != entry["sha256"]:
            raise JobFailed("E_RESTORE_CIPHERTEXT", entry["name"])


def create_roles(admin_conninfo: str, manifest: dict[str, Any]) -> None:
    """The cluster-wide roles a dump refers to (pg_dump holds objects, not roles), with their
    per-role settings (terse logging, idle timeout: architecture notes 12, 22) and memberships."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        for role in manifest["roles"]:
            name = sql.Identifier(role["name"])
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role["name"],)).fetchone():
                login = sql.SQL("LOGIN" if role["login"] else "NOLOGIN")
                conn.execute(
                    sql.SQL("CREATE ROLE {} {} NOSUPERUSER NOCREATEDB NOCREATEROLE").format(name, login)
                )
            for setting in role["settings"]:
                key, _, value = setting.partition("=")
                conn.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(name, sql.Identifier(key), sql.Literal(value))
                )
        for group, member in manifest.get("role_members", []):
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(member)))


def _decrypt_into(source: Path, identity: Any, sink: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    try:
        with source.open("rb") as handle:
            pyrage.decrypt_io(handle, sink, [identity])
    except BaseException as exc:  # reported by the caller as E_RESTORE_DECRYPT
        errors.append(exc)
    finally:
        sink.close()
    return errors


def restore_dump(
    bindir: Path, admin_conninfo: str, dbname: str, ops: OperationsSettings, manifest: dict[str, Any]
) -> None:
    """Create ``dbname`` (must not exist) and pg_restore the backup into it, decrypting as a stream."""
    identity = age_keys.identity(ops.identity_file)
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    target = psycopg.conninfo.make_conninfo(admin_conninfo, dbname=dbname)
    args = [str(bindir / "pg_restore"), "--exit-on-error", "--no-password", f"--dbname={target}"]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=errors, env=clean_env(), cwd="/")
        assert proc.stdin is not None
        failures: list[BaseException] = []
        worker = threading.Thread(
            target=lambda: failures.extend(
                _decrypt_into(ops.backup_dir / manifest["files"]["dump"]["name"], identity, proc.stdin)
            )
        )
        worker.start()
        worker.join()
        code = proc.wait()
        if failures:
            raise JobFailed("E_RESTORE_DECRYPT", type(failures[0]).__name__)
        if code != 0:
            errors.seek(0)
            first = errors.read(300).decode("utf-8", "replace").splitlines()[:1]
            raise JobFailed("E_RESTORE_FAILED", first[0] if first else f"exit {code}")


def prove(conninfo: str, ops: OperationsSettings, manifest: dict[str, Any], report: RestoreReport) -> None:
    """Row counts and hashes against the manifest, then the operation log against its checkpoints."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = table_figures(conn, manifest.get("schemas"))
        expected: dict[str, Any] = manifest["tables"]
        for name in sorted(set(expected) | set(found)):
            if expected.get(name) != found.get(name):
                report.mismatches.append(name)
        report.tables = len(found)
        report.rows = sum(int(t["rows"]) for t in found.values())
        bundle = json.loads(
            pyrage.decrypt(
                (ops.backup_dir / manifest["files"]["audit"]["name"]).read_bytes(),
                [age_keys.identity(ops.identity_file)],
            )
        )
        with tempfile.TemporaryDirectory(prefix="juki-restore-audit-") as folder:
            for name, text in bundle["files"].items():
                (Path(folder) / Path(name).name).write_text(text, encoding="utf-8")
            result = verify(conn, Path(folder), Path(folder) / CHECKPOINT_FILE)
        report.audit_rows = result.rows
        report.audit_ok = result.ok
        report.audit_findings = [f.code for f in result.findings]


def verify_backup(binaries: Binaries, ops: OperationsSettings, stem: str) -> RestoreReport:
    """The restore drill: into a scratch cluster, prove, remove the scratch cluster."""
    report = RestoreReport(stem)
    manifest = read_manifest(ops.backup_dir, stem)
    began = time.monotonic()
    check_ciphertext(ops, manifest)
    scratch = Path(tempfile.mkdtemp(prefix="juki-restore-"))
    cluster = EmbeddedCluster(scratch, binaries)
    try:
        cluster.start()
        report.seconds["scratch_cluster"] = time.monotonic() - began
        admin = cluster.conninfo("postgres")
        create_roles(admin, manifest)
        mark = time.monotonic()
        restore_dump(binaries.bindir, admin, "juki_restored", ops, manifest)
        report.seconds["restore"] = time.monotonic() - mark
        mark = time.monotonic()
        prove(cluster.conninfo("juki_restored"), ops, manifest, report)
        report.seconds["prove"] = time.monotonic() - mark
    finally:
        cluster.stop("immediate")
        shutil.rmtree(scratch, ignore_errors=True)
    report.seconds["total"] = time.monotonic() - began
    return report


def record_verification(db: Database, stem: str, report: RestoreReport) -> None:
    """The register notes when a backup was last proven restorable, and how it went (REC-9)."""
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        conn.execute(
            "UPDATE term.backups SET verified_at = %s, verify_outcome = %s WHERE file_name = %s",
            (datetime.now(UTC), "ok" if report.ok else "failed", stem),
        )


def restore_embedded(settings: Settings, ops: OperationsSettings, stem: str) -> RestoreReport:
    """After a fault: re-create the embedded cluster in the data directory (initdb when its data
    directory is gone), restore the backup as the configured database and prove it.

    Refuses (E_RESTORE_FAILED) when that database already exists: a restore never overwrites data."""
    report = RestoreReport(stem)
    manifest = read_manifest(ops.backup_dir, stem)
    began = time.monotonic()
    check_ciphertext(ops, manifest)
    binaries = find_binaries(settings.pg_binaries)
    cluster = EmbeddedCluster(settings.data_dir, binaries)
    cluster.start()
    report.seconds["cluster"] = time.monotonic() - began
    admin = cluster.conninfo("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.database_name,)).fetchone():
            raise JobFailed("E_RESTORE_FAILED", f"database {settings.database_name} exists")
    create_roles(admin, manifest)
    mark = time.monotonic()
    restore_dump(binaries.bindir, admin, settings.database_name, ops, manifest)
    report.seconds["restore"] = time.monotonic() - mark
    mark = time.monotonic()
    prove(cluster.conninfo(settings.database_name), ops, manifest, report)
    report.seconds["prove"] = time.monotonic() - mark
    report.seconds["total"] = time.monotonic() - began
    return report
