"""Municipal intake over mutual TLS (REQUIREMENTS F1-1, F2-1, S-38, S-40, S-42, S-43).

`POST /cs/v1/{file}/notifications`: a municipal CS posts a batch of change notifications as JSON
Lines. The client certificate — verified against the network CA and its CRL by the TLS layer —
names the municipality; the ledger rejects any line that claims another sender. Every line gets a
result and an inbox row; the response comes only after the batch has committed (accepted means
committed).

The TLS server puts the verified peer certificate into the ASGI scope
(`scope["extensions"]["tls"]["peer_cert_der"]`); a request without one, or whose certificate names
another role than a municipal CS, gets nothing but an error (S-42).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import TupleRow
from pydantic import BaseModel, Field

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.interfaces.reconcile_api import register_reconciliation
from juki.services.access.pki import PeerIdentity, peer_identity
from juki.services.registry.intake import NotificationApplier, Summary, iter_lines
from juki.store.db import Database, DbRole

#: Largest batch body accepted (a batch is a few thousand notifications of a few hundred bytes).
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_ITEMS = 10_000


class ApiError(BaseModel):
    """Every error answer: a stable code and a message (Japanese), never a stack trace."""

    code: str
    message: str


class ItemError(BaseModel):
    code: str
    message: str | None = None
    detail: str | None = None


class ItemResultModel(BaseModel):
    line: int
    status: str = Field(description="accepted / duplicate / rejected")
    municipality_code: str | None = None
    notification_id: str | None = None
    juminhyo_code: str | None = None
    update_seq: int | None = Field(default=None, description="更新順番号 (accepted, duplicate)")
    error: ItemError | None = None
    warnings: list[str] | None = None


class BatchSummary(BaseModel):
    accepted: int
    duplicate: int
    rejected: int


class BatchResponse(BaseModel):
    results: list[ItemResultModel]
    summary: BatchSummary


class ConnectionPool:
    """A few connections per database role, reused across requests (connecting costs a TLS-less but
    still noticeable round of authentication and backend start per request).

    A connection goes back to the pool only when its work finished cleanly (committed, idle); one
    taken from the pool is checked with a cheap round trip first, so a PostgreSQL restart costs no
    request: a dead connection is dropped and a new one opened."""

    def __init__(self, db: Database, *, max_idle: int = 4) -> None:
        self.db = db
        self.max_idle = max_idle
        self._idle: dict[DbRole, queue.LifoQueue[psycopg.Connection[TupleRow]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _queue(self, role: DbRole) -> queue.LifoQueue[psycopg.Connection[TupleRow]]:
        with self._lock:
            return self._idle.setdefault(role, queue.LifoQueue())

    def _take(self, role: DbRole) -> psycopg.Connection[TupleRow]:
        idle = self._queue(role)
        while True:
            try:
                conn = idle.get_nowait()
            except queue.Empty:
                return self.db.connect(role)
            try:
                conn.execute("SELECT 1")
                conn.rollback()
                return conn
            except psycopg.Error:
                conn.close()

    @contextmanager
    def connection(self, role: DbRole) -> Iterator[psycopg.Connection[TupleRow]]:
        """A connection as ``role``: committed on success (as ``with db.connect()``), dropped on error."""
        conn = self._take(role)
        try:
            yield conn
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.commit()
        except BaseException:
            conn.close()
            raise
        idle = self._queue(role)
        if self._closed or conn.closed or conn.broken or idle.qsize() >= self.max_idle:
            conn.close()
        else:
            idle.put(conn)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            queues = list(self._idle.values())
        for idle in queues:
            while True:
                try:
                    idle.get_nowait().close()
                except queue.Empty:
                    break


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _peer(request: Request) -> PeerIdentity | None:
    tls = request.scope.get("extensions", {}).get("tls", {})
    der = tls.get("peer_cert_der")
    if not der:
        return None
    try:
        return peer_identity(der)
    except ValueError:
        return None


def create_intake_app(db: Database, *, applier_factory: Callable[..., Any] | None = None) -> FastAPI:
    """The intake API over ``db``; the server it runs in must require client certificates.

    Its database connections are pooled (``app.state.pool``): close the pool when the server stops."""
    app = FastAPI(
        title="juki municipal intake",
        version="1",
        description="市町村CS → 都道府県サーバ / 附票都道府県サーバ: change notifications over mutual TLS.",
    )
    pool = ConnectionPool(db)
    app.state.pool = pool
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ApiError},
        403: {"model": ApiError},
        413: {"model": ApiError},
        415: {"model": ApiError},
    }

    @app.post(
        "/cs/v1/{file}/notifications",
        response_model=BatchResponse,
        responses=responses,
        summary="Apply a batch of change notifications (JSON Lines body)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        # At least one non-blank line: an empty batch is answered 400 E_BATCH_EMPTY.
                        "schema": {"type": "string", "minLength": 1, "pattern": "\\S"}
                    }
                },
            }
        },
    )
    async def post_notifications(file: FileKind, request: Request) -> Any:
        peer = _peer(request)
        if peer is None:
            return _error(403, "E_PEER_UNAUTHENTICATED", "クライアント証明書で認証されていません")
        if peer.role is not PeerRole.MUNICIPAL_CS or not peer.lg_code:
            return _error(403, "E_PEER_ROLE", f"市町村CSの証明書ではありません（{peer.role.value}）")
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in ("application/x-ndjson", "application/jsonl", "text/plain"):
            return _error(415, "E_CONTENT_TYPE", "本文は JSON Lines（application/x-ndjson）で送ってください")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _error(413, "E_BATCH_TOO_LARGE", f"一括送信は {MAX_BODY_BYTES // 2**20} MiB までです")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _error(413, "E_BATCH_TOO_LARGE", f"一括送信は {MAX_BODY_BYTES // 2**20} MiB までです")
        lines = list(iter_lines([bytes(body)]))
        if not lines:
            return _error(400, "E_BATCH_EMPTY", "通知が1件も含まれていません")
        if len(lines) > MAX_ITEMS:
            return _error(413, "E_BATCH_TOO_MANY", f"一括送信は {MAX_ITEMS} 件までです")
        results, summary = await _apply(db, pool, file, lines, peer)
        return {"results": results, "summary": summary.__dict__}

    register_reconciliation(app, db)  # F1-7, F2-7: POST/GET /cs/v1/{file}/reconciliation
    return app


async def _apply(
    db: Database, pool: ConnectionPool, file: FileKind, lines: list[tuple[int, bytes]], peer: PeerIdentity
) -> tuple[list[dict[str, Any]], Summary]:
    """Run the (blocking) ledger in a worker thread so the event loop keeps serving."""
    from starlette.concurrency import run_in_threadpool

    def work() -> tuple[list[dict[str, Any]], Summary]:
        role = DbRole.PREF if file is FileKind.PREF else DbRole.FUHYO
        summary = Summary()
        out: list[dict[str, Any]] = []
        with pool.connection(role) as conn:
            applier = NotificationApplier(
                {file: conn},
                check_digit_mode=db.settings.juminhyo_check_digit,
                batch_size=len(lines),
                only=file,
            )
            for result in applier.apply(lines, source=f"cs:{peer.lg_code}", sender=peer.lg_code):
                summary.add(result)
                out.append(result.to_dict())
        return out, summary

    return await run_in_threadpool(work)
