"""The inquiry log (問合せ記録, REC-7, S-60): every inquiry about 住基ネット — counter, phone, mail, post
— with its category, a summary, the answer and who gave it, searchable for the yearly review.

Who answered comes from the signed-in session (the actor), never from a typed name. A 住民票コード is
recorded only where the answer needed the person's record; reading entries that carry one is an
operation-log row naming each such person (S-15), like any other view of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import INQUIRY_RETENTION_YEARS, InquiryCategory, InquiryChannel, years_after
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function
from juki.services.disclosure.common import log_step, run_step

__all__ = ["InquiryEntry", "InquiryInput", "purge_expired", "record_inquiry", "search_inquiries"]

_JST: Final = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class InquiryInput:
    channel: InquiryChannel
    category: InquiryCategory
    summary: str
    answer: str
    received_at: datetime | None = None  # default: now
    file: FileKind | None = None
    person_code: str = ""  # only where the answer needed the person's record


@dataclass(frozen=True)
class InquiryEntry:
    id: int
    received_at: datetime
    channel: InquiryChannel
    category: InquiryCategory
    summary: str
    answer: str
    answered_by: str
    file: FileKind | None
    person_code: str | None


def _entry(r: dict[str, Any]) -> InquiryEntry:
    return InquiryEntry(
        int(r["id"]),
        r["received_at"],
        InquiryChannel(r["channel"]),
        InquiryCategory(r["category"]),
        r["summary"],
        r["answer"],
        r["answered_by"],
        None if r["file"] == "-" else FileKind(r["file"]),
        r["person_code"],
    )


def record_inquiry(conn: psycopg.Connection[Any], actor: Actor, given: InquiryInput) -> InquiryEntry:
    """Record one inquiry (``conn``: juki_term). With a person's code the file's right is needed too."""

    def body() -> InquiryEntry:
        try:
            channel, category = InquiryChannel(given.channel), InquiryCategory(given.category)
        except ValueError:
            raise Refusal("T_INQUIRY_INPUT", "受付の方法と分類を選んでください") from None
        summary, answer = given.summary.strip(), given.answer.strip()
        if not summary or len(summary) > 2000 or len(answer) > 4000:
            raise Refusal("T_INQUIRY_INPUT", "要旨（2000文字以内）と回答（4000文字以内）を記入してください")
        code = normalize_digits(given.person_code.strip())
        if code and (not is_ascii_digits(code, 11) or given.file is None):
            raise Refusal("T_INQUIRY_INPUT", "住民票コードは11桁で、対象の情報（ファイル）とともに記録します")
        if code and not permissions.allows(actor, Function.INQUIRY_LOG, given.file):
            raise Refusal("T_FORBIDDEN")
        at = given.received_at or datetime.now(_JST)
        with conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "INSERT INTO term.inquiry_log (received_at, channel, category, summary, answer, answered_by,"
                " file, person_code, retain_until) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
                [
                    at,
                    channel.value,
                    category.value,
                    summary,
                    answer,
                    actor.login,
                    given.file.value if code and given.file else "-",
                    code or None,
                    years_after(at.date(), INQUIRY_RETENTION_YEARS),
                ],
            ).fetchone()
        assert row is not None
        log_step(
            conn,
            actor,
            function=Function.INQUIRY_LOG,
            file=None,
            event="inquiry_record",
            target=code or None,
            detail={"inquiry_id": int(row["id"]), "category": category.value},
        )
        return _entry(row)

    return run_step(conn, actor, body, function=Function.INQUIRY_LOG, file=None, event="inquiry_record")


def search_inquiries(
    conn: psycopg.Connection[Any],
    actor: Actor,
    *,
    since: date | None = None,
    until: date | None = None,
    category: InquiryCategory | None = None,
    text: str = "",
    limit: int = 500,
) -> list[InquiryEntry]:
    """Entries for the yearly review (S-56..S-58), newest first: by period, category and a word in the
    summary or answer. Entries naming a person are logged with that person as the target."""

    def body() -> list[InquiryEntry]:
        where: list[sql.Composable] = []
        params: list[Any] = []
        if since is not None:
            where.append(sql.SQL("received_at >= %s"))
            params.append(since)
        if until is not None:
            where.append(sql.SQL("received_at < %s::date + 1"))
            params.append(until)
        if category is not None:
            where.append(sql.SQL("category = %s"))
            params.append(InquiryCategory(category).value)
        if text.strip():
            pattern = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(sql.SQL("(summary LIKE %s OR answer LIKE %s)"))
            params.extend([pattern, pattern])
        condition = sql.SQL(" AND ").join(where) if where else sql.SQL("true")
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                sql.SQL(
                    "SELECT * FROM term.inquiry_log WHERE {} ORDER BY received_at DESC, id DESC LIMIT %s"
                ).format(condition),
                [*params, limit],
            ).fetchall()
        entries = [_entry(r) for r in rows]
        log_step(
            conn,
            actor,
            function=Function.INQUIRY_LOG,
            file=None,
            event="inquiry_search",
            target=None,
            detail={"result_count": len(entries)},
        )
        for e in entries:
            if e.person_code:
                log_step(
                    conn,
                    actor,
                    function=Function.INQUIRY_LOG,
                    file=e.file,
                    event="inquiry_view_person",
                    target=e.person_code,
                    detail={"inquiry_id": e.id},
                )
        return entries

    return run_step(conn, actor, body, function=Function.INQUIRY_LOG, file=None, event="inquiry_search")


def purge_expired(conn: psycopg.Connection[Any], today: date) -> int:
    """Delete entries past their 保存期限 (juki_term connection); how many."""
    with conn.transaction():
        return conn.execute("DELETE FROM term.inquiry_log WHERE retain_until < %s", [today]).rowcount
