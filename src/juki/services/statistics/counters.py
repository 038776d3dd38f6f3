"""Counts per file (REC-10: update counts for statistics; operators' status view)."""

from __future__ import annotations

from typing import Any

import psycopg

_QUERIES: dict[str, str] = {
    "pref_present": "SELECT count(*) FROM pref.identity_current WHERE status = 'present'",
    "pref_ended": "SELECT count(*) FROM pref.identity_current WHERE status = 'ended'",
    "pref_history": "SELECT count(*) FROM pref.identity_history",
    "fuhyo_domestic": "SELECT count(*) FROM fuhyo.fuhyo_current WHERE status = 'domestic'",
    "fuhyo_abroad": "SELECT count(*) FROM fuhyo.fuhyo_current WHERE status = 'abroad'",
    "fuhyo_ended": "SELECT count(*) FROM fuhyo.fuhyo_current WHERE status = 'ended'",
    "fuhyo_history": "SELECT count(*) FROM fuhyo.fuhyo_history",
}


def file_counts(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Record counts, and notifications and notices by status, for both files (admin connection)."""
    counts: dict[str, Any] = {}
    for name, sql in _QUERIES.items():
        row = conn.execute(sql).fetchone()
        counts[name] = int(row[0]) if row else 0
    for schema in ("pref", "fuhyo"):
        rows = conn.execute(
            f"SELECT status, count(*) FROM {schema}.notification_inbox GROUP BY status"
        ).fetchall()
        counts[f"{schema}_inbox"] = {str(s): int(c) for s, c in rows}
        rows = conn.execute(f"SELECT status, count(*) FROM {schema}.outbox GROUP BY status").fetchall()
        counts[f"{schema}_outbox"] = {str(s): int(c) for s, c in rows}
    return counts
