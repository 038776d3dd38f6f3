"""A consolidation centre's embedded cluster for one prefecture: the embedded launcher plus passwords.

A single instance's embedded cluster trusts its socket (directory mode 0700: the OS account is the
authentication). In a centre several prefectures' clusters run side by side under one account, so the
socket alone would let one prefecture's login roles — which have the same names in every cluster,
since the migrations name fixed roles — connect to another's database. Each centre cluster therefore
asks every connection for a password (``scram-sha-256`` in pg_hba.conf); the passwords are random,
different per prefecture and per role, and kept in the prefecture's own password file
(``<data dir>/pgpass``, mode 0600, libpq's ``passfile=``). One prefecture's passwords open nothing in
another's cluster (issue 14; docs/deployment.md「集約センター」). A real centre does the same with
Debian's `pg_createcluster 15 prefNN` (one cluster, one port, one set of passwords per prefecture)
and, in addition, one OS account per prefecture so a prefecture's service cannot read another's file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from juki.store.db import DbRole
from juki.store.embedded import ADMIN_USER, EmbeddedCluster, find_binaries

#: The prefecture's password file in its data directory (libpq format, mode 0600).
PASSWORD_FILE = "pgpass"
#: The database of a prefecture's instance in its cluster.
DATABASE = "juki"
#: Every role that logs in: the administrator (migrations) and the servers' roles.
LOGIN_ROLES: tuple[str, ...] = (ADMIN_USER, *(role.value for role in DbRole if role is not DbRole.ADMIN))
#: pg_hba.conf of a centre cluster: the socket only, and a password for everyone.
HBA = (
    "# juki consolidation centre: every connection proves its role's password (scram-sha-256), so one\n"
    "# prefecture's login roles cannot connect to another prefecture's cluster (issue 14).\n"
    "local all all scram-sha-256\n"
)


def cluster_of(data_dir: Path, binaries: str = "auto") -> EmbeddedCluster:
    return EmbeddedCluster(data_dir, find_binaries(binaries))


def password_file(data_dir: Path) -> Path:
    return data_dir / PASSWORD_FILE


def conninfo(data_dir: Path, binaries: str = "auto", *, user: str = ADMIN_USER) -> str:
    """How the prefecture's instance reaches its cluster (as ``user``), passwords from its own file."""
    base = conninfo_to_dict(cluster_of(data_dir, binaries).conninfo(DATABASE, user))
    return make_conninfo(
        **{k: str(v) for k, v in base.items() if v is not None}, passfile=str(password_file(data_dir))
    )


def _passwords(data_dir: Path) -> dict[str, str]:
    """The roles' passwords from the file, new random ones for roles it lacks (file rewritten 0600)."""
    path = password_file(data_dir)
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split(":")
            if len(parts) == 5 and not line.startswith("#"):
                known[parts[3]] = parts[4]
    for role in LOGIN_ROLES:
        known.setdefault(role, secrets.token_hex(24))
    text = "".join(f"*:*:*:{role}:{known[role]}\n" for role in LOGIN_ROLES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
    return known


def start(data_dir: Path, binaries: str = "auto") -> EmbeddedCluster:
    """Start the prefecture's cluster (initialised on first use; its authentication set by `secure`)."""
    cluster = cluster_of(data_dir, binaries)
    cluster.start()
    return cluster


def secure(data_dir: Path, binaries: str = "auto") -> None:
    """Create the database, give every login role its password and switch the cluster to passwords.

    Run after the migrations created the roles (and again after a migration adds one: it is
    idempotent). Until the first run the cluster trusts its 0700 socket, as any embedded cluster.
    The passwords reach the server as SCRAM verifiers, never as clear text.
    """
    cluster = start(data_dir, binaries)
    passwords = _passwords(data_dir)
    hba = cluster.pgdata / "pg_hba.conf"
    secured = hba.read_text(encoding="utf-8") == HBA
    admin = cluster.conninfo("postgres") + (f" passfile={password_file(data_dir)}" if secured else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        existing = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin")}
        for role in LOGIN_ROLES:
            if role not in existing:
                continue  # a role the migrations have not created yet: secured by the next run
            verifier = conn.pgconn.encrypt_password(
                passwords[role].encode(), role.encode(), b"scram-sha-256"
            ).decode()
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier))
            )
        if not secured:
            hba.write_text(HBA, encoding="utf-8")
            conn.execute("SELECT pg_reload_conf()")


def stop(data_dir: Path, binaries: str = "auto") -> None:
    cluster_of(data_dir, binaries).stop()


def is_running(data_dir: Path, binaries: str = "auto") -> bool:
    return cluster_of(data_dir, binaries).is_running()
