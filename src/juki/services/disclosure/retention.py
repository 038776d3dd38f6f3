"""The residents'-rights registers' rows of the retention table (services/operations/retention.py).

The retention job calls ``(conn, today)`` with the kind's role; each register's rule (its 保存期限,
open correction cases kept whatever their date) stays in its own module.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from juki.domain.records import FileKind
from juki.services.disclosure import corrections, inquiries, requests


def purge_pref_requests(conn: psycopg.Connection[Any], today: date) -> int:
    """Disclosure requests of File 1 past their 保存期限."""
    return requests.purge_expired(conn, FileKind.PREF, today)


def purge_fuhyo_requests(conn: psycopg.Connection[Any], today: date) -> int:
    """Disclosure requests of File 2 past their 保存期限."""
    return requests.purge_expired(conn, FileKind.FUHYO, today)


def purge_pref_cases(conn: psycopg.Connection[Any], today: date) -> int:
    """Closed correction cases of File 1 past their 保存期限."""
    return corrections.purge_expired(conn, FileKind.PREF, today)


def purge_fuhyo_cases(conn: psycopg.Connection[Any], today: date) -> int:
    """Closed correction cases of File 2 past their 保存期限."""
    return corrections.purge_expired(conn, FileKind.FUHYO, today)


def purge_inquiries(conn: psycopg.Connection[Any], today: date) -> int:
    """The inquiry log (REC-7, S-60) past its 保存期限 (juki_term)."""
    return inquiries.purge_expired(conn, today)
