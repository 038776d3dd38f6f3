"""照合: match a request exactly against the file — one person, or a refusal with its reason.

The match reuses the one 4情報 matcher (services/search/matcher.compile_search) with the name as an
exact whole-name condition, the birth date as given, the sex when given, and the address when given,
over present persons only; then two checks the search's prefix semantics leave open:

* the address must be the stored address (its normalised key equal, not a prefix of it);
* a 住民票コード, when given, must be the code of the person found.

More than one candidate is never shown: the request is refused as ambiguous (T_DISCLOSURE_AMBIGUOUS)
and the counter asks for the 住民票コード; none is T_DISCLOSURE_NO_MATCH. Both are decisions (不開示,
status ``refused`` with the code), committed with their log row, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.address import address_key
from juki.domain.records import FileKind
from juki.domain.refusals import REFUSALS, Refusal
from juki.domain.rights import RequestStatus
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.disclosure.common import log_step, run_step, spec_of
from juki.services.disclosure.requests import DisclosureRequest, add_event, load_for_step
from juki.services.search.conditions import NameMatch, NamePart, SearchConditions
from juki.services.search.matcher import compile_search

__all__ = ["MatchOutcome", "match_request"]

#: Candidates fetched at most; two already mean "ambiguous", the rest only make the log's count honest.
_FETCH: Final = 20


@dataclass(frozen=True)
class MatchOutcome:
    """The result the counter sees: matched (no personal data shown here) or refused with a reason."""

    request_id: int
    status: RequestStatus
    refusal_code: str | None
    candidates: int

    @property
    def message(self) -> str:
        if self.refusal_code is None:
            return "一人に特定しました。開示決定通知書を交付できます"
        return REFUSALS[self.refusal_code].message_ja


def candidates(conn: psycopg.Connection[Any], req: DisclosureRequest) -> list[str]:
    """The 住民票コード of every present person that the request identifies exactly."""
    conditions = SearchConditions(
        file=req.file,
        name=req.given_name,
        name_match=NameMatch.EXACT,
        name_part=NamePart.FULL,
        birth_date=req.given_birth_date,
        sex=req.given_sex,
        address=req.given_address,
        include_ended=False,
    )
    try:
        compiled = compile_search(conditions)
    except Refusal as refused:  # the search's minimum rules: the request lacks what identifies a person
        raise Refusal("T_DISCLOSURE_INPUT", refused.message_ja) from None
    query, params = compiled.query(_FETCH)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    wanted = address_key(req.given_address) if req.given_address else None
    found = [r for r in rows if wanted is None or address_key(r["address"]) == wanted]
    if req.given_juminhyo_code:
        found = [r for r in found if r["juminhyo_code"] == req.given_juminhyo_code]
    return sorted(r["juminhyo_code"] for r in found)


def match_request(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, request_id: int
) -> MatchOutcome:
    """照合 of a received request; ``conn`` is a connection as the file's role."""

    def body() -> MatchOutcome:
        spec = spec_of(file, "T_DISCLOSURE_INPUT")
        req = load_for_step(conn, spec, request_id)
        if req.status is not RequestStatus.RECEIVED:
            raise Refusal("T_DISCLOSURE_STATE", f"現在の状態: {req.status.value}")
        codes = candidates(conn, req)
        table = sql.SQL(spec.table("disclosure_request"))
        if len(codes) == 1:
            status, code, refusal = RequestStatus.MATCHED, codes[0], None
        else:
            status, code = RequestStatus.REFUSED, None
            refusal = "T_DISCLOSURE_NO_MATCH" if not codes else "T_DISCLOSURE_AMBIGUOUS"
        conn.execute(
            sql.SQL(
                "UPDATE {} SET status = %s, matched_code = %s, refusal_code = %s, updated_at = now()"
                " WHERE id = %s"
            ).format(table),
            [status.value, code, refusal, request_id],
        )
        add_event(conn, spec, request_id, status.value, actor, refusal or "")
        log_step(
            conn,
            actor,
            function=Function.DISCLOSURE,
            file=file,
            event="disclosure_match",
            target=code,
            outcome=Outcome.ALLOW if code else Outcome.REJECTED,
            detail={"request_no": req.request_no, "result_count": len(codes), "refusal": refusal},
        )
        return MatchOutcome(request_id, status, refusal, len(codes))

    return run_step(conn, actor, body, function=Function.DISCLOSURE, file=file, event="disclosure_match")
