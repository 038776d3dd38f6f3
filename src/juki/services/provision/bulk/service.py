"""Bulk provision at a terminal: the rights and terminal checks, then submit / approve / fetch (F1-2b).

Who may do what (deny by default, every refusal in the operation log):

* submit a request file and fetch its result: an operator holding ``bulk_requester@<code>`` for the
  requester named — an operator of one requester never acts for another (T_FORBIDDEN) — at a 代表端末
  or a bulk-enabled 業務端末 (S-29, T_BULK_TERMINAL);
* approve or reject a large request (S-26): an operator holding ``requester_head@<code>`` of the job's
  requester, who did not submit it (T_BULK_SELF_APPROVAL); the decision, the approver and the time are
  recorded in the job and the operation log.

The checks run in a short guarded transaction; the submission, the processing and the download record
each run in their own transaction, so the result file is published only after its records committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from juki.domain.errors import CATALOG
from juki.domain.provision import Method
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome, TerminalKind
from juki.services.audit.guard import guarded
from juki.services.provision.bulk.jobs import (
    ExchangeKind,
    JobInfo,
    JobNotFound,
    JobState,
    Sender,
    get_job,
    list_jobs,
    record_exchange,
)
from juki.services.provision.bulk.journal import log_bulk
from juki.services.provision.bulk.national import NationalAccess
from juki.services.provision.bulk.process import StagingLost, fail_job, process_job
from juki.services.provision.bulk.request_file import BulkFileError
from juki.services.provision.bulk.results import ResultStore
from juki.services.provision.bulk.submit import DEFAULT_APPROVAL_ROWS, submit_request
from juki.services.provision.bulk.terms import BulkTerms, UnknownTask, terms_for
from juki.services.provision.catalog import load_catalog

__all__ = [
    "approve_job",
    "check_bulk_terminal",
    "fetch_result",
    "jobs_for",
    "reject_job",
    "requesters_of",
    "run_job",
    "submit_at_terminal",
    "terms_of_job",
]

T = TypeVar("T")


def requesters_of(actor: Actor, function: Function, file: FileKind) -> frozenset[str]:
    """The requesters ``actor`` may act for in ``function`` on ``file`` (their bound roles)."""
    return permissions.bindings(actor, function, file)


def check_bulk_terminal(actor: Actor) -> None:
    """S-29: bulk work only at a 代表端末 or a bulk-enabled 業務端末."""
    if actor.terminal_kind is not TerminalKind.REPRESENTATIVE and not actor.bulk_enabled:
        raise Refusal("T_BULK_TERMINAL")


def _sender(actor: Actor) -> Sender:
    return Sender(actor.operator_id, actor.login, actor.terminal_id, actor.terminal_name)


def _check(
    conn: psycopg.Connection[Any],
    actor: Actor,
    function: Function,
    file: FileKind,
    event: str,
    body: Callable[[], T],
    target: str | None = None,
) -> T:
    """Run ``body`` (checks that raise Refusal) guarded: a refusal is logged and committed."""
    return guarded(conn, body, actor=actor, function=function, event=event, file=file, target=target)


def _refuse(
    conn: psycopg.Connection[Any],
    actor: Actor,
    function: Function,
    file: FileKind,
    event: str,
    refusal: Refusal,
) -> Refusal:
    """Log a refusal found outside a guarded body (a file error found while reading) and return it."""

    def body() -> None:
        raise refusal

    try:
        _check(conn, actor, function, file, event, body)
    except Refusal as logged:
        return logged
    return refusal


def terms_of_job(conn: psycopg.Connection[Any], file: FileKind, job: JobInfo) -> BulkTerms:
    """The job's terms from the catalog in force today (a task that ended meanwhile refuses every row)."""
    catalog = load_catalog(conn)
    return terms_for(catalog, file, job.requester_code, job.task_code, Method(job.method), date.today())


def run_job(
    conn: psycopg.Connection[Any],
    file: FileKind,
    job: JobInfo,
    store: ResultStore,
    *,
    actor: Actor | None,
    sender: Sender | None,
    national: NationalAccess | None = None,
) -> JobInfo:
    """Process a ready job; on an unexpected failure the job is marked エラー (never half-delivered).
    ``national``: J-LIS for the rows our file does not answer (None: they are P_UNAVAILABLE)."""
    try:
        terms = terms_of_job(conn, file, job)
    except UnknownTask:
        fail_job(conn, file, job.id, "E_BULK_TASK", "依頼元・事務が提供カタログにありません")
        return get_job(conn, file, job.id, requester_code=None)
    try:
        return process_job(conn, terms, job.id, store, actor=actor, sender=sender, national=national)
    except StagingLost:
        fail_job(conn, file, job.id, "E_BULK_LOST", CATALOG["E_BULK_LOST"].message_ja)
        return get_job(conn, file, job.id, requester_code=None)
    except psycopg.Error:
        fail_job(conn, file, job.id, "E_INTERNAL", "処理中にデータベースのエラーが発生しました")
        raise


def submit_at_terminal(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    *,
    requester_code: str,
    task_code: str,
    chunks: Iterable[bytes],
    file_name: str,
    store: ResultStore,
    approval_rows: int = DEFAULT_APPROVAL_ROWS,
    encoding: str | None = None,
    national: NationalAccess | None = None,
) -> JobInfo:
    """Upload at a terminal (S-29): store the request, and process it unless it waits for approval.

    ``conn`` is an autocommit connection as the file's role. Raises Refusal (logged)."""

    def checks() -> BulkTerms:
        permissions.require(actor, Function.BULK_SUBMIT, file)
        if requester_code not in requesters_of(actor, Function.BULK_SUBMIT, file):
            raise Refusal("T_FORBIDDEN", "所属する依頼元の依頼だけを提出できます")
        check_bulk_terminal(actor)
        try:
            return terms_for(load_catalog(conn), file, requester_code, task_code, Method.MEDIA, date.today())
        except UnknownTask:
            raise Refusal("T_BULK_FILE", "E_BULK_TASK 依頼元・事務が提供カタログにありません") from None

    terms = _check(conn, actor, Function.BULK_SUBMIT, file, "bulk_submit", checks)
    try:
        job = submit_request(
            conn,
            terms,
            chunks,
            file_name=file_name,
            sender=_sender(actor),
            actor=actor,
            approval_rows=approval_rows,
            encoding=encoding,
        )
    except BulkFileError as exc:
        raise _refuse(
            conn,
            actor,
            Function.BULK_SUBMIT,
            file,
            "bulk_submit",
            Refusal("T_BULK_FILE", f"{exc.code} {exc.message}"),
        ) from None
    if job.state is JobState.RECEIVED:
        job = run_job(conn, file, job, store, actor=actor, sender=None, national=national)
    return job


def jobs_for(conn: psycopg.Connection[Any], actor: Actor, file: FileKind) -> list[JobInfo]:
    """The jobs of every requester the operator submits or approves for (newest first)."""
    codes = requesters_of(actor, Function.BULK_SUBMIT, file) | requesters_of(
        actor, Function.BULK_APPROVE, file
    )
    out: list[JobInfo] = []
    for code in sorted(codes):
        out.extend(list_jobs(conn, file, requester_code=code))
    return sorted(out, key=lambda j: j.id, reverse=True)


def _job_of(conn: psycopg.Connection[Any], file: FileKind, job_id: int, codes: frozenset[str]) -> JobInfo:
    """The job when it belongs to one of ``codes``; another requester's job is "not found"."""
    try:
        job = get_job(conn, file, job_id, requester_code=None)
    except JobNotFound:
        raise Refusal("T_BULK_JOB_NOT_FOUND") from None
    if job.requester_code not in codes:
        raise Refusal("T_BULK_JOB_NOT_FOUND")
    return job


def _decide(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, job_id: int, decision: str, note: str
) -> JobInfo:
    spec = file_spec(file)

    def body() -> JobInfo:
        permissions.require(actor, Function.BULK_APPROVE, file)
        job = _job_of(conn, file, job_id, requesters_of(actor, Function.BULK_APPROVE, file))
        if job.state is not JobState.AWAITING_APPROVAL:
            raise Refusal("T_BULK_STATE", job.state_label)
        if job.operator_id == actor.operator_id:
            raise Refusal("T_BULK_SELF_APPROVAL")
        state = JobState.RECEIVED if decision == "approved" else JobState.REJECTED
        conn.execute(
            sql.SQL(
                "UPDATE {} SET decision = %s, decided_by_id = %s, decided_by_login = %s, decided_at = now(),"
                " decision_note = %s, state = %s WHERE id = %s AND state = 'awaiting_approval'"
            ).format(sql.SQL(spec.table("bulk_job"))),
            (decision, actor.operator_id, actor.login, note[:500], state.value, job_id),
        )
        if state is JobState.REJECTED:
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE job_id = %s").format(sql.SQL(spec.table("bulk_request_row"))),
                (job_id,),
            )
        log_bulk(
            conn,
            actor,
            None,
            function=Function.BULK_APPROVE,
            file=file,
            outcome=Outcome.ALLOW,
            target=f"bulk_job:{job_id}",
            detail={"event": f"bulk_{decision}", "requester": job.requester_code, "rows": job.rows},
        )
        return get_job(conn, file, job_id, requester_code=None)

    return _check(conn, actor, Function.BULK_APPROVE, file, f"bulk_{decision}", body, f"bulk_job:{job_id}")


def approve_job(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    job_id: int,
    store: ResultStore,
    note: str = "",
    national: NationalAccess | None = None,
) -> JobInfo:
    """S-26: the head of the job's requester approves it; the job then runs at once."""
    job = _decide(conn, actor, file, job_id, "approved", note)
    return run_job(conn, file, job, store, actor=actor, sender=None, national=national)


def reject_job(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, job_id: int, note: str = ""
) -> JobInfo:
    """S-26: the head rejects it: nothing is matched or provided; the request rows are deleted."""
    return _decide(conn, actor, file, job_id, "rejected", note)


def fetch_result(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, job_id: int, store: ResultStore
) -> tuple[JobInfo, Path]:
    """A done job's result file for download at the terminal, its download recorded first (S-23)."""

    def body() -> tuple[JobInfo, Path]:
        permissions.require(actor, Function.BULK_SUBMIT, file)
        check_bulk_terminal(actor)
        job = _job_of(conn, file, job_id, requesters_of(actor, Function.BULK_SUBMIT, file))
        path = store.path(file, job_id)
        if job.state is not JobState.DONE or job.result_sha256 is None or not path.exists():
            raise Refusal("T_BULK_STATE", "照会結果ファイルはまだありません")
        record_exchange(
            conn,
            file,
            job_id,
            ExchangeKind.DOWNLOAD,
            file_name=path.name,
            sha256=job.result_sha256,
            rows=job.result_rows or 0,
            sender=_sender(actor),
        )
        log_bulk(
            conn,
            actor,
            None,
            function=Function.BULK_SUBMIT,
            file=file,
            outcome=Outcome.ALLOW,
            target=f"bulk_job:{job_id}",
            detail={"event": "bulk_download", "sha256": job.result_sha256, "rows": job.result_rows},
        )
        return job, path

    return _check(conn, actor, Function.BULK_SUBMIT, file, "bulk_download", body, f"bulk_job:{job_id}")
