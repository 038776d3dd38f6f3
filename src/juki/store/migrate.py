"""Versioned schema migrations: numbered SQL files applied in order, each in its own transaction.

A small runner rather than a framework: the schema is plain SQL (roles, schemas, a SECURITY DEFINER
function) that ORMs' migration tools do not model, and the runner is 80 lines. It records a checksum
per version, so a migration edited after it was applied is detected instead of silently skipped, and
it holds an advisory lock so two processes starting at once do not both migrate.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x4A554B49  # "JUKI"


class MigrationError(RuntimeError):
    """The database is not in a state the migrations can handle."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def available() -> list[Migration]:
    """All migrations shipped with the package, by version."""
    found: list[Migration] = []
    for entry in resources.files("juki.store.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions: {versions}")
    return found


def head() -> int:
    return available()[-1].version


def applied_versions(conn: psycopg.Connection[Any]) -> dict[int, str]:
    exists = conn.execute("SELECT to_regclass('public.juki_schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM public.juki_schema_migrations").fetchall()
    return {int(v): str(c) for v, c in rows}


def drift(conn: psycopg.Connection[Any]) -> tuple[list[int], list[int]]:
    """(versions shipped but not applied, versions applied but unknown to this program); both empty
    when the schema is at this program's version. Needs only SELECT (migration 0050)."""
    done = applied_versions(conn)
    shipped = {m.version for m in available()}
    return sorted(shipped - done.keys()), sorted(done.keys() - shipped)


def migrate(conn: psycopg.Connection[Any], target: int | None = None) -> list[Migration]:
    """Bring the database to ``target`` (default: newest). Returns the migrations applied now.

    ``conn`` must be an administrator connection in autocommit mode.
    """
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS public.juki_schema_migrations (
                 version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = applied_versions(conn)
        migrations = available()
        known = {m.version: m for m in migrations}
        for version, checksum in done.items():
            if version not in known:
                raise MigrationError(f"database has migration {version}, unknown to this program (newer?)")
            if known[version].checksum != checksum:
                raise MigrationError(f"migration {version} was changed after it was applied")
        goal = target if target is not None else migrations[-1].version
        applied: list[Migration] = []
        for migration in migrations:
            if migration.version in done or migration.version > goal:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode("utf-8"))
                conn.execute(
                    "INSERT INTO public.juki_schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            applied.append(migration)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
