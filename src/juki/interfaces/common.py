"""Helpers shared by the CLI modules: the console, JSON output, opening the database."""

from __future__ import annotations

from rich.console import Console

from juki.config import Settings
from juki.domain.errors import CATALOG
from juki.interfaces.cli_output import emit_json
from juki.store.db import Database, DbRole
from juki.store.migrate import drift, migrate

#: Human-facing messages go to stderr so stdout stays clean for --json output.
console = Console(stderr=True)
#: Exit code: the command finished but some items were rejected (each is recorded with its code).
EXIT_REJECTED = 3

__all__ = ["EXIT_REJECTED", "SchemaNotMigrated", "console", "emit_json", "open_database"]


class SchemaNotMigrated(RuntimeError):
    """A real server's schema is not at this program's version: start refused (`juki migrate`)."""

    code = "E_READY_MIGRATIONS"


def open_database(
    settings: Settings | None = None, *, migrate_schema: bool = True, role: DbRole = DbRole.ADMIN
) -> Database:
    """Resolve the database from the environment and bring up its schema.

    The embedded cluster (no JUKI_DATABASE_URL) starts if needed and migrates itself: a trial has no
    separate administration step. On a real server (JUKI_DATABASE_URL) migrating is `juki migrate`'s
    alone, run as juki_admin: here the schema is only *checked*, connected as ``role`` (a server passes
    its own login role, so it needs no juki_admin password), and a schema not at this program's
    version refuses the command (SchemaNotMigrated, E_READY_MIGRATIONS). ``migrate_schema=False``:
    neither (the administration port reports the schema on /readyz instead)."""
    db = Database.open(settings or Settings.from_env())
    if not migrate_schema:
        return db
    if db.settings.database_url:
        with db.connect(role, autocommit=True) as conn:
            missing, unknown = drift(conn)
        if missing or unknown:
            found = f"未適用の版 {missing}" if missing else f"このプログラムが知らない版 {unknown}"
            raise SchemaNotMigrated(
                f"{SchemaNotMigrated.code}: {CATALOG[SchemaNotMigrated.code].message_ja}（{found}）。"
                "先に juki_admin で `juki migrate` を実行してください"
            )
        return db
    with db.connect(autocommit=True) as conn:
        applied = migrate(conn)
    for m in applied:
        console.print(f"[dim]migration {m.version:04d} {m.name} applied[/dim]")
    return db
