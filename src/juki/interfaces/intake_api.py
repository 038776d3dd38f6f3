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

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import all_files, file_spec
from juki.interfaces.inquiry_api import register_inquiries
from juki.interfaces.line_api import register_line_linkage
from juki.interfaces.reconcile_api import register_reconciliation
from juki.services.access.pki import PeerIdentity, other_prefecture, peer_identity
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


#: Connections a file's pool opens at most; a batch beyond waits for one to come back.
MAX_CONNECTIONS_PER_ROLE = 8
#: How long a batch waits for a pooled connection before it is answered E_DB_UNAVAILABLE: short, so
#: that during a failover the 市町村CS gets a clean retryable answer and resends, instead of holding
#: its request open while the pool's reconnect attempts back off.
POOL_WAIT_SECONDS = 5.0
#: Seconds the 市町村CS is asked to wait before resending after E_DB_UNAVAILABLE.
RETRY_AFTER_SECONDS = 1

_log = logging.getLogger("juki.intake")


def intake_pools(db: Database) -> dict[DbRole, ConnectionPool[psycopg.Connection[TupleRow]]]:
    """A pool of connections per file's role: connecting costs a round of authentication and a
    backend start, too much for each request.

    ``pool.connection()`` commits when the block ends cleanly and rolls back otherwise (as
    ``with db.connect()``); the pool checks a connection with a round trip before handing it out,
    so a PostgreSQL restart costs no request, and drops one returned broken. No connection is
    opened before the first batch needs one. With a multi-host ``JUKI_DATABASE_URL``
    (``target_session_attrs=read-write``) every new connection goes to the current primary, so after
    a failover the broken connections are dropped and the next batch gets the new primary.
    """
    return {
        spec.db_role: ConnectionPool(
            db.conninfo(spec.db_role),
            kwargs={"application_name": f"juki:{spec.db_role.value}"},
            min_size=0,
            max_size=MAX_CONNECTIONS_PER_ROLE,
            timeout=POOL_WAIT_SECONDS,
            check=ConnectionPool.check_connection,
            name=f"intake:{spec.db_role.value}",
            open=True,
        )
        for spec in all_files()
    }


def close_pools(app: FastAPI) -> None:
    """Close the intake app's pools (when its server stops)."""
    for pool in app.state.pools.values():
        pool.close()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": code, "message": message})


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A lost or unreachable database (restart, failover, pool wait over): 503 with a stable code and
    Retry-After, never a 500 with a stack trace. The transaction did not commit (or, cut during
    COMMIT, may have): the 市町村CS resends the same batch and gets accepted or duplicate."""
    sqlstate = getattr(exc, "sqlstate", None)
    # Only the class and SQLSTATE: a server message could quote a statement's values.
    _log.warning("database unavailable (%s %s): %s answered E_DB_UNAVAILABLE", type(exc).__name__,
                 sqlstate or "-", request.url.path)  # fmt: skip
    response = _error(
        503,
        "E_DB_UNAVAILABLE",
        "データベースに一時的に接続できません（切替中など）。同じ内容で再送してください",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


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

    Its database connections are pooled (``app.state.pools``): `close_pools` when the server stops."""
    app = FastAPI(
        title="juki municipal intake",
        version="1",
        description="市町村CS → 都道府県サーバ / 附票都道府県サーバ: change notifications over mutual TLS.",
    )
    pools = intake_pools(db)
    app.state.pools = pools
    # psycopg_pool.PoolTimeout is an OperationalError too; a broken connection is dropped by the pool.
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ApiError},
        403: {"model": ApiError},
        413: {"model": ApiError},
        415: {"model": ApiError},
        503: {"model": ApiError},
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
        if (foreign := other_prefecture(peer, db.settings.prefecture)) is not None:
            return _error(403, "E_PEER_PREFECTURE", foreign)  # issue 14: one prefecture per server
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
        results, summary = await _apply(db, pools, file, lines, peer)
        return {"results": results, "summary": summary.__dict__}

    register_reconciliation(app, db)  # F1-7, F2-7: POST/GET /cs/v1/{file}/reconciliation
    register_line_linkage(app, db)  # F1-2b, S-33: POST/GET /line/v1/{file}/requests (line_agent certificates)
    register_inquiries(app, db)  # F1-4, F2-4: GET/POST /cs/v1/{file}/inquiries
    return app


async def _apply(
    db: Database,
    pools: dict[DbRole, ConnectionPool[psycopg.Connection[TupleRow]]],
    file: FileKind,
    lines: list[tuple[int, bytes]],
    peer: PeerIdentity,
) -> tuple[list[dict[str, Any]], Summary]:
    """Run the (blocking) ledger in a worker thread so the event loop keeps serving."""
    from starlette.concurrency import run_in_threadpool

    def work() -> tuple[list[dict[str, Any]], Summary]:
        summary = Summary()
        out: list[dict[str, Any]] = []
        with pools[file_spec(file).db_role].connection() as conn:
            applier = NotificationApplier(
                {file: conn},
                check_digit_mode=db.settings.juminhyo_check_digit,
                lg_table=db.settings.lg_table,
                batch_size=len(lines),
                only=file,
            )
            for result in applier.apply(lines, source=f"cs:{peer.lg_code}", sender=peer.lg_code):
                summary.add(result)
                out.append(result.to_dict())
        return out, summary

    return await run_in_threadpool(work)
