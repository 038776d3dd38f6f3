"""The purge functions of the retention table's kinds that live in main's tables (retention.py).

Each takes a connection as the kind's role and the date the purge runs as, deletes what expired
*before* that date (a record whose period ends on day D is still there on D and gone on D + 1),
and returns the rows removed. They never read the server's clock: the date is the caller's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final

import psycopg

from juki.files import FUHYO, PREF, FileSpec

#: Communication records with J-LIS: kept like provision records (R-08), see docs/operations.md.
JLIS_RECORD_YEARS: Final = 7
#: Reconciliation results: one year after the run ended (docs/operations.md says why).
RECONCILIATION_DAYS: Final = 365


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _ended_history(conn: psycopg.Connection[Any], spec: FileSpec, today: date) -> int:
    return conn.execute(f"DELETE FROM {spec.history} WHERE retain_until < %s", (today,)).rowcount


def purge_pref_history(conn: psycopg.Connection[Any], today: date) -> int:
    """R-02: history versions whose 150 years (``retain_until``) ended before ``today``."""
    return _ended_history(conn, PREF, today)


def purge_pref_ended(conn: psycopg.Connection[Any], today: date) -> int:
    """R-02, R-03: 消除者 records (with a dead person's 個人番号) past their 150 years."""
    return conn.execute(
        f"DELETE FROM {PREF.current} WHERE status = %s AND retain_until < %s", (PREF.ended_status, today)
    ).rowcount


def purge_temporary_my_numbers(conn: psycopg.Connection[Any], today: date) -> int:
    """R-05, R-06: the temporary 個人番号 whose expiry is before the start of ``today`` (UTC). The
    database also purges them after every insert; this catches the ones nobody inserted after."""
    return conn.execute(
        "DELETE FROM fuhyo_tmp.my_number_stash WHERE expires_at <= %s::date::timestamp AT TIME ZONE 'UTC'",
        (today,),
    ).rowcount


def _jlis(conn: psycopg.Connection[Any], spec: FileSpec, today: date) -> int:
    cutoff = _years_before(today, JLIS_RECORD_YEARS)
    return conn.execute(
        f"DELETE FROM {spec.table('jlis_query_log')}"
        " WHERE started_at < %s::date::timestamp AT TIME ZONE 'UTC'",
        (cutoff,),
    ).rowcount


def purge_pref_jlis_records(conn: psycopg.Connection[Any], today: date) -> int:
    return _jlis(conn, PREF, today)


def purge_fuhyo_jlis_records(conn: psycopg.Connection[Any], today: date) -> int:
    return _jlis(conn, FUHYO, today)


def _reconciliation(conn: psycopg.Connection[Any], spec: FileSpec, today: date) -> int:
    cutoff = today - timedelta(days=RECONCILIATION_DAYS)
    runs = conn.execute(
        f"SELECT id FROM {spec.reconciliation_run} WHERE status <> 'running'"
        " AND coalesce(finished_at, started_at) < %s::date::timestamp AT TIME ZONE 'UTC'",
        (cutoff,),
    ).fetchall()
    ids = [int(r[0]) for r in runs]
    # The requests that asked for such runs (migration 0049): the record of having asked goes with them.
    requests = conn.execute(
        f"DELETE FROM {spec.table('reconciliation_request')}"
        " WHERE coalesce(answered_at, requested_at) < %s::date::timestamp AT TIME ZONE 'UTC'"
        " AND (status = 'answered' OR due_at < %s::date::timestamp AT TIME ZONE 'UTC')",
        (cutoff, cutoff),
    ).rowcount
    if not ids:
        return requests
    diffs = conn.execute(f"DELETE FROM {spec.reconciliation_diff} WHERE run_id = ANY(%s)", (ids,)).rowcount
    conn.execute(f"DELETE FROM {spec.reconciliation_run} WHERE id = ANY(%s)", (ids,))
    return diffs + len(ids) + requests


def purge_pref_reconciliation(conn: psycopg.Connection[Any], today: date) -> int:
    return _reconciliation(conn, PREF, today)


def purge_fuhyo_reconciliation(conn: psycopg.Connection[Any], today: date) -> int:
    return _reconciliation(conn, FUHYO, today)


def _result_sets(conn: psycopg.Connection[Any], spec: FileSpec, today: date) -> int:
    return conn.execute(
        f"DELETE FROM {spec.table('search_result_sets')}"
        " WHERE expires_at <= %s::date::timestamp AT TIME ZONE 'UTC'",
        (today,),
    ).rowcount


def purge_pref_search_results(conn: psycopg.Connection[Any], today: date) -> int:
    return _result_sets(conn, PREF, today)


def purge_fuhyo_search_results(conn: psycopg.Connection[Any], today: date) -> int:
    return _result_sets(conn, FUHYO, today)
