"""Bulk jobs as stored: one per request file, its state, and the record of every exchange (REC-3).

States (docs/provision.md): ``received`` (受付) → ``awaiting_approval`` (承認待ち, S-26) → ``done``
(処理済) / ``rejected`` (却下) / ``error`` (エラー). A job of a requester is visible only to that
requester's operators and agent: asking for another requester's job is "not found" (E_BULK_JOB_NOT_FOUND),
so its existence is not told either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.records import FileKind
from juki.files import file_spec

__all__ = [
    "STATE_LABELS",
    "ExchangeKind",
    "JobInfo",
    "JobNotFound",
    "JobState",
    "Sender",
    "get_job",
    "list_exchanges",
    "list_jobs",
    "record_exchange",
]


class JobState(StrEnum):
    RECEIVED = "received"
    AWAITING_APPROVAL = "awaiting_approval"
    DONE = "done"
    REJECTED = "rejected"
    ERROR = "error"


STATE_LABELS: Final = {
    JobState.RECEIVED: "受付",
    JobState.AWAITING_APPROVAL: "承認待ち",
    JobState.DONE: "処理済",
    JobState.REJECTED: "却下",
    JobState.ERROR: "エラー",
}


class ExchangeKind(StrEnum):
    """What crossed the boundary (S-23, REC-3)."""

    LINE_REQUEST = "line_request"  # a request file pushed by the line-linkage agent
    LINE_RESULT = "line_result"  # a result file fetched by the agent into result/
    TERMINAL_REQUEST = "terminal_request"  # a request file uploaded at a terminal
    DOWNLOAD = "download"  # a result file downloaded at a bulk terminal
    MEDIA = "media"  # a result file written (encrypted) to a registered medium


@dataclass(frozen=True)
class Sender:
    """Who moves a file: an operator at a terminal (from the session) or an agent (its certificate)."""

    operator_id: int | None = None
    operator_login: str | None = None
    terminal_id: int | None = None
    terminal_name: str | None = None
    peer_name: str | None = None
    peer_serial: str | None = None

    @property
    def channel(self) -> str:
        return "line" if self.peer_name is not None else "terminal"


class JobNotFound(LookupError):
    """No job of that number for this requester (E_BULK_JOB_NOT_FOUND)."""


@dataclass(frozen=True)
class JobInfo:
    id: int
    file: FileKind
    requester_code: str
    task_code: str
    method: str
    channel: str
    file_name: str
    encoding: str
    rows: int
    rows_invalid: int
    state: JobState
    submitted_at: datetime
    operator_id: int | None
    operator_login: str | None
    terminal_name: str | None
    peer_name: str | None
    approval_required: bool
    decision: str | None
    decided_by_login: str | None
    decided_at: datetime | None
    decision_note: str | None
    processed_at: datetime | None
    result_name: str | None
    result_sha256: str | None
    result_rows: int | None
    counts: dict[str, int] | None
    error_code: str | None
    error_message: str | None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        out["file"] = self.file.value
        out["state"] = self.state.value
        out["state_label"] = self.state_label
        return out


_JOB_COLUMNS: Final = (
    "id, requester_code, task_code, method, channel, file_name, encoding, rows, rows_invalid, state,"
    " submitted_at, operator_id, operator_login, terminal_name, peer_name, approval_required, decision,"
    " decided_by_login,"
    " decided_at, decision_note, processed_at, result_name, result_sha256, result_rows, counts, error_code,"
    " error_message"
)


def _job(file: FileKind, row: dict[str, Any]) -> JobInfo:
    return JobInfo(file=file, **{**row, "state": JobState(row["state"])})


def get_job(
    conn: psycopg.Connection[Any],
    file: FileKind,
    job_id: int,
    *,
    requester_code: str | None,
    for_update: bool = False,
) -> JobInfo:
    """The job, when it belongs to ``requester_code`` (None: any requester, the server console)."""
    spec = file_spec(file)
    query = sql.SQL(
        "SELECT {cols} FROM {table} WHERE id = %s AND (%s::text IS NULL OR requester_code = %s)"
    ).format(cols=sql.SQL(_JOB_COLUMNS), table=sql.SQL(spec.table("bulk_job")))
    if for_update:
        query = sql.SQL("{} FOR UPDATE").format(query)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, (job_id, requester_code, requester_code)).fetchone()
    if row is None:
        raise JobNotFound(job_id)
    return _job(file, row)


def list_jobs(
    conn: psycopg.Connection[Any],
    file: FileKind,
    *,
    requester_code: str | None,
    states: tuple[JobState, ...] | None = None,
    limit: int = 50,
) -> list[JobInfo]:
    """The latest jobs of ``requester_code`` (None: all), newest first."""
    spec = file_spec(file)
    query = sql.SQL(
        "SELECT {cols} FROM {table} WHERE (%s::text IS NULL OR requester_code = %s)"
        " AND (%s::text[] IS NULL OR state = ANY(%s)) ORDER BY id DESC LIMIT %s"
    ).format(cols=sql.SQL(_JOB_COLUMNS), table=sql.SQL(spec.table("bulk_job")))
    wanted = [s.value for s in states] if states is not None else None
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, (requester_code, requester_code, wanted, wanted, limit)).fetchall()
    return [_job(file, r) for r in rows]


def record_exchange(
    conn: psycopg.Connection[Any],
    file: FileKind,
    job_id: int,
    kind: ExchangeKind,
    *,
    file_name: str,
    sha256: str,
    rows: int,
    sender: Sender,
    medium_id: int | None = None,
) -> int:
    """REC-3 / S-23: one exchange of a file, in the caller's transaction; returns its id."""
    spec = file_spec(file)
    row = conn.execute(
        sql.SQL(
            "INSERT INTO {} (job_id, kind, file_name, sha256, rows, medium_id, operator_id, operator_login,"
            " terminal_id, terminal_name, peer_name, peer_serial) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s) RETURNING id"
        ).format(sql.SQL(spec.table("bulk_exchange"))),
        (
            job_id,
            kind.value,
            file_name,
            sha256,
            rows,
            medium_id,
            sender.operator_id,
            sender.operator_login,
            sender.terminal_id,
            sender.terminal_name,
            sender.peer_name,
            sender.peer_serial,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def list_exchanges(conn: psycopg.Connection[Any], file: FileKind, job_id: int) -> list[dict[str, Any]]:
    """The exchanges of a job, oldest first (what left, when, through whom)."""
    spec = file_spec(file)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(
                "SELECT id, kind, file_name, sha256, rows, medium_id, operator_login, terminal_name,"
                " peer_name,"
                " at FROM {} WHERE job_id = %s ORDER BY id"
            ).format(sql.SQL(spec.table("bulk_exchange"))),
            (job_id,),
        ).fetchall()
