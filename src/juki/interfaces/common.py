"""Helpers shared by the CLI modules: the console, JSON output, opening the database."""

from __future__ import annotations

from rich.console import Console

from juki.config import Settings
from juki.interfaces.cli_output import emit_json
from juki.store.db import Database
from juki.store.migrate import migrate

#: Human-facing messages go to stderr so stdout stays clean for --json output.
console = Console(stderr=True)
#: Exit code: the command finished but some items were rejected (each is recorded with its code).
EXIT_REJECTED = 3

__all__ = ["EXIT_REJECTED", "console", "emit_json", "open_database"]


def open_database(settings: Settings | None = None, *, migrate_schema: bool = True) -> Database:
    """Resolve the database from the environment, start the embedded one if needed, migrate."""
    db = Database.open(settings or Settings.from_env())
    if migrate_schema:
        with db.connect(autocommit=True) as conn:
            applied = migrate(conn)
        for m in applied:
            console.print(f"[dim]migration {m.version:04d} {m.name} applied[/dim]")
    return db
