"""Correction, addition and deletion requests (訂正等の申出, F1-4, F2-4; 住基法第30条の35; A-12).

The prefecture only *investigates*: the server never edits File 1/2 from a case (S-38). A case goes

    registered (申出: what the person says is wrong, linked to the disclosure they checked)
    → investigating (調査: an inquiry is put to the 市町村CS that keeps the person's record)
    → answered (the municipality's answer: no change needed, or it corrects — the correction then
      arrives as an ordinary F1-1/F2-1 notification, whose notification_id the answer names and the
      case keeps, checked against the inbox)
    → closed (the answer letter to the person, a signed PDF with its own number).

The inquiry travels over the existing mTLS channel with the 市町村CS in the direction that channel
already has: the municipal CS fetches its open inquiries (``GET /cs/v1/{file}/inquiries``) and posts
its answer (interfaces/inquiry_api.py), authenticated by its certificate like its notifications. A
case has a deadline (申出 + 30 days); open cases past it are listed as overdue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from juki.domain.items import item_label
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import (
    CASE_RETENTION_YEARS,
    CaseResult,
    CaseStatus,
    CorrectionKind,
    RequestKind,
    RequestStatus,
    correction_due,
    years_after,
)
from juki.files import FileSpec
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.disclosure.common import log_step, run_step, spec_of

__all__ = [
    "CaseInput",
    "CorrectionCase",
    "InquiryAnswerError",
    "close_case",
    "get_case",
    "list_cases",
    "open_inquiries",
    "purge_expired",
    "record_answer",
    "register_case",
    "send_inquiry",
]


@dataclass(frozen=True)
class CaseInput:
    request_no: str  # the disclosure the person checked (F1-4: L914–916)
    kind: CorrectionKind
    items: Sequence[str]  # columns of the file's provided items
    claim: str
    requested: Mapping[str, str]  # item → the value the person says is right (may be empty)
    received_on: date | None = None


@dataclass(frozen=True)
class CorrectionCase:
    id: int
    file: FileKind
    case_no: str
    request_no: str
    juminhyo_code: str
    municipality_code: str
    kind: CorrectionKind
    items: tuple[str, ...]
    claim: str
    requested: dict[str, str]
    received_on: date
    due_on: date
    status: CaseStatus
    inquiry_id: str | None
    inquiry_sent_at: datetime | None
    result: CaseResult | None
    municipality_answer: str
    answered_at: datetime | None
    correction_notification: str | None
    letter_number: str | None
    closed_at: datetime | None
    created_by: str
    retain_until: date

    def overdue(self, today: date) -> bool:
        return self.status is not CaseStatus.CLOSED and today > self.due_on


def _case(file: FileKind, r: Mapping[str, Any]) -> CorrectionCase:
    return CorrectionCase(
        id=int(r["id"]),
        file=file,
        case_no=r["case_no"],
        request_no=r["request_no"],
        juminhyo_code=r["juminhyo_code"],
        municipality_code=r["municipality_code"],
        kind=CorrectionKind(r["kind"]),
        items=tuple(r["items"]),
        claim=r["claim"],
        requested=dict(r["requested"] or {}),
        received_on=r["received_on"],
        due_on=r["due_on"],
        status=CaseStatus(r["status"]),
        inquiry_id=r["inquiry_id"],
        inquiry_sent_at=r["inquiry_sent_at"],
        result=CaseResult(r["result"]) if r["result"] else None,
        municipality_answer=r["municipality_answer"],
        answered_at=r["answered_at"],
        correction_notification=r["correction_notification"],
        letter_number=r["letter_number"],
        closed_at=r["closed_at"],
        created_by=r["created_by"],
        retain_until=r["retain_until"],
    )


def _table(spec: FileSpec) -> sql.Composable:
    return sql.SQL(spec.table("correction_case"))


def _load(
    conn: psycopg.Connection[Any], spec: FileSpec, case_id: int, *, lock: bool = False
) -> CorrectionCase:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE id = %s" + (" FOR UPDATE" if lock else "")).format(_table(spec)),
            [case_id],
        ).fetchone()
    if row is None:
        raise Refusal("T_CORRECTION_NOT_FOUND")
    return _case(spec.kind, row)


def register_case(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, given: CaseInput
) -> CorrectionCase:
    """申出: register a case about the person of an issued disclosure (``conn``: the file's role)."""

    def body() -> CorrectionCase:
        spec = spec_of(file, "T_CORRECTION_INPUT")
        try:
            kind = CorrectionKind(given.kind)
        except ValueError:
            raise Refusal("T_CORRECTION_INPUT", "申出の種類（訂正・追加・削除）を選んでください") from None
        items = [i for i in dict.fromkeys(given.items) if i]
        unknown = [i for i in items if i not in spec.provided_items or i in ("juminhyo_code", "my_number")]
        claim = given.claim.strip()
        if not items or unknown:
            raise Refusal(
                "T_CORRECTION_INPUT",
                "申出の対象項目を開示した項目（住民票コード・個人番号を除く）から選んでください",
            )
        if not claim or len(claim) > 2000:
            raise Refusal("T_CORRECTION_INPUT", "申出の内容を2000文字以内で記入してください")
        requested = {k: v.strip() for k, v in given.requested.items() if v.strip()}
        if any(k not in items or len(v) > 200 for k, v in requested.items()):
            raise Refusal(
                "T_CORRECTION_INPUT", "正しいとする値は対象項目について200文字以内で記入してください"
            )
        with conn.cursor(row_factory=dict_row) as cur:
            request = cur.execute(
                sql.SQL(
                    "SELECT matched_code FROM {} WHERE request_no = %s AND kind = %s AND status = %s"
                ).format(sql.SQL(spec.table("disclosure_request"))),
                [given.request_no.strip(), RequestKind.DISCLOSURE.value, RequestStatus.ISSUED.value],
            ).fetchone()
            if request is None:
                raise Refusal("T_CORRECTION_INPUT", "開示（交付済）の請求番号を記入してください")
            code = request["matched_code"]
            person = cur.execute(
                sql.SQL("SELECT {} AS municipality FROM {} WHERE juminhyo_code = %s").format(
                    sql.Identifier(spec.municipality_column), sql.SQL(spec.current)
                ),
                [code],
            ).fetchone()
            assert person is not None
            received = given.received_on or date.today()
            case_id = cur.execute(
                sql.SQL("SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS id"),
                [spec.table("correction_case")],
            ).fetchone()
            assert case_id is not None
            # ASCII: the case number travels in the municipality's notification ids
            case_no = f"C{received.year}-{spec.number}{int(case_id['id']):06d}"
            row = cur.execute(
                sql.SQL(
                    "INSERT INTO {} (id, case_no, request_no, juminhyo_code, municipality_code, kind, items,"
                    " claim, requested, received_on, due_on, created_by, retain_until)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *"
                ).format(_table(spec)),
                [
                    case_id["id"],
                    case_no,
                    given.request_no.strip(),
                    code,
                    person["municipality"],
                    kind.value,
                    items,
                    claim,
                    Jsonb(requested),
                    received,
                    correction_due(received),
                    actor.login,
                    years_after(received, CASE_RETENTION_YEARS),
                ],
            ).fetchone()
        assert row is not None
        log_step(
            conn,
            actor,
            function=Function.CORRECTION_REQUEST,
            file=file,
            event="correction_register",
            target=code,
            detail={"case_no": case_no, "items": items, "kind": kind.value},
        )
        return _case(file, row)

    return run_step(
        conn, actor, body, function=Function.CORRECTION_REQUEST, file=file, event="correction_register"
    )


def send_inquiry(conn: psycopg.Connection[Any], actor: Actor, file: FileKind, case_id: int) -> CorrectionCase:
    """調査: put the inquiry to the 市町村CS (it fetches it over mTLS)."""

    def body() -> CorrectionCase:
        spec = spec_of(file, "T_CORRECTION_INPUT")
        case = _load(conn, spec, case_id, lock=True)
        if case.status is not CaseStatus.REGISTERED:
            raise Refusal("T_CORRECTION_STATE", "申出受付の状態の申出だけを照会できます")
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                sql.SQL(
                    "UPDATE {} SET status = 'investigating', inquiry_id = %s, inquiry_sent_at = now(),"
                    " updated_at = now() WHERE id = %s RETURNING *"
                ).format(_table(spec)),
                [f"INQ-{case.case_no}", case_id],
            ).fetchone()
        assert row is not None
        log_step(
            conn,
            actor,
            function=Function.CORRECTION_REQUEST,
            file=file,
            event="correction_inquiry",
            target=case.juminhyo_code,
            detail={"case_no": case.case_no, "municipality": case.municipality_code},
        )
        return _case(file, row)

    return run_step(
        conn, actor, body, function=Function.CORRECTION_REQUEST, file=file, event="correction_inquiry"
    )


class InquiryAnswerError(Exception):
    """An answer the inquiry API refuses; ``code`` is an E_ code of juki.domain.errors."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def open_inquiries(conn: psycopg.Connection[Any], file: FileKind, lg_code: str) -> list[dict[str, Any]]:
    """The open inquiries to municipality ``lg_code`` with what the prefecture holds for the items in
    question (the municipality keeps the record; it needs to see what to compare). Logged as the
    municipality's channel reading each person's items. The caller commits."""
    spec = spec_of(file, "T_CORRECTION_INPUT")
    with conn.cursor(row_factory=dict_row) as cur:
        cases = cur.execute(
            sql.SQL(
                "SELECT * FROM {} WHERE status = 'investigating' AND municipality_code = %s ORDER BY id"
            ).format(_table(spec)),
            [lg_code],
        ).fetchall()
        out: list[dict[str, Any]] = []
        for raw in cases:
            case = _case(file, raw)
            held = cur.execute(
                sql.SQL("SELECT {} FROM {} WHERE juminhyo_code = %s").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in spec.notified_items), sql.SQL(spec.current)
                ),
                [case.juminhyo_code],
            ).fetchone()
            record_operation(
                conn,
                None,
                function=Function.CORRECTION_REQUEST,
                file=file,
                outcome=Outcome.ALLOW,
                target=case.juminhyo_code,
                detail={"event": "correction_inquiry_fetch", "case_no": case.case_no},
                system="cs-api",
                claimed_login=f"cs:{lg_code}",
            )
            out.append(
                {
                    "inquiry_id": case.inquiry_id,
                    "case_no": case.case_no,
                    "juminhyo_code": case.juminhyo_code,
                    "kind": case.kind.value,
                    "items": [{"item": i, "label": item_label(i)} for i in case.items],
                    "claim": case.claim,
                    "requested": case.requested,
                    "held": {k: ("" if v is None else str(v)) for k, v in (held or {}).items()},
                    "due_on": case.due_on.isoformat(),
                }
            )
    return out


def record_answer(
    conn: psycopg.Connection[Any],
    file: FileKind,
    lg_code: str,
    inquiry_id: str,
    result: str,
    answer: str,
    notification_id: str | None,
) -> CorrectionCase:
    """The municipality's answer (inquiry API). When it corrects, ``notification_id`` must name an
    accepted notification of this municipality about this person (the correction arrived through
    F1-1/F2-1, S-38). Raises InquiryAnswerError with an E_ code; the caller commits."""
    spec = spec_of(file, "T_CORRECTION_INPUT")
    try:
        outcome = CaseResult(result)
    except ValueError:
        raise InquiryAnswerError(
            "E_INQUIRY_ANSWER", "result は no_change または municipality_corrects"
        ) from None
    if len(answer) > 2000:
        raise InquiryAnswerError("E_INQUIRY_ANSWER", "answer は2000文字まで")
    with conn.cursor(row_factory=dict_row) as cur:
        raw = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE inquiry_id = %s AND municipality_code = %s FOR UPDATE").format(
                _table(spec)
            ),
            [inquiry_id, lg_code],
        ).fetchone()
        if raw is None:
            raise InquiryAnswerError("E_INQUIRY_NOT_FOUND")
        case = _case(file, raw)
        if case.status is not CaseStatus.INVESTIGATING:
            raise InquiryAnswerError("E_INQUIRY_STATE")
        linked = None
        if outcome is CaseResult.MUNICIPALITY_CORRECTS:
            if not notification_id:
                raise InquiryAnswerError("E_INQUIRY_NOTIFICATION", "notification_id がありません")
            found = cur.execute(
                sql.SQL(
                    "SELECT 1 FROM {} WHERE municipality_code = %s AND notification_id = %s"
                    " AND juminhyo_code = %s AND status = 'accepted'"
                ).format(sql.SQL(spec.inbox)),
                [lg_code, notification_id, case.juminhyo_code],
            ).fetchone()
            if found is None:
                raise InquiryAnswerError("E_INQUIRY_NOTIFICATION")
            linked = notification_id
        row = cur.execute(
            sql.SQL(
                "UPDATE {} SET status = 'answered', result = %s, municipality_answer = %s,"
                " answered_at = now(), correction_notification = %s, updated_at = now()"
                " WHERE id = %s RETURNING *"
            ).format(_table(spec)),
            [outcome.value, answer, linked, case.id],
        ).fetchone()
    assert row is not None
    record_operation(
        conn,
        None,
        function=Function.CORRECTION_REQUEST,
        file=file,
        outcome=Outcome.ALLOW,
        target=case.juminhyo_code,
        detail={
            "event": "correction_answer",
            "case_no": case.case_no,
            "result": outcome.value,
            "notification": linked,
        },
        system="cs-api",
        claimed_login=f"cs:{lg_code}",
    )
    return _case(file, row)


def close_case(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    case_id: int,
    *,
    issued_on: date | None = None,
) -> tuple[CorrectionCase, str, str]:
    """The answer letter: assigns its number and closes the case. Returns the case, the person's name
    and address as stored (the letter's addressee); a closed case returns the same letter (reprint)."""

    def body() -> tuple[CorrectionCase, str, str]:
        spec = spec_of(file, "T_CORRECTION_INPUT")
        case = _load(conn, spec, case_id, lock=True)
        if case.status not in (CaseStatus.ANSWERED, CaseStatus.CLOSED):
            raise Refusal("T_CORRECTION_STATE", "市町村から回答のあった申出だけを回答できます")
        day = issued_on or date.today()
        if case.status is CaseStatus.ANSWERED:
            number = f"第{day.year}-C{spec.number}{case.id:06d}号"
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(
                    sql.SQL(
                        "UPDATE {} SET status = 'closed', letter_number = %s, closed_at = now(),"
                        " updated_at = now() WHERE id = %s RETURNING *"
                    ).format(_table(spec)),
                    [number, case.id],
                ).fetchone()
            assert row is not None
            case = _case(file, row)
        person = conn.execute(
            sql.SQL("SELECT name_kanji, address FROM {} WHERE juminhyo_code = %s").format(
                sql.SQL(spec.current)
            ),
            [case.juminhyo_code],
        ).fetchone()
        assert person is not None
        log_step(
            conn,
            actor,
            function=Function.CORRECTION_REQUEST,
            file=file,
            event="correction_letter",
            target=case.juminhyo_code,
            detail={"case_no": case.case_no, "letter_number": case.letter_number},
        )
        return case, str(person[0]), str(person[1])

    return run_step(
        conn, actor, body, function=Function.CORRECTION_REQUEST, file=file, event="correction_letter"
    )


def get_case(conn: psycopg.Connection[Any], actor: Actor, file: FileKind, case_id: int) -> CorrectionCase:
    def body() -> CorrectionCase:
        case = _load(conn, spec_of(file, "T_CORRECTION_INPUT"), case_id)
        log_step(
            conn,
            actor,
            function=Function.CORRECTION_REQUEST,
            file=file,
            event="correction_view",
            target=case.juminhyo_code,
            detail={"case_no": case.case_no},
        )
        return case

    return run_step(
        conn, actor, body, function=Function.CORRECTION_REQUEST, file=file, event="correction_view"
    )


def list_cases(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    *,
    overdue_on: date | None = None,
    limit: int = 200,
) -> list[CorrectionCase]:
    """Cases newest first; with ``overdue_on``, only open cases past their deadline on that day."""

    def body() -> list[CorrectionCase]:
        spec = spec_of(file, "T_CORRECTION_INPUT")
        where = sql.SQL("status <> 'closed' AND due_on < %s") if overdue_on else sql.SQL("true")
        params: list[Any] = [overdue_on] if overdue_on else []
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE {} ORDER BY id DESC LIMIT %s").format(_table(spec), where),
                [*params, limit],
            ).fetchall()
        log_step(
            conn,
            actor,
            function=Function.CORRECTION_REQUEST,
            file=file,
            event="correction_overdue" if overdue_on else "correction_list",
            target=None,
            detail={"result_count": len(rows)},
        )
        return [_case(file, r) for r in rows]

    return run_step(
        conn, actor, body, function=Function.CORRECTION_REQUEST, file=file, event="correction_list"
    )


def purge_expired(conn: psycopg.Connection[Any], file: FileKind, today: date) -> int:
    """Delete closed cases past their 保存期限 (open ones are kept whatever their date)."""
    spec = spec_of(file, "T_CORRECTION_INPUT")
    with conn.transaction():
        return conn.execute(
            sql.SQL("DELETE FROM {} WHERE retain_until < %s AND status = 'closed'").format(_table(spec)),
            [today],
        ).rowcount
