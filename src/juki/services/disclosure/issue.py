"""交付: what a disclosure discloses (D1-PS / D2-PS items of the person's current record), and the
provision-status statement (S-55), each an output of personal data to the person.

Both steps need a matched request; both assign the request's issue number on first issue and keep it
on a reprint (a reprint is logged as such). The forms themselves are laid out by the interface
(``juki.interfaces.forms``); what goes on them is decided here, and the operation-log row names the
person (target) and the items given — never their values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.items import item_label
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import PROVISION_RECORD_YEARS, RequestKind, RequestStatus, years_after
from juki.files import FileSpec
from juki.services.access.actor import Actor, Function
from juki.services.disclosure.common import log_step, run_step, spec_of
from juki.services.disclosure.requests import DisclosureRequest, add_event, load_for_step

__all__ = [
    "DisclosedItem",
    "DisclosedRecord",
    "ProvisionLine",
    "ProvisionStatement",
    "StaffView",
    "issue_disclosure",
    "issue_provision_status",
]


@dataclass(frozen=True)
class DisclosedItem:
    column: str
    label: str
    value: str  # exactly as stored (dates as their canonical text; the form formats them)


@dataclass(frozen=True)
class Addressee:
    """Whom the answer is addressed to: the person, as the record names them."""

    name: str
    address: str


@dataclass(frozen=True)
class DisclosedRecord:
    request: DisclosureRequest
    spec: FileSpec
    issue_number: str
    issued_on: date
    addressee: Addressee
    items: tuple[DisclosedItem, ...]
    reprint: bool


@dataclass(frozen=True)
class ProvisionLine:
    """One provision of the person's data (refusals are not provisions: LEGAL.md §4)."""

    at: datetime
    recipient: str  # organ or department
    task: str
    legal_basis: str
    items: tuple[str, ...]  # item labels
    method: str


@dataclass(frozen=True)
class StaffView:
    """The optional part: a prefecture staff member's view of the record (operation log)."""

    at: datetime
    function: str  # the log's function code (search, view_record, …)
    department: str  # whose staff: the department, never the operator's name or login
    reference: int  # the log row's sequence number, for a follow-up question at the counter


@dataclass(frozen=True)
class ProvisionStatement:
    request: DisclosureRequest
    issue_number: str
    issued_on: date
    addressee: Addressee
    since: date
    lines: tuple[ProvisionLine, ...]
    staff_views: tuple[StaffView, ...] | None  # None: the option is off


class ProvisionSource(Protocol):
    """Where the provision lines come from (the provision records of services/provision)."""

    def __call__(
        self, conn: psycopg.Connection[Any], file: FileKind, code: str, since: date
    ) -> list[ProvisionLine]: ...


def _issue_number(spec: FileSpec, req: DisclosureRequest, issued_on: date) -> str:
    return f"第{issued_on.year}-{spec.number}{req.id:06d}号"


def _person(
    conn: psycopg.Connection[Any], spec: FileSpec, code: str, columns: Sequence[str]
) -> dict[str, Any]:
    wanted = list(dict.fromkeys([*columns, "name_kanji", "address"]))
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            sql.SQL("SELECT {} FROM {} WHERE juminhyo_code = %s").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in wanted), sql.SQL(spec.current)
            ),
            [code],
        ).fetchone()
    if row is None:  # matched, then gone: cannot happen while codes are never deleted but by the purge
        raise Refusal("T_DISCLOSURE_NO_MATCH")
    return row


def _mark_issued(
    conn: psycopg.Connection[Any], spec: FileSpec, req: DisclosureRequest, actor: Actor, issued_on: date
) -> tuple[str, bool]:
    if req.status is RequestStatus.ISSUED:
        assert req.issue_number is not None
        add_event(conn, spec, req.id, "reprinted", actor, req.issue_number)
        return req.issue_number, True
    if req.status is not RequestStatus.MATCHED:
        raise Refusal("T_DISCLOSURE_STATE", "照合で一人に特定された請求だけを交付できます")
    number = _issue_number(spec, req, issued_on)
    conn.execute(
        sql.SQL(
            "UPDATE {} SET status = 'issued', issue_number = %s, issued_at = now(), updated_at = now()"
            " WHERE id = %s"
        ).format(sql.SQL(spec.table("disclosure_request"))),
        [number, req.id],
    )
    add_event(conn, spec, req.id, RequestStatus.ISSUED.value, actor, number)
    return number, False


def issue_disclosure(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    request_id: int,
    *,
    issued_on: date | None = None,
) -> DisclosedRecord:
    """交付 of a disclosure: the person's current D1-PS / D2-PS items (F1-3, F2-3)."""

    def body() -> DisclosedRecord:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        req = load_for_step(conn, spec, request_id)
        if req.kind is not RequestKind.DISCLOSURE:
            raise Refusal("T_DISCLOSURE_STATE", "提供状況の開示請求です")
        if req.matched_code is None:
            raise Refusal("T_DISCLOSURE_STATE", "照合で一人に特定された請求だけを交付できます")
        day = issued_on or date.today()
        row = _person(conn, spec, req.matched_code, spec.provided_items)
        number, reprint = _mark_issued(conn, spec, req, actor, day)
        items = tuple(
            DisclosedItem(c, item_label(c), "" if row[c] is None else str(row[c]))
            for c in spec.provided_items
        )
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_reprint" if reprint else "disclosure_issue",
            target=req.matched_code,
            detail={"request_no": req.request_no, "issue_number": number, "items": list(spec.provided_items)},
        )
        return DisclosedRecord(
            req, spec, number, day, Addressee(row["name_kanji"], row["address"]), items, reprint
        )

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_issue")


def issue_provision_status(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    request_id: int,
    source: ProvisionSource,
    *,
    issued_on: date | None = None,
    staff_views: Callable[[str, date], Sequence[StaffView]] | None = None,
) -> ProvisionStatement:
    """交付 of a provision-status disclosure (S-55): every provision of the person's data within the
    7-year record, from ``source``; with ``staff_views`` (the configurable option, off by default)
    also the prefecture staff's views of the record."""

    def body() -> ProvisionStatement:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        if not spec.provision_status_disclosure:
            raise Refusal("T_PROVISION_STATUS_FILE")
        req = load_for_step(conn, spec, request_id)
        if req.kind is not RequestKind.PROVISION_STATUS:
            raise Refusal("T_DISCLOSURE_STATE", "本人確認情報の開示請求です")
        if req.matched_code is None:
            raise Refusal("T_DISCLOSURE_STATE", "照合で一人に特定された請求だけを交付できます")
        day = issued_on or date.today()
        since = years_after(day, -PROVISION_RECORD_YEARS) + timedelta(days=1)
        row = _person(conn, spec, req.matched_code, ())
        lines = tuple(sorted(source(conn, file, req.matched_code, since), key=lambda line: line.at))
        views = tuple(staff_views(req.matched_code, since)) if staff_views is not None else None
        number, reprint = _mark_issued(conn, spec, req, actor, day)
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="provision_status_reprint" if reprint else "provision_status_issue",
            target=req.matched_code,
            detail={
                "request_no": req.request_no,
                "issue_number": number,
                "provisions": len(lines),
                "staff_views": None if views is None else len(views),
            },
        )
        return ProvisionStatement(
            req, number, day, Addressee(row["name_kanji"], row["address"]), since, lines, views
        )

    return run_step(
        conn, actor, body, function=Function.DISCLOSURE, file=file, event="provision_status_issue"
    )
