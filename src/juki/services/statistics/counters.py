"""Counts per file (REC-10: update counts for statistics; operators' status view)."""

from __future__ import annotations

from typing import Any

import psycopg

from juki.files import all_files


def file_counts(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Record counts by status, history versions, and notifications and notices by status, for both
    files (admin connection). Keys: ``<file>_<status>``, ``<file>_history``, ``<file>_inbox``,
    ``<file>_outbox``."""
    counts: dict[str, Any] = {}
    for spec in all_files():
        by_status = dict(
            conn.execute(f"SELECT status, count(*) FROM {spec.current} GROUP BY status").fetchall()
        )
        for status in (*sorted(spec.present_statuses, reverse=True), spec.ended_status):
            counts[f"{spec.value}_{status}"] = int(by_status.get(status, 0))
        row = conn.execute(f"SELECT count(*) FROM {spec.history}").fetchone()
        counts[f"{spec.value}_history"] = int(row[0]) if row else 0
        for box in ("inbox", "outbox"):
            table = spec.inbox if box == "inbox" else spec.outbox
            rows = conn.execute(f"SELECT status, count(*) FROM {table} GROUP BY status").fetchall()
            counts[f"{spec.value}_{box}"] = {str(s): int(c) for s, c in rows}
    return counts
