"""The provision records' rows of the retention table (services/operations/retention.py, R-08).

The retention job calls ``(conn, today)`` with the file's role; the seven-year rule itself is
`records.purge_expired` (and, below it, the database's own guard against its clock).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from juki.domain.records import FileKind
from juki.services.provision import records


def purge_pref_records(conn: psycopg.Connection[Any], today: date) -> int:
    """R-08: File 1's provision and transfer records past seven years."""
    return records.purge_expired(conn, FileKind.PREF, today)


def purge_fuhyo_records(conn: psycopg.Connection[Any], today: date) -> int:
    """R-08: File 2's provision and transfer records past seven years."""
    return records.purge_expired(conn, FileKind.FUHYO, today)
