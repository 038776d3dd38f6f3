"""不開示: the counter's own refusal of a request, and the 不開示決定通知書 (issue 12 gap 1).

A request ends 不開示 in two ways: the match finds nobody or several candidates (:mod:`.matching`,
T_DISCLOSURE_NO_MATCH / T_DISCLOSURE_AMBIGUOUS), or the counter decides that the written request's own
conditions are not met (:func:`refuse_request` with one of ``COUNTER_REFUSALS``: identity or the
representative's authority not shown, LEGAL.md §3). Either way the requester gets a written decision
(LEGAL.md §3 "開示決定 / 不開示決定"): :func:`issue_refusal_letter` gives what the letter says — the
request as the requester wrote it, the decision and its reason code — and numbers it once (a reprint
keeps the number).

Nothing about any person of the file goes on the letter: a refused request has no matched person
(the register's CHECK), the candidates of an ambiguous match were never stored, and the letter is
built from the request alone. The operation-log rows name no target for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any

import psycopg
from psycopg import sql

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import COUNTER_REFUSALS, REFUSAL_LETTER_REASONS, RequestStatus
from juki.files import FileSpec
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.disclosure.common import log_step, run_step, spec_of
from juki.services.disclosure.requests import DisclosureRequest, add_event, load_for_step

__all__ = ["RefusalDecision", "issue_refusal_letter", "refuse_request"]

_JST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class RefusalDecision:
    """What the 不開示決定通知書 says: the request (as given), the decision's number and date, the reason."""

    request: DisclosureRequest
    spec: FileSpec
    decision_number: str
    issued_on: date
    reason_code: str
    reprint: bool


def _decision_number(spec: FileSpec, req: DisclosureRequest, issued_on: date) -> str:
    # The same shape as a disclosure's issue number: a request has one decision, either kind.
    return f"第{issued_on.year}-{spec.number}{req.id:06d}号"


def refuse_request(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, request_id: int, reason_code: str
) -> DisclosureRequest:
    """The counter's 不開示 of a received or matched request for one of ``COUNTER_REFUSALS``.

    A matched request loses its match (the register holds a person only for a request being answered).
    """

    def body() -> DisclosureRequest:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        if reason_code not in COUNTER_REFUSALS:
            raise Refusal("T_DISCLOSURE_INPUT", "不開示の理由を選んでください")
        req = load_for_step(conn, spec, request_id)
        if req.status not in (RequestStatus.RECEIVED, RequestStatus.MATCHED):
            raise Refusal("T_DISCLOSURE_STATE", "受付又は照合済の請求だけを不開示にできます")
        conn.execute(
            sql.SQL(
                "UPDATE {} SET status = 'refused', matched_code = NULL, refusal_code = %s, updated_at = now()"
                " WHERE id = %s"
            ).format(sql.SQL(spec.table("disclosure_request"))),
            [reason_code, request_id],
        )
        add_event(conn, spec, request_id, RequestStatus.REFUSED.value, actor, reason_code)
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_refuse",
            target=None,  # the decision is about the request; a matched person is not disclosed to
            outcome=Outcome.REJECTED,
            detail={"request_no": req.request_no, "request_id": request_id, "refusal": reason_code},
        )
        return load_for_step(conn, spec, request_id)

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_refuse")


def issue_refusal_letter(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    request_id: int,
    *,
    issued_on: date | None = None,
) -> RefusalDecision:
    """The 不開示決定通知書 of a refused request: numbered on first print, logged (reprints too)."""

    def body() -> RefusalDecision:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        req = load_for_step(conn, spec, request_id)
        if req.status is not RequestStatus.REFUSED or req.refusal_code is None:
            raise Refusal("T_DISCLOSURE_STATE", "不開示となった請求だけに不開示決定通知書を発行できます")
        if req.refusal_code not in REFUSAL_LETTER_REASONS:  # a code without a letter text: never guess one
            raise Refusal("T_DISCLOSURE_STATE", f"不開示の理由 {req.refusal_code} の通知文がありません")
        day = issued_on or date.today()
        reprint = req.decision_number is not None
        if req.decision_number is not None:
            number = req.decision_number
            if req.decision_issued_at is not None:  # a reprint carries the decision's own date (JST)
                day = req.decision_issued_at.astimezone(_JST).date()
            add_event(conn, spec, req.id, "letter_reprinted", actor, number)
        else:
            number = _decision_number(spec, req, day)
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET decision_number = %s, decision_issued_at = now(), updated_at = now()"
                    " WHERE id = %s"
                ).format(sql.SQL(spec.table("disclosure_request"))),
                [number, req.id],
            )
            add_event(conn, spec, req.id, "letter_issued", actor, number)
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_refusal_letter_reprint" if reprint else "disclosure_refusal_letter",
            target=None,
            detail={"request_no": req.request_no, "decision_number": number, "refusal": req.refusal_code},
        )
        return RefusalDecision(req, spec, number, day, req.refusal_code, reprint)

    return run_step(
        conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_refusal_letter"
    )
