"""Correction inquiries to the 市町村CS over the existing mutual-TLS channel (F1-4, F2-4; A-12).

The prefecture investigates a correction request by asking the municipality that keeps the person's
record. The channel between them already runs one way — the 市町村CS is the TLS client, its
certificate names it — so the inquiry uses it the same way: the municipal CS fetches its open
inquiries and posts its answer.

* ``GET /cs/v1/{file}/inquiries`` — the open inquiries to the certificate's municipality, each with
  the items in question, the person's claim and what the prefecture holds;
* ``POST /cs/v1/{file}/inquiries/{inquiry_id}/answer`` — ``{"result": "no_change" |
  "municipality_corrects", "answer": "…", "notification_id": "…"}``; a correction must already have
  arrived as an accepted notification of this municipality about this person (S-38).

Every fetch and answer is an operation-log row naming the municipality's channel.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import CATALOG
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.pki import PeerIdentity, other_prefecture, peer_identity
from juki.services.disclosure.corrections import InquiryAnswerError, open_inquiries, record_answer
from juki.store.db import Database


class InquiryError(BaseModel):
    code: str
    message: str


class InquiryItem(BaseModel):
    item: str
    label: str


class Inquiry(BaseModel):
    inquiry_id: str
    case_no: str
    juminhyo_code: str
    kind: str = Field(description="correction / addition / deletion")
    items: list[InquiryItem]
    claim: str
    requested: dict[str, str]
    held: dict[str, str] = Field(description="what the prefecture holds for the person (notified items)")
    due_on: str


class InquiryList(BaseModel):
    inquiries: list[Inquiry]


class Answer(BaseModel):
    result: Literal["no_change", "municipality_corrects"]
    answer: str = Field(default="", max_length=2000)
    notification_id: str | None = Field(default=None, max_length=200)


class AnswerResult(BaseModel):
    case_no: str
    status: str
    result: str
    correction_notification: str | None


def _error(status: int, code: str, detail: str = "") -> JSONResponse:
    message = CATALOG[code].message_ja + (f"（{detail}）" if detail else "")
    return JSONResponse(status_code=status, content={"code": code, "message": message})


def _municipality(request: Request, prefecture: str) -> PeerIdentity | JSONResponse:
    der = request.scope.get("extensions", {}).get("tls", {}).get("peer_cert_der")
    if not der:
        return _error(403, "E_PEER_UNAUTHENTICATED")
    try:
        peer = peer_identity(der)
    except ValueError:
        return _error(403, "E_PEER_UNAUTHENTICATED")
    if peer.role is not PeerRole.MUNICIPAL_CS or not peer.lg_code:
        return _error(403, "E_PEER_ROLE", peer.role.value)
    if (foreign := other_prefecture(peer, prefecture)) is not None:
        return _error(403, "E_PEER_PREFECTURE", foreign)  # issue 14: one prefecture per server
    return peer


def register_inquiries(app: FastAPI, db: Database) -> None:
    """Add the correction-inquiry endpoints to ``app`` (the mTLS intake app)."""
    responses: dict[int | str, dict[str, Any]] = {
        403: {"model": InquiryError},
        404: {"model": InquiryError},
        409: {"model": InquiryError},
        422: {"model": InquiryError},
    }

    @app.get(
        "/cs/v1/{file}/inquiries",
        response_model=InquiryList,
        responses=responses,
        summary="Open correction inquiries to this municipality (F1-4, F2-4)",
    )
    async def get_inquiries(file: FileKind, request: Request) -> Any:
        peer = _municipality(request, db.settings.prefecture)
        if isinstance(peer, JSONResponse):
            return peer
        lg_code = peer.lg_code
        assert lg_code is not None

        def work() -> list[dict[str, Any]]:
            with db.connect(file_spec(file).db_role) as conn:
                found = open_inquiries(conn, file, lg_code)
                conn.commit()
                return found

        return {"inquiries": await run_in_threadpool(work)}

    @app.post(
        "/cs/v1/{file}/inquiries/{inquiry_id}/answer",
        response_model=AnswerResult,
        responses=responses,
        summary="The municipality's answer to a correction inquiry (F1-4, F2-4)",
    )
    async def post_answer(file: FileKind, inquiry_id: str, body: Answer, request: Request) -> Any:
        peer = _municipality(request, db.settings.prefecture)
        if isinstance(peer, JSONResponse):
            return peer
        lg_code = peer.lg_code
        assert lg_code is not None

        def work() -> dict[str, Any] | JSONResponse:
            with db.connect(file_spec(file).db_role) as conn:
                try:
                    case = record_answer(
                        conn, file, lg_code, inquiry_id[:200], body.result, body.answer, body.notification_id
                    )
                except InquiryAnswerError as refused:
                    conn.rollback()
                    status = {"E_INQUIRY_NOT_FOUND": 404, "E_INQUIRY_STATE": 409}.get(refused.code, 422)
                    return _error(status, refused.code, refused.detail)
                conn.commit()
            assert case.result is not None
            return {
                "case_no": case.case_no,
                "status": case.status.value,
                "result": case.result.value,
                "correction_notification": case.correction_notification,
            }

        return await run_in_threadpool(work)
