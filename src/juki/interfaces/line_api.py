"""Line linkage over mutual TLS (回線連携, F1-2b; S-23, S-33, S-34): the endpoints the agent talks to.

* ``POST /line/v1/{file}/requests?task=CODE&name=FILE[&requester=CODE][&encoding=…]`` — a 照会要求ファイル
  (``text/csv``, streamed into the job); the answer is the job: processed (``done``), or waiting for the
  head's approval (``awaiting_approval``, S-26).
* ``GET /line/v1/{file}/requests/{job_id}`` — the job's state.
* ``GET /line/v1/{file}/requests/{job_id}/result`` — the 照会結果ファイル of a done job (recorded, S-23).

The client certificate (role ``line_agent``) names the requester; a request naming another requester is
refused (E_BULK_REQUESTER) and a job of another requester is not found. Errors are JSON ``{"code",
"message"}`` with stable codes; no stack trace, no personal data in a URL (the query names a task and a
file name, never a person).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.pki import PeerIdentity, peer_identity
from juki.services.jlis import operator_query
from juki.services.provision.bulk.line import LineError, line_job, line_result, submit_from_line
from juki.services.provision.bulk.national import NationalAccess
from juki.services.provision.bulk.request_file import BulkFileError
from juki.services.provision.bulk.results import ResultStore, result_directory
from juki.store.db import Database

__all__ = ["register_line_linkage"]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


class LineApiError(BaseModel):
    """Every error answer: a stable code and a message (Japanese), never a stack trace."""

    code: str
    message: str


_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": LineApiError} for status in (403, 404, 409, 415, 422, 503)
}


def _agent(request: Request) -> PeerIdentity | JSONResponse:
    """The line agent of the request (its certificate), or the error answer (S-33: nobody else)."""
    der = request.scope.get("extensions", {}).get("tls", {}).get("peer_cert_der")
    peer: PeerIdentity | None = None
    if der:
        try:
            peer = peer_identity(der)
        except ValueError:
            peer = None
    if peer is None:
        return _error(403, "E_PEER_UNAUTHENTICATED", "クライアント証明書で認証されていません")
    if peer.role is not PeerRole.LINE_AGENT or peer.requester is None:
        return _error(403, "E_PEER_ROLE", f"回線連携の証明書ではありません（{peer.role.value}）")
    return peer


def register_line_linkage(app: FastAPI, db: Database) -> None:
    """Add the line-linkage endpoints to ``app`` (the mTLS intake app)."""
    store = ResultStore(result_directory(db.settings))
    approval_rows = db.settings.bulk_approval_rows

    def connect(file: FileKind) -> psycopg.Connection[Any]:
        return db.connect(file_spec(file).db_role, autocommit=True)

    @app.post(
        "/line/v1/{file}/requests",
        summary="Submit a 照会要求ファイル (CSV body, streamed)",
        responses=_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def post_request(
        file: FileKind,
        request: Request,
        task: str = Query(..., min_length=1, max_length=64, description="the catalog's task code"),
        name: str = Query("request.csv", max_length=255, description="the request file's name"),
        requester: str | None = Query(None, max_length=64, description="must be the certificate's"),
        encoding: str | None = Query(None, pattern="^(utf-8|cp932)$"),
    ) -> Any:
        peer = _agent(request)
        if isinstance(peer, JSONResponse):
            return peer
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "text/csv":
            return _error(415, "E_CONTENT_TYPE", "本文は CSV（text/csv）で送ってください")
        body = request.stream().__aiter__()

        async def next_chunk() -> bytes | None:
            try:
                return await body.__anext__()
            except StopAsyncIteration:
                return None

        def chunks() -> Iterator[bytes]:
            while True:
                try:
                    chunk = anyio.from_thread.run(next_chunk)
                except Exception:  # the agent's connection dropped mid-upload: nothing of it is kept
                    raise BulkFileError("E_BULK_TRUNCATED") from None
                if chunk is None:
                    return
                yield chunk

        def work() -> Any:
            with connect(file) as conn:
                job = submit_from_line(
                    conn,
                    peer,
                    file,
                    task_code=task,
                    requester_code=requester,
                    chunks=chunks(),
                    file_name=name,
                    store=store,
                    approval_rows=approval_rows,
                    encoding=encoding,
                    national=NationalAccess(
                        peer=lambda: operator_query.configured_peer(db.settings, file),
                        connect=lambda: connect(file),
                    ),
                )
                return job.to_dict()

        try:
            return await run_in_threadpool(work)
        except LineError as exc:
            return _error(exc.status, exc.code, exc.message)
        except psycopg.Error:
            return _error(503, "E_UNAVAILABLE", "データベースに接続できません。後で再送してください")

    @app.get(
        "/line/v1/{file}/requests/{job_id}", summary="A job of the agent's requester", responses=_RESPONSES
    )
    async def get_request(file: FileKind, job_id: int, request: Request) -> Any:
        peer = _agent(request)
        if isinstance(peer, JSONResponse):
            return peer

        def work() -> Any:
            with connect(file) as conn:
                return line_job(conn, peer, file, job_id).to_dict()

        try:
            return await run_in_threadpool(work)
        except LineError as exc:
            return _error(exc.status, exc.code, exc.message)

    @app.get(
        "/line/v1/{file}/requests/{job_id}/result",
        summary="The 照会結果ファイル of a done job",
        responses={**_RESPONSES, 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
        response_class=FileResponse,
    )
    async def get_result(file: FileKind, job_id: int, request: Request) -> Any:
        peer = _agent(request)
        if isinstance(peer, JSONResponse):
            return peer

        def work() -> Any:
            with connect(file) as conn:
                return line_result(conn, peer, file, job_id, store)

        try:
            job, path = await run_in_threadpool(work)
        except LineError as exc:
            return _error(exc.status, exc.code, exc.message)
        return FileResponse(
            path,
            media_type=f"text/csv; charset={'shift_jis' if job.encoding == 'cp932' else 'utf-8'}",
            headers={"X-Juki-Sha256": job.result_sha256 or "", "Cache-Control": "no-store"},
        )
