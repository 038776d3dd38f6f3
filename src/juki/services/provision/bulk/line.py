"""Line linkage (回線連携, F1-2b; S-23, S-33, S-34): the server's side of the requester's agent.

The tax system's shared folder exists only on the requester's side, and the servers never reach into
it (S-33): the agent there pushes each request file over mutual TLS and fetches each result back. The
agent's certificate (role ``line_agent``) names its requester; the agent may submit for that requester
only and sees only that requester's jobs — a job of another requester is "not found". Every push and
every fetch is recorded (S-23, REC-3) and logged as the system ``line`` with the certificate's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from juki.domain.errors import CATALOG
from juki.domain.peers import PeerRole
from juki.domain.provision import Method
from juki.domain.records import FileKind
from juki.services.access.actor import Function, Outcome
from juki.services.access.pki import PeerIdentity
from juki.services.provision.bulk.jobs import (
    ExchangeKind,
    JobInfo,
    JobNotFound,
    JobState,
    Sender,
    get_job,
    record_exchange,
)
from juki.services.provision.bulk.journal import log_bulk
from juki.services.provision.bulk.national import NationalAccess
from juki.services.provision.bulk.request_file import BulkFileError
from juki.services.provision.bulk.results import ResultStore
from juki.services.provision.bulk.service import run_job
from juki.services.provision.bulk.submit import DEFAULT_APPROVAL_ROWS, submit_request
from juki.services.provision.bulk.terms import UnknownTask, terms_for
from juki.services.provision.catalog import load_catalog

__all__ = ["LineError", "line_job", "line_result", "line_sender", "submit_from_line"]


class LineError(Exception):
    """A refused line-linkage request: a stable E_ code, its message, an HTTP status."""

    def __init__(self, code: str, status: int, detail: str | None = None) -> None:
        spec = CATALOG[code]
        self.code = code
        self.status = status
        self.message = f"{spec.message_ja}（{detail}）" if detail else spec.message_ja
        super().__init__(f"{code}: {self.message}")


def line_sender(peer: PeerIdentity) -> Sender:
    """The agent as the records name it: its certificate's name and serial."""
    return Sender(peer_name=peer.name, peer_serial=str(peer.serial))


def _requester(peer: PeerIdentity) -> str:
    if peer.role is not PeerRole.LINE_AGENT or peer.requester is None:
        raise LineError("E_PEER_ROLE", 403, f"回線連携の証明書ではありません（{peer.role.value}）")
    return peer.requester


def _deny(conn: psycopg.Connection[Any], peer: PeerIdentity, file: FileKind, code: str, event: str) -> None:
    """Log a refused line request (committed: the connection is autocommit)."""
    with conn.transaction():
        log_bulk(
            conn,
            None,
            line_sender(peer),
            function=Function.BULK_SUBMIT,
            file=file,
            outcome=Outcome.DENY,
            target=None,
            detail={"event": event, "refusal": code, "requester": peer.requester},
        )


def submit_from_line(
    conn: psycopg.Connection[Any],
    peer: PeerIdentity,
    file: FileKind,
    *,
    task_code: str,
    requester_code: str | None,
    chunks: Iterable[bytes],
    file_name: str,
    store: ResultStore,
    approval_rows: int = DEFAULT_APPROVAL_ROWS,
    encoding: str | None = None,
    national: NationalAccess | None = None,
) -> JobInfo:
    """Store a pushed request file and process it unless it waits for the head's approval (S-26).

    ``conn``: an autocommit connection as the file's role. ``requester_code``, when the agent names
    one, must be its certificate's (E_BULK_REQUESTER otherwise)."""
    own = _requester(peer)
    if requester_code is not None and requester_code != own:
        _deny(conn, peer, file, "E_BULK_REQUESTER", "bulk_submit")
        raise LineError("E_BULK_REQUESTER", 403)
    try:
        terms = terms_for(load_catalog(conn), file, own, task_code, Method.LINE, date.today())
    except UnknownTask:
        _deny(conn, peer, file, "E_BULK_TASK", "bulk_submit")
        raise LineError("E_BULK_TASK", 422) from None
    sender = line_sender(peer)
    try:
        job = submit_request(
            conn,
            terms,
            chunks,
            file_name=file_name,
            sender=sender,
            actor=None,
            approval_rows=approval_rows,
            encoding=encoding,
        )
    except BulkFileError as exc:
        _deny(conn, peer, file, exc.code, "bulk_submit")
        raise LineError(exc.code, 422, exc.message) from None
    if job.state is JobState.RECEIVED:
        job = run_job(conn, file, job, store, actor=None, sender=sender, national=national)
    return job


def line_job(conn: psycopg.Connection[Any], peer: PeerIdentity, file: FileKind, job_id: int) -> JobInfo:
    """One job of the agent's own requester (another requester's: E_BULK_JOB_NOT_FOUND)."""
    own = _requester(peer)
    try:
        return get_job(conn, file, job_id, requester_code=own)
    except JobNotFound:
        raise LineError("E_BULK_JOB_NOT_FOUND", 404) from None


def line_result(
    conn: psycopg.Connection[Any], peer: PeerIdentity, file: FileKind, job_id: int, store: ResultStore
) -> tuple[JobInfo, Path]:
    """A done job's result file for the agent, the fetch recorded first (S-23)."""
    job = line_job(conn, peer, file, job_id)
    path = store.path(file, job_id)
    if job.state is not JobState.DONE or job.result_sha256 is None or not path.exists():
        raise LineError("E_BULK_NOT_READY", 409, job.state_label)
    with conn.transaction():
        record_exchange(
            conn,
            file,
            job_id,
            ExchangeKind.LINE_RESULT,
            file_name=path.name,
            sha256=job.result_sha256,
            rows=job.result_rows or 0,
            sender=line_sender(peer),
        )
        log_bulk(
            conn,
            None,
            line_sender(peer),
            function=Function.BULK_SUBMIT,
            file=file,
            outcome=Outcome.ALLOW,
            target=f"bulk_job:{job_id}",
            detail={"event": "bulk_line_result", "sha256": job.result_sha256, "rows": job.result_rows},
        )
    return job, path
