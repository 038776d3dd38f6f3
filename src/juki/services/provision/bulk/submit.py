"""Receiving a 照会要求ファイル: read it through once, store its rows with their keys, open the job.

The whole file is read and checked before anything is answered (a file error rolls everything back:
no job, no row, no partial result); rows stream from the upload into the job's staging table with
COPY, so memory stays flat whatever the size. A job above the approval threshold waits for the
requesting department's head (S-26); any other job is ready to process at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any, Final

import psycopg
from psycopg import sql

from juki.files import file_spec
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.provision.bulk.jobs import (
    ExchangeKind,
    JobInfo,
    JobState,
    Sender,
    get_job,
    record_exchange,
)
from juki.services.provision.bulk.journal import log_bulk
from juki.services.provision.bulk.request_file import ROW_COLUMNS, RequestStats, read_request
from juki.services.provision.bulk.terms import BulkTerms

__all__ = ["DEFAULT_APPROVAL_ROWS", "safe_file_name", "submit_request"]

#: Requests with more rows than this wait for the head's approval (S-26; JUKI_BULK_APPROVAL_ROWS).
DEFAULT_APPROVAL_ROWS: Final = 10_000
_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_file_name(name: str) -> str:
    """The request's file name as recorded: its last part, unsafe characters as "_", at most 128."""
    base = PurePath(name.replace("\\", "/")).name or "request.csv"
    return _UNSAFE.sub("_", base)[:128] or "request.csv"


def submit_request(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    chunks: Iterable[bytes],
    *,
    file_name: str,
    sender: Sender,
    actor: Actor | None,
    approval_rows: int = DEFAULT_APPROVAL_ROWS,
    encoding: str | None = None,
) -> JobInfo:
    """Store the request as a new job and record its arrival (S-23); raises BulkFileError.

    Runs in one transaction of ``conn`` (the file's role): on a file error nothing stays behind.
    The caller checked who may submit for ``terms.requester_code`` (operator's affiliation or the
    agent's certificate) before.
    """
    spec = file_spec(terms.file)
    name = safe_file_name(file_name)
    stats = RequestStats()
    with conn.transaction():
        row = conn.execute(
            sql.SQL(
                "INSERT INTO {} (requester_code, task_code, method, channel, file_name, request_sha256,"
                " encoding, rows, rows_invalid, state, operator_id, operator_login, terminal_id,"
                " terminal_name, peer_name,"
                " peer_serial, approval_required) VALUES (%s, %s, %s, %s, %s, %s, 'utf-8', 0, 0, 'received',"
                " %s, %s, %s, %s, %s, %s, false) RETURNING id"
            ).format(sql.SQL(spec.table("bulk_job"))),
            (
                terms.requester_code,
                terms.task_code,
                terms.method.value,
                sender.channel,
                name,
                "0" * 64,
                sender.operator_id,
                sender.operator_login,
                sender.terminal_id,
                sender.terminal_name,
                sender.peer_name,
                sender.peer_serial,
            ),
        ).fetchone()
        assert row is not None
        job_id = int(row[0])
        # File 2 has no 個人番号 column (S-36); the key is never allowed there, so nothing is lost.
        columns = ROW_COLUMNS if spec.holds_my_number else tuple(c for c in ROW_COLUMNS if c != "my_number")
        keep = [ROW_COLUMNS.index(c) for c in columns]
        copy_sql = sql.SQL("COPY {} (job_id, {}) FROM STDIN").format(
            sql.SQL(spec.table("bulk_request_row")), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for request_row in read_request(
                chunks, allowed_keys=terms.allowed_keys, stats=stats, encoding=encoding
            ):
                values = request_row.values()
                copy.write_row((job_id, *(values[i] for i in keep)))
        waits = stats.rows > approval_rows
        conn.execute(
            sql.SQL(
                "UPDATE {} SET request_sha256 = %s, encoding = %s, rows = %s, rows_invalid = %s,"
                " approval_required = %s, state = %s WHERE id = %s"
            ).format(sql.SQL(spec.table("bulk_job"))),
            (
                stats.sha256,
                stats.encoding,
                stats.rows,
                stats.invalid,
                waits,
                (JobState.AWAITING_APPROVAL if waits else JobState.RECEIVED).value,
                job_id,
            ),
        )
        kind = ExchangeKind.LINE_REQUEST if sender.peer_name else ExchangeKind.TERMINAL_REQUEST
        record_exchange(
            conn,
            terms.file,
            job_id,
            kind,
            file_name=name,
            sha256=stats.sha256,
            rows=stats.rows,
            sender=sender,
        )
        log_bulk(
            conn,
            actor,
            sender,
            function=Function.BULK_SUBMIT,
            file=terms.file,
            outcome=Outcome.ALLOW,
            target=f"bulk_job:{job_id}",
            detail={
                "event": "bulk_submit",
                "requester": terms.requester_code,
                "task": terms.task_code,
                "method": terms.method.value,
                "rows": stats.rows,
                "rows_invalid": stats.invalid,
                "sha256": stats.sha256,
                "approval_required": waits,
            },
        )
        return get_job(conn, terms.file, job_id, requester_code=terms.requester_code)
