"""Consistency check over mutual TLS (REQUIREMENTS F1-7, F2-7, S-53; issue 3 item 6).

`POST /cs/v1/{file}/reconciliation` (body ``text/csv``, streamed): a municipal CS uploads its complete
set; the certificate's 地方公共団体コード is the municipality compared. The answer is the kept run — its
id, counts, the first ``limit`` differences — and where to page the rest:
`GET /cs/v1/{file}/reconciliation/{run_id}?offset&limit`, readable only by the municipality that ran it.
`GET /cs/v1/{file}/reconciliation/requests`: the prefecture's open regular requests (S-53) to the
certificate's municipality, which it answers with an upload (services/registry/reconciliation_requests.py).

The body is never held in memory: the blocking service runs in a worker thread and pulls the request
body chunk by chunk from the event loop (``anyio.from_thread.run``) straight into PostgreSQL's COPY.
A connection dropped mid-upload ends the run as failed (E_RECON_TRUNCATED). Errors are JSON
``{"code", "message"}`` (plus ``run_id`` / ``line`` when known) with stable codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import psycopg
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import all_files, file_spec
from juki.services.access.pki import PeerIdentity, other_prefecture, peer_identity
from juki.services.registry.reconciliation import (
    ReconcileError,
    RunInfo,
    get_run,
    list_differences,
    reconcile,
    upload_columns,
)
from juki.services.registry.reconciliation_requests import open_requests
from juki.store.db import Database

#: HTTP status of each error code (the code, not the status, is the contract).
ERROR_STATUS: dict[str, int] = {
    "E_RECON_HEADER": 400,
    "E_RECON_TRUNCATED": 400,
    "E_RECON_ROW": 422,
    "E_RECON_ENCODING": 422,
    "E_RECON_DUPLICATE": 422,
    "E_RECON_MUNICIPALITY": 403,
    "E_RECON_INTERRUPTED": 503,
    "E_RECON_ABANDONED": 503,
}
DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: After a failed run the rest of the body is read and discarded (so the sender gets the answer), up to this.
_DRAIN_LIMIT = 4 * 2**30


class ReconError(BaseModel):
    """Every error answer: a stable code, a message (Japanese), the run and line when known."""

    code: str
    message: str
    run_id: int | None = None
    line: int | None = None


class Difference(BaseModel):
    seq: int = Field(description="position in the result (住民票コード order), 1-based")
    juminhyo_code: str
    kind: str = Field(description="missing_on_server / missing_on_municipal / different")
    fields: dict[str, dict[str, str]] | None = Field(
        default=None, description='different: {item: {"municipal": …, "server": …}}'
    )


class Page(BaseModel):
    offset: int
    limit: int
    total: int
    next: str | None = Field(description="URL of the next page, null on the last")


class RunError(BaseModel):
    code: str
    message: str | None = None


class ReconciliationResult(BaseModel):
    run_id: int
    file: str
    municipality_code: str
    scope_codes: list[str]
    requested_by: str
    status: str = Field(description="running / completed / failed")
    started_at: str
    finished_at: str | None
    uploaded_rows: int | None
    counts: dict[str, Any] | None = Field(
        description="uploaded, server, matched, identical, missing_on_server, missing_on_municipal, "
        "different, differences, fields (per item)"
    )
    error: RunError | None
    differences: list[Difference]
    page: Page


class ReconciliationRequest(BaseModel):
    request_id: int
    municipality_code: str
    requested_at: str
    due_at: str = Field(description="answer (a completed upload) before this time")


class RequestList(BaseModel):
    requests: list[ReconciliationRequest]
    columns: list[str] = Field(description="the upload's header row")


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message, **extra})


def _municipal_peer(request: Request, prefecture: str) -> PeerIdentity | JSONResponse:
    der = request.scope.get("extensions", {}).get("tls", {}).get("peer_cert_der")
    peer: PeerIdentity | None = None
    if der:
        try:
            peer = peer_identity(der)
        except ValueError:
            peer = None
    if peer is None:
        return _error(403, "E_PEER_UNAUTHENTICATED", "クライアント証明書で認証されていません")
    if peer.role is not PeerRole.MUNICIPAL_CS or not peer.lg_code:
        return _error(403, "E_PEER_ROLE", f"市町村CSの証明書ではありません（{peer.role.value}）")
    if (foreign := other_prefecture(peer, prefecture)) is not None:
        return _error(403, "E_PEER_PREFECTURE", foreign)  # issue 14: one prefecture per server
    return peer


def _document(file: FileKind, info: RunInfo, diffs: list[dict[str, Any]], offset: int, limit: int) -> Any:
    total = int((info.counts or {}).get("differences", 0))
    after = offset + len(diffs)
    nxt = (
        f"/cs/v1/{file.value}/reconciliation/{info.run_id}?offset={after}&limit={limit}"
        if after < total and limit > 0
        else None
    )
    return {
        **info.to_dict(),
        "differences": diffs,
        "page": {"offset": offset, "limit": limit, "total": total, "next": nxt},
    }


def register_reconciliation(app: FastAPI, db: Database) -> None:
    """Add the reconciliation endpoints to ``app`` (the mTLS intake app)."""
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ReconError},
        403: {"model": ReconError},
        404: {"model": ReconError},
        415: {"model": ReconError},
        422: {"model": ReconError},
        503: {"model": ReconError},
    }
    headers = "; ".join(f"for {spec.value} `{','.join(upload_columns(spec.kind))}`" for spec in all_files())

    @app.post(
        "/cs/v1/{file}/reconciliation",
        response_model=ReconciliationResult,
        responses=responses,
        summary="Reconcile the municipality's complete set (CSV body, streamed) with the file",
        description="本人確認情報整合 / 附票本人確認情報整合 (F1-7, F2-7). "
        f"The body is CSV (UTF-8) with a header row: {headers}. "
        "`expected_rows` (optional) is the number of data rows sent; a mismatch fails the run.",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def post_reconciliation(
        file: FileKind,
        request: Request,
        limit: int = Query(DEFAULT_PAGE, ge=0, le=MAX_PAGE, description="differences in the answer"),
        expected_rows: int | None = Query(None, ge=0, description="data rows the sender sent"),
    ) -> Any:
        peer = _municipal_peer(request, db.settings.prefecture)
        if isinstance(peer, JSONResponse):
            return peer
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "text/csv":
            return _error(415, "E_CONTENT_TYPE", "本文は CSV（text/csv, UTF-8）で送ってください")
        lg_code = peer.lg_code
        assert lg_code is not None
        body = request.stream().__aiter__()

        async def next_chunk() -> bytes | None:
            try:
                return await body.__anext__()
            except StopAsyncIteration:
                return None

        def chunks() -> Iterator[bytes]:
            while (chunk := anyio.from_thread.run(next_chunk)) is not None:
                yield chunk

        def work() -> Any:
            with db.connect(file_spec(file).db_role) as conn:
                info = reconcile(
                    conn,
                    file,
                    lg_code,
                    chunks(),
                    requested_by=f"cs:{lg_code}",
                    expected_rows=expected_rows,
                    lg_table=db.settings.lg_table,
                )
                diffs = list_differences(conn, file, info.run_id, 0, limit) if limit else []
            return _document(file, info, diffs, 0, limit)

        try:
            return await run_in_threadpool(work)
        except ReconcileError as exc:
            await _drain(body)
            return JSONResponse(status_code=ERROR_STATUS.get(exc.code, 400), content=exc.to_dict())
        except psycopg.Error:
            await _drain(body)
            return _error(503, "E_RECON_INTERRUPTED", "データベースに接続できません。後で再送してください")

    @app.get(
        "/cs/v1/{file}/reconciliation/requests",
        response_model=RequestList,
        responses=responses,
        summary="The prefecture's open requests for a consistency check to this municipality (S-53)",
        description="定期的な整合性確認の要求. Answer one by uploading the complete set "
        "(`POST /cs/v1/{file}/reconciliation`); the completed run answers the request.",
    )
    async def get_reconciliation_requests(file: FileKind, request: Request) -> Any:
        peer = _municipal_peer(request, db.settings.prefecture)
        if isinstance(peer, JSONResponse):
            return peer
        lg_code = peer.lg_code
        assert lg_code is not None

        def work() -> Any:
            spec = file_spec(file)
            with db.connect(spec.db_role) as conn:
                return {"requests": open_requests(conn, spec, lg_code), "columns": list(upload_columns(file))}

        try:
            return await run_in_threadpool(work)
        except psycopg.Error:
            return _error(503, "E_RECON_INTERRUPTED", "データベースに接続できません。後で再送してください")

    @app.get(
        "/cs/v1/{file}/reconciliation/{run_id}",
        response_model=ReconciliationResult,
        responses=responses,
        summary="A kept reconciliation run and one page of its differences",
    )
    async def get_reconciliation(
        file: FileKind,
        run_id: int,
        request: Request,
        offset: int = Query(0, ge=0),
        limit: int = Query(DEFAULT_PAGE, ge=0, le=MAX_PAGE),
    ) -> Any:
        peer = _municipal_peer(request, db.settings.prefecture)
        if isinstance(peer, JSONResponse):
            return peer

        def work() -> Any:
            with db.connect(file_spec(file).db_role) as conn:
                info = get_run(conn, file, run_id)
                if info is None:
                    return _error(404, "E_RECON_NOT_FOUND", f"照合 {run_id} はありません")
                if info.municipality_code != peer.lg_code:
                    return _error(403, "E_RECON_FORBIDDEN", "他の市町村の照合結果は参照できません")
                diffs = list_differences(conn, file, run_id, offset, limit) if limit else []
            return _document(file, info, diffs, offset, limit)

        return await run_in_threadpool(work)


async def _drain(body: Any) -> None:
    """Read and discard what is left of the request body (bounded), so the sender can read the answer."""
    seen = 0
    try:
        async for chunk in body:
            seen += len(chunk)
            if seen > _DRAIN_LIMIT:
                return
    except Exception:  # the client is gone, or the body was fully read already
        return
