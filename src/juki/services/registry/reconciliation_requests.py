"""Regular reconciliation requests to the 市町村CS (REQUIREMENTS S-53 "定期的"; migration 0049).

The 市町村CS is the TLS client of the only channel between it and this server, so the prefecture
"sends" a request by recording it where the municipality fetches it
(`GET /cs/v1/{file}/reconciliation/requests`, interfaces/reconcile_api.py); the municipality answers
by uploading its complete set (`POST /cs/v1/{file}/reconciliation`), and the completed run marks
its open request answered in the run's own transaction (`answer_requests`, called by
reconciliation.reconcile). A failed upload answers nothing: the request stays open and is flagged
when past its due date.

The scheduled job (operations/jobs.py `reconciliation_requests`, weekly) asks the municipalities
*in turn*: those with no completed check within `RECONCILIATION_INTERVAL` and no open request, the
longest unchecked first, at most `per_run` of them — sized so every municipality is asked once per
interval (`requests_per_run`) and Yokohama's wards do not all upload the same morning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import psycopg

from juki.files import FileSpec

#: A municipality with no completed consistency check for this long is asked for one.
RECONCILIATION_INTERVAL: Final = timedelta(days=30)
#: A request not answered (by a completed check) within this long is overdue, and the job flags it.
REQUEST_DEADLINE: Final = timedelta(days=14)


def requests_per_run(municipalities: int, job_period: timedelta) -> int:
    """How many municipalities one run asks so that all are asked within the interval."""
    return max(1, math.ceil(municipalities * job_period / RECONCILIATION_INTERVAL))


@dataclass
class RequestRound:
    """What one run of the job did and found for one file (codes of municipalities and counts only)."""

    asked: list[str] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)  # since the previous run
    failed_runs: list[dict[str, Any]] = field(default_factory=list)  # uploads that failed, since then
    open: int = 0
    overdue: list[str] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return sum(int(a["differences"]) for a in self.answered)

    def figures(self) -> dict[str, Any]:
        return {
            "asked": len(self.asked),
            "asked_codes": self.asked,
            "answered": len(self.answered),
            "answered_runs": self.answered,
            "differences": self.differences,
            "failed_uploads": self.failed_runs,
            "open": self.open,
            "overdue": len(self.overdue),
            "overdue_codes": self.overdue,
        }


def ask_in_turn(
    conn: psycopg.Connection[Any],
    spec: FileSpec,
    now: datetime,
    per_run: int,
    codes: list[str],
    job_run_id: int | None = None,
) -> list[str]:
    """Record a request to each of the next ``per_run`` of ``codes`` (the prefecture's municipalities
    that keep a register today, in their order) due a check; their codes."""
    rows = conn.execute(
        f"""SELECT c.code
              FROM unnest(%s::text[]) WITH ORDINALITY AS c(code, n)
              LEFT JOIN LATERAL (SELECT max(r.finished_at) AS last_check
                                   FROM {spec.reconciliation_run} r
                                  WHERE r.status = 'completed' AND c.code = ANY(r.scope_codes)) l ON true
             WHERE (l.last_check IS NULL OR l.last_check < %s)
               AND NOT EXISTS (SELECT 1 FROM {spec.table("reconciliation_request")} q
                                WHERE q.status = 'open' AND q.municipality_code = c.code)
             ORDER BY l.last_check NULLS FIRST, c.n
             LIMIT %s""",
        (codes, now - RECONCILIATION_INTERVAL, per_run),
    ).fetchall()
    asked = [str(r[0]) for r in rows]
    if asked:
        conn.execute(
            f"""INSERT INTO {spec.table("reconciliation_request")}
                  (municipality_code, requested_at, due_at, job_run_id)
                SELECT code, %s, %s, %s FROM unnest(%s::text[]) AS code""",
            (now, now + REQUEST_DEADLINE, job_run_id, asked),
        )
    return asked


def survey(
    conn: psycopg.Connection[Any], spec: FileSpec, now: datetime, since: datetime | None
) -> RequestRound:
    """The requests answered and the uploads failed since ``since`` (None: ever), the open and
    overdue requests as of ``now``."""
    since_clause = "AND q.answered_at > %s" if since is not None else ""
    answered = conn.execute(
        f"""SELECT q.municipality_code, r.id, coalesce((r.counts->>'differences')::bigint, 0)
              FROM {spec.table("reconciliation_request")} q
              JOIN {spec.reconciliation_run} r ON r.id = q.answered_run_id
             WHERE q.status = 'answered' {since_clause}
             ORDER BY q.answered_at, q.id""",
        (since,) if since is not None else (),
    ).fetchall()
    failed_clause = "AND r.finished_at > %s" if since is not None else ""
    failed = conn.execute(
        f"""SELECT r.municipality_code, r.error_code, r.id FROM {spec.reconciliation_run} r
             WHERE r.status = 'failed' {failed_clause} ORDER BY r.id""",
        (since,) if since is not None else (),
    ).fetchall()
    pending = conn.execute(
        f"""SELECT municipality_code, due_at < %s FROM {spec.table("reconciliation_request")}
             WHERE status = 'open' ORDER BY municipality_code""",
        (now,),
    ).fetchall()
    return RequestRound(
        answered=[
            {"municipality": str(r[0]), "run_id": int(r[1]), "differences": int(r[2])} for r in answered
        ],
        failed_runs=[
            {"municipality": str(r[0]), "error_code": str(r[1]), "run_id": int(r[2])} for r in failed
        ],
        open=len(pending),
        overdue=[str(r[0]) for r in pending if r[1]],
    )


def open_requests(
    conn: psycopg.Connection[Any], spec: FileSpec, municipality_code: str
) -> list[dict[str, Any]]:
    """The open requests to one municipality (what its 市町村CS fetches)."""
    rows = conn.execute(
        f"""SELECT id, municipality_code, requested_at, due_at FROM {spec.table("reconciliation_request")}
             WHERE status = 'open' AND municipality_code = %s ORDER BY id""",
        (municipality_code,),
    ).fetchall()
    return [
        {
            "request_id": int(r[0]),
            "municipality_code": str(r[1]),
            "requested_at": r[2].isoformat(),
            "due_at": r[3].isoformat(),
        }
        for r in rows
    ]


def answer_requests(
    conn: psycopg.Connection[Any], spec: FileSpec, run_id: int, scope: tuple[str, ...]
) -> int:
    """Mark answered the open requests a completed run covers (a designated city's upload covers
    each of its wards); in the caller's transaction, so a rolled-back run answers nothing."""
    return conn.execute(
        f"""UPDATE {spec.table("reconciliation_request")}
               SET status = 'answered', answered_at = clock_timestamp(), answered_run_id = %s
             WHERE status = 'open' AND municipality_code = ANY(%s)""",
        (run_id, list(scope)),
    ).rowcount
