"""The register of disclosure requests (F1-3, F2-3, S-55): 受付, status, events, 保存期限.

The counter registers the written request as it was lodged: date, office, channel, who asks (本人 or
a representative), how identity was verified (the document *type*), the identifying information the
requester gave (氏名, 生年月日, 性別, 住所, and/or 住民票コード — never a 個人番号: N-H8, a 12-digit
number is refused) and the kind (disclosure, or provision status for File 1). Matching
(:mod:`.matching`) and issuing (:mod:`.issue`) move the status on; every step is an event the counter
sees and an operation-log row.

A request naming both files is one registration per file under one request number
(``request_no`` of the first passed as ``same_request_no`` to the second).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.dates import DateParseError, parse_date
from juki.domain.offices import Offices
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import (
    IDENTITY_DOCUMENTS,
    REQUEST_RETENTION_YEARS,
    Channel,
    RequesterKind,
    RequestKind,
    RequestStatus,
    years_after,
)
from juki.files import FileSpec
from juki.services.access.actor import Actor, Function
from juki.services.disclosure.common import log_step, run_step, spec_of

__all__ = [
    "DisclosureRequest",
    "RequestEvent",
    "RequestInput",
    "add_event",
    "get_request",
    "list_requests",
    "purge_expired",
    "register_request",
]

_MAX_TEXT: Final = 200


@dataclass(frozen=True)
class RequestInput:
    """A written request as the counter types it in (blank = not given)."""

    kind: RequestKind = RequestKind.DISCLOSURE
    received_on: date | None = None  # default: today
    office: str = ""  # blank = the prefecture's disclosure counter (Offices.disclosure_office)
    channel: Channel = Channel.COUNTER
    requester_kind: RequesterKind = RequesterKind.SELF
    identity_document: str = IDENTITY_DOCUMENTS[0]
    name: str = ""
    birth_date: str = ""
    sex: str = ""
    address: str = ""
    juminhyo_code: str = ""


@dataclass(frozen=True)
class RequestEvent:
    at: datetime
    status: str
    operator: str
    note: str


@dataclass(frozen=True)
class DisclosureRequest:
    id: int
    file: FileKind
    request_no: str
    kind: RequestKind
    received_on: date
    office: str
    channel: Channel
    requester_kind: RequesterKind
    identity_document: str
    given_name: str
    given_birth_date: str
    given_sex: str
    given_address: str
    given_juminhyo_code: str
    status: RequestStatus
    matched_code: str | None
    refusal_code: str | None
    issue_number: str | None
    issued_at: datetime | None
    created_by: str
    retain_until: date
    events: tuple[RequestEvent, ...] = field(default=())
    decision_number: str | None = None  # the 不開示決定通知書's number, once printed (refused only)
    decision_issued_at: datetime | None = None


def _check_input(spec: FileSpec, given: RequestInput, offices: Offices) -> RequestInput:
    """Normalise digits, refuse what the register must not hold (T_DISCLOSURE_INPUT)."""

    def bad(why: str) -> Refusal:
        return Refusal("T_DISCLOSURE_INPUT", why)

    try:
        kind = RequestKind(given.kind)
        channel = Channel(given.channel)
        requester = RequesterKind(given.requester_kind)
    except ValueError:
        raise bad("請求の種類・方法・請求者の区分が正しくありません") from None
    if kind is RequestKind.PROVISION_STATUS and not spec.provision_status_disclosure:
        raise Refusal("T_PROVISION_STATUS_FILE")
    office = given.office or offices.disclosure_office
    if office not in offices.lodging_offices:  # the configured prefecture's counters only
        raise bad("受付窓口が正しくありません")
    if given.identity_document not in IDENTITY_DOCUMENTS:
        raise bad("本人確認書類の種類を選んでください（番号は記録しません）")
    code = normalize_digits(given.juminhyo_code.strip())
    if code and is_ascii_digits(code, 12):
        raise bad("個人番号は開示請求の受付に記録しません（N-H8）。住民票コード（11桁）を記入してください")
    if code and not is_ascii_digits(code, 11):
        raise bad("住民票コードは11桁の数字です")
    name, birth, address = given.name.strip(), given.birth_date.strip(), given.address.strip()
    sex = normalize_digits(given.sex.strip())
    if not name or not birth:
        raise bad("請求者の氏名と生年月日は必須です")
    if not address and not code:
        raise bad("住所または住民票コードを記入してください")
    if any(len(v) > _MAX_TEXT for v in (name, birth, address)):
        raise bad(f"記載事項は{_MAX_TEXT}文字以内です")
    if sex not in ("", "1", "2"):
        raise bad("性別は 1（男）または 2（女）です")
    try:
        parse_date(birth)
    except DateParseError as exc:
        raise bad(f"生年月日を読み取れません: {exc.message}") from None
    return RequestInput(
        kind=kind,
        received_on=given.received_on or date.today(),
        office=office,
        channel=channel,
        requester_kind=requester,
        identity_document=given.identity_document,
        name=name,
        birth_date=birth,
        sex=sex,
        address=address,
        juminhyo_code=code,
    )


def _row(file: FileKind, row: dict[str, Any], events: tuple[RequestEvent, ...] = ()) -> DisclosureRequest:
    return DisclosureRequest(
        id=int(row["id"]),
        file=file,
        request_no=row["request_no"],
        kind=RequestKind(row["kind"]),
        received_on=row["received_on"],
        office=row["office"],
        channel=Channel(row["channel"]),
        requester_kind=RequesterKind(row["requester_kind"]),
        identity_document=row["identity_document"],
        given_name=row["given_name"],
        given_birth_date=row["given_birth_date"],
        given_sex=row["given_sex"],
        given_address=row["given_address"],
        given_juminhyo_code=row["given_juminhyo_code"],
        status=RequestStatus(row["status"]),
        matched_code=row["matched_code"],
        refusal_code=row["refusal_code"],
        issue_number=row["issue_number"],
        issued_at=row["issued_at"],
        created_by=row["created_by"],
        retain_until=row["retain_until"],
        events=events,
        decision_number=row.get("decision_number"),
        decision_issued_at=row.get("decision_issued_at"),
    )


def add_event(
    conn: psycopg.Connection[Any], spec: FileSpec, request_id: int, status: str, actor: Actor, note: str = ""
) -> None:
    conn.execute(
        sql.SQL("INSERT INTO {} (request_id, status, operator, note) VALUES (%s, %s, %s, %s)").format(
            sql.SQL(spec.table("disclosure_request_event"))
        ),
        [request_id, status, actor.login, note],
    )


def register_request(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    given: RequestInput,
    *,
    offices: Offices,
    same_request_no: str | None = None,
) -> DisclosureRequest:
    """受付: register a written request. ``conn`` is a connection as the file's role; ``offices``
    are the configured prefecture's (the request must name one of its counters)."""

    def body() -> DisclosureRequest:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        req = _check_input(spec, given, offices)
        assert req.received_on is not None
        table = sql.SQL(spec.table("disclosure_request"))
        with conn.cursor(row_factory=dict_row) as cur:
            new_id = cur.execute(
                sql.SQL("SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS id"),
                [spec.table("disclosure_request")],
            ).fetchone()
            assert new_id is not None
            request_no = same_request_no or f"{req.received_on.year}-{spec.number}{int(new_id['id']):06d}"
            row = cur.execute(
                sql.SQL(
                    "INSERT INTO {} (id, request_no, kind, received_on, office, channel, requester_kind,"
                    " identity_document, given_name, given_birth_date, given_sex, given_address,"
                    " given_juminhyo_code, created_by, retain_until)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *"
                ).format(table),
                [
                    new_id["id"],
                    request_no,
                    req.kind.value,
                    req.received_on,
                    req.office,
                    req.channel.value,
                    req.requester_kind.value,
                    req.identity_document,
                    req.name,
                    req.birth_date,
                    req.sex,
                    req.address,
                    req.juminhyo_code,
                    actor.login,
                    years_after(req.received_on, REQUEST_RETENTION_YEARS),
                ],
            ).fetchone()
        assert row is not None
        add_event(conn, spec, int(row["id"]), RequestStatus.RECEIVED.value, actor)
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_register",
            target=None,
            detail={"request_no": request_no, "kind": req.kind.value, "request_id": int(row["id"])},
        )
        return _row(file, row)

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_register")


def _load(
    conn: psycopg.Connection[Any], spec: FileSpec, request_id: int, *, lock: bool = False
) -> DisclosureRequest:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE id = %s" + (" FOR UPDATE" if lock else "")).format(
                sql.SQL(spec.table("disclosure_request"))
            ),
            [request_id],
        ).fetchone()
        if row is None:
            raise Refusal("T_DISCLOSURE_NOT_FOUND")
        events = cur.execute(
            sql.SQL("SELECT at, status, operator, note FROM {} WHERE request_id = %s ORDER BY at, id").format(
                sql.SQL(spec.table("disclosure_request_event"))
            ),
            [request_id],
        ).fetchall()
    return _row(
        spec.kind, row, tuple(RequestEvent(e["at"], e["status"], e["operator"], e["note"]) for e in events)
    )


def load_for_step(conn: psycopg.Connection[Any], spec: FileSpec, request_id: int) -> DisclosureRequest:
    """The request, locked for a status change (inside the step's transaction)."""
    return _load(conn, spec, request_id, lock=True)


def get_request(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, request_id: int
) -> DisclosureRequest:
    """One request with its events (what the requester gave is personal data: the read is logged)."""

    def body() -> DisclosureRequest:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        req = _load(conn, spec, request_id)
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_view",
            target=req.matched_code,
            detail={"request_no": req.request_no, "request_id": request_id},
        )
        return req

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_view")


@dataclass(frozen=True)
class RequestSummary:
    """A row of the counter's list: no personal data (number, kind, dates, status only)."""

    id: int
    file: FileKind
    request_no: str
    kind: RequestKind
    received_on: date
    office: str
    status: RequestStatus
    refusal_code: str | None
    issue_number: str | None


def list_requests(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, *, limit: int = 100
) -> list[RequestSummary]:
    """The counter's register, newest first, without what the requesters gave (no personal data)."""

    def body() -> list[RequestSummary]:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                sql.SQL(
                    "SELECT id, request_no, kind, received_on, office, status, refusal_code, issue_number"
                    " FROM {} ORDER BY id DESC LIMIT %s"
                ).format(sql.SQL(spec.table("disclosure_request"))),
                [limit],
            ).fetchall()
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_list",
            target=None,
            detail={"result_count": len(rows)},
        )
        return [
            RequestSummary(
                int(r["id"]),
                file,
                r["request_no"],
                RequestKind(r["kind"]),
                r["received_on"],
                r["office"],
                RequestStatus(r["status"]),
                r["refusal_code"],
                r["issue_number"],
            )
            for r in rows
        ]

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_list")


def purge_expired(conn: psycopg.Connection[Any], file: FileKind, today: date) -> int:
    """Delete requests past their 保存期限 (and their events); returns how many. For the operations
    issue's retention job, which runs it with the file's role and logs the count."""
    spec = spec_of(file, "T_DISCLOSURE_INPUT")
    with conn.transaction():
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE retain_until < %s").format(
                sql.SQL(spec.table("disclosure_request"))
            ),
            [today],
        )
        return cur.rowcount
