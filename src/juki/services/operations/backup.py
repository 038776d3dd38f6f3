"""Encrypted backups, written as they are taken (S-46, S-14, S-19, R-09, REC-9).

`pg_dump --format=custom` streams into age encryption (pyrage) and the ciphertext is written to
``<stem>.dump.age``: no plaintext byte of the database ever reaches a disk, so whoever copies the
backup directory to media — the contractor — cannot read it. Only the recipients (public keys) are
needed here; the identity that decrypts stays elsewhere.

Consistency: the manifest's row counts and table hashes are computed in the very snapshot pg_dump
dumps (`pg_export_snapshot()` + `pg_dump --snapshot`), so a restore must reproduce them exactly.

Each backup is three files and one register row (term.backups):
- ``<stem>.dump.age`` — the encrypted dump (a full backup: everything; an ``oplog`` backup: the
  schemas audit and audit_api only, kept longer: R-09);
- ``<stem>.audit.age`` — the encrypted checkpoint file and public keys (they live outside the
  database), so a restore can run `juki audit verify` on what it restored;
- ``<stem>.manifest.json`` — time, tables, row counts, per-table hashes, roles, the SHA-256 of both
  ciphertexts. It holds no personal data (table names and numbers only).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import psycopg
import pyrage
from psycopg import IsolationLevel
from psycopg.types.json import Jsonb

from juki.config import Settings
from juki.services.audit.checkpoints import CHECKPOINT_FILE, audit_dir
from juki.services.operations import age_keys
from juki.services.operations.context import JobFailed
from juki.services.operations.ops_settings import OperationsSettings
from juki.services.operations.pg_tools import clean_env, pg_binary
from juki.services.operations.table_hashes import table_figures
from juki.store.db import Database, DbRole

KINDS: Final = ("full", "oplog")
#: The schemas an operation-log backup holds.
OPLOG_SCHEMAS: Final = ["audit", "audit_api"]
MANIFEST_FORMAT: Final = 1

_ROLES = """
SELECT r.rolname, r.rolcanlogin, coalesce(s.setconfig, '{}')
  FROM pg_roles r LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
 WHERE r.rolname LIKE 'juki%%' AND NOT r.rolsuper ORDER BY 1
"""
_MEMBERS = """
SELECT g.rolname, m.rolname FROM pg_auth_members a
  JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
 WHERE g.rolname LIKE 'juki%%' AND m.rolname LIKE 'juki%%' AND NOT m.rolsuper ORDER BY 1, 2
"""


@dataclass(frozen=True)
class BackupResult:
    id: int
    stem: str
    kind: str
    created_at: datetime
    size_bytes: int
    ciphertext_sha256: str
    tables: int
    rows: int
    seconds: float

    def figures(self) -> dict[str, object]:
        return {
            "stem": self.stem,
            "kind": self.kind,
            "bytes": self.size_bytes,
            "tables": self.tables,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
        }


class _HashingWriter:
    """A file that hashes what is written to it (the ciphertext's SHA-256, without a second read)."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def _write_encrypted_stream(source: IO[bytes], path: Path, recipients: list[Any]) -> tuple[int, str]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        writer = _HashingWriter(out)
        # pyrage reads and writes any object with read() / write(); its stubs ask for BufferedIOBase.
        pyrage.encrypt_io(source, writer, recipients)  # type: ignore[arg-type]
        out.flush()
        os.fsync(out.fileno())
    return writer.size, writer.sha.hexdigest()


def _audit_bundle(settings: Settings) -> bytes:
    """The checkpoint file and the public keys that verify it, as one JSON document."""
    folder = audit_dir(settings)
    files: dict[str, str] = {}
    if folder.is_dir():
        for path in sorted([folder / CHECKPOINT_FILE, *folder.glob("*.pub.pem")]):
            if path.is_file():
                files[path.name] = path.read_text(encoding="utf-8")
    return json.dumps({"format": 1, "files": files}, ensure_ascii=False).encode("utf-8")


def _stem(backup_dir: Path, kind: str, now: datetime) -> str:
    base = f"juki-{kind}-{now:%Y%m%dT%H%M%S}Z"
    stem, n = base, 1
    while (backup_dir / f"{stem}.manifest.json").exists() or (backup_dir / f"{stem}.dump.age").exists():
        n += 1
        stem = f"{base}-{n}"
    return stem


def create_backup(
    db: Database, settings: Settings, ops: OperationsSettings, *, kind: str = "full", now: datetime
) -> BackupResult:
    """Take one encrypted backup of ``kind`` ('full' or 'oplog'), register it and return it."""
    if kind not in KINDS:
        raise ValueError(kind)
    recipients = age_keys.recipients(ops.recipients_file)  # before anything is written
    ops.backup_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = _stem(ops.backup_dir, kind, now)
    dump_path = ops.backup_dir / f"{stem}.dump.age"
    schemas = OPLOG_SCHEMAS if kind == "oplog" else None
    started = datetime.now(now.tzinfo)
    with psycopg.connect(db.admin_conninfo) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            snapshot_row = conn.execute("SELECT pg_export_snapshot(), now(), current_database()").fetchone()
            assert snapshot_row is not None
            snapshot, snapshot_at, database = snapshot_row
            tables = table_figures(conn, schemas)
            roles = [
                {"name": r[0], "login": bool(r[1]), "settings": list(r[2])}
                for r in conn.execute(_ROLES).fetchall()
            ]
            members = [[r[0], r[1]] for r in conn.execute(_MEMBERS).fetchall()]
            server_version = conn.info.server_version
            args = [
                pg_binary(db, "pg_dump"),
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--dbname={db.admin_conninfo}",
            ]
            for schema in schemas or []:
                args.append(f"--schema={schema}")
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=clean_env(), cwd="/")
                assert proc.stdout is not None
                try:
                    size, sha = _write_encrypted_stream(proc.stdout, dump_path, recipients)
                finally:
                    proc.stdout.close()
                    code = proc.wait()
                if code != 0:
                    dump_path.unlink(missing_ok=True)
                    errors.seek(0)
                    # pg_dump's messages name objects, never row contents: safe to keep the first line.
                    first = errors.read(300).decode("utf-8", "replace").splitlines()[:1]
                    raise JobFailed("E_BACKUP_DUMP", first[0] if first else f"exit {code}")
    audit_path = ops.backup_dir / f"{stem}.audit.age"
    bundle = pyrage.encrypt(_audit_bundle(settings), recipients)
    fd = os.open(audit_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(bundle)
    keep = ops.oplog_keep_days if kind == "oplog" else ops.backup_keep_days
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "stem": stem,
        "created_at": now.isoformat(),
        "snapshot_at": snapshot_at.isoformat(),
        "database": database,
        "server_version": server_version,
        "schemas": schemas,
        "tables": tables,
        "roles": roles,
        "role_members": members,
        "recipients": age_keys.read_recipient_lines(ops.recipients_file),
        "files": {
            "dump": {"name": dump_path.name, "bytes": size, "sha256": sha},
            "audit": {
                "name": audit_path.name,
                "bytes": len(bundle),
                "sha256": hashlib.sha256(bundle).hexdigest(),
            },
        },
    }
    (ops.backup_dir / f"{stem}.manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    rows_total = sum(int(t["rows"]) for t in tables.values())
    with db.connect(DbRole.TERM, autocommit=True) as conn, conn.transaction():
        row = conn.execute(
            "INSERT INTO term.backups (kind, file_name, created_at, retain_until, size_bytes,"
            " ciphertext_sha256,"
            " recipients, manifest) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                kind,
                stem,
                now,
                (now + timedelta(days=keep)).date(),
                size,
                sha,
                manifest["recipients"],
                Jsonb(manifest),
            ),
        ).fetchone()
    assert row is not None
    return BackupResult(
        int(row[0]),
        stem,
        kind,
        now,
        size,
        sha,
        len(tables),
        rows_total,
        (datetime.now(now.tzinfo) - started).total_seconds(),
    )


def read_manifest(backup_dir: Path, stem: str) -> dict[str, Any]:
    path = backup_dir / f"{stem}.manifest.json"
    if not path.exists():
        raise JobFailed("E_RESTORE_FAILED", f"no manifest {path.name}")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def latest_stem(db: Database, kind: str = "full") -> str | None:
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        row = conn.execute(
            "SELECT file_name FROM term.backups WHERE kind = %s AND purged_at IS NULL"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            (kind,),
        ).fetchone()
    return None if row is None else str(row[0])
