"""Bulk rows our own file does not answer are asked of J-LIS, as single provision asks (F1-2b, F2-2, L385).

After the set-based local match (:mod:`.process`), the rows still 該当なし — nobody present in the file,
not a person outside the provision subject (that is ours and final) — whose key J-LIS answers (住民票コード,
個人番号 on File 1, 4情報) are asked of the 全国サーバ / 附票全国サーバ through the F1-5 / F2-5 client, each
with its communication record (REC-4, function F1-2 / F2-2, naming the operator or the line agent),
exactly like :func:`juki.services.provision.single.provide`.

**Sequential, over one kept-alive mTLS connection.** One :class:`JlisClient` (not thread-safe; its
communication records are written on one autocommit connection before each send) asks row after row.
Rows that reach J-LIS are the few targets living elsewhere, not the bulk of a job; a prefecture's
server should not open a burst of parallel queries on the shared national service; and the answer of a
job comes back after processing anyway. Once J-LIS fails to answer (no connection, timeout, 5xx, a
refused handshake), the remaining rows are not sent: they are answered ``P_UNAVAILABLE`` with the same
code, as single provision answers a person it could not ask.

**No transaction is open while J-LIS answers** (decision 92). The job's first transaction matches
locally and marks the rows to ask (:func:`mark_national`) and commits; :func:`ask_national` then reads
the marked rows without an answer a batch at a time (each read a short transaction of its own), asks
them, and stores each batch's answers on their request rows at once (one UPDATE … FROM unnest per
batch — never a round trip to our database per row); the closing transaction matches again and takes
the stored answers for the rows still 該当なし (:func:`merge_national`). A run stopped half-way keeps
what was answered; the next run asks only the rest. When nothing has to be asked (J-LIS not
configured, or every such row answered already) the job finishes in its first transaction.

A row's 4情報 are the staged keys (the matcher's 清音化 name, the birth-key period, the sex, the address
key behind its first LIKE pattern): the client derives the same keys from them again (both derivations
are idempotent), so J-LIS gets the conditions the local match used.

No J-LIS configured (``national`` is None) or its configuration unreadable: every such row is
``P_UNAVAILABLE`` (reason ``not_configured`` / the refusal's code), never a silent 該当なし.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import orjson
import psycopg
from psycopg import sql

from juki.domain.provision import KeyType, ResultCode
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.services.jlis.client import (
    Basic4,
    JlisClient,
    JlisError,
    JlisUnavailable,
    PeerRefusedError,
    QueryConditionsError,
    SearchKeys,
    TooManyMatches,
)
from juki.services.jlis.communication_records import Requester
from juki.services.jlis.local_first import FORWARDING, Source
from juki.services.jlis.relay import Peer
from juki.services.provision.bulk.terms import BulkTerms
from juki.services.provision.single import NOT_SUBJECT, in_provision_subject

__all__ = [
    "NATIONAL_TABLE",
    "NationalAccess",
    "ask_national",
    "create_national_table",
    "mark_national",
    "merge_national",
    "national_server",
]

#: The temporary table of J-LIS answers (row_no, result, reason, person, record), dropped at commit.
NATIONAL_TABLE: Final = "juki_bulk_national"
_BATCH: Final = 500


@dataclass(frozen=True)
class NationalAccess:
    """How a bulk job reaches J-LIS: the server (:func:`juki.services.jlis.operator_query.configured_peer`,
    raising ``T_JLIS_NOT_CONFIGURED``) and a context giving an autocommit connection as the file's role
    for the communication records (:func:`juki.services.jlis.client.jlis_connection`, a pool's)."""

    peer: Callable[[], Peer]
    connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


@dataclass(frozen=True)
class _Answer:
    row_no: int
    result: ResultCode
    reason: str = ""
    person: str | None = None
    record: dict[str, Any] | None = None


def create_national_table(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no integer PRIMARY KEY, result_code text NOT NULL,"
            " reason text NOT NULL, person text, record jsonb) ON COMMIT DROP"
        ).format(sql.Identifier(NATIONAL_TABLE))
    )


def _jlis_keys(spec: FileSpec) -> list[str]:
    keys = [KeyType.RESIDENT_CODE.value, KeyType.BASIC4.value]
    if spec.holds_my_number:
        keys.append(KeyType.MY_NUMBER.value)
    return keys


def _period(low: int | None, high: int | None) -> str | None:
    """The birth condition as the requester's period: a day, a month or a year (matcher birth keys)."""
    if low is None or high is None:
        return None
    year, month, day = low // 10000, low // 100 % 100, low % 100
    if low == high:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}" if high - low < 100 else f"{year:04d}"


def _unlike(pattern: str | None) -> str | None:
    """The address key behind a LIKE prefix pattern (matcher.like_prefix, reversed)."""
    if not pattern:
        return None
    body = pattern.removesuffix("%")
    out, escaped = [], False
    for ch in body:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _keys(row: tuple[Any, ...]) -> SearchKeys:
    _row_no, key_type, code, number, seion, low, high, sex, pattern = row
    if key_type == KeyType.RESIDENT_CODE.value:
        return SearchKeys(juminhyo_code=code)
    if key_type == KeyType.MY_NUMBER.value:
        return SearchKeys(my_number=number)
    return SearchKeys(
        basic4=Basic4(name_kana=seion, birth_date=_period(low, high), sex=sex, address=_unlike(pattern))
    )


def _ask(client: JlisClient, spec: FileSpec, row_no: int, keys: SearchKeys) -> _Answer:
    """One row's J-LIS answer, as single provision reads it (JlisUnavailable / PeerRefusedError raised)."""
    try:
        found = client.query(keys, function=FORWARDING).matches
    except TooManyMatches:
        return _Answer(row_no, ResultCode.AMBIGUOUS, "national")
    except QueryConditionsError as exc:
        return _Answer(row_no, ResultCode.INVALID, exc.code)
    except (JlisUnavailable, PeerRefusedError):
        raise
    except JlisError as exc:
        return _Answer(row_no, ResultCode.UNAVAILABLE, exc.code)
    subject = [m for m in found if in_provision_subject(spec, m.record)]
    if len(subject) > 1:
        return _Answer(row_no, ResultCode.AMBIGUOUS, "national")
    if not subject:
        return _Answer(row_no, ResultCode.NOT_FOUND, NOT_SUBJECT if found else "")
    return _Answer(row_no, ResultCode.MATCH, "", subject[0].juminhyo_code, subject[0].record)


def national_server(national: NationalAccess | None) -> tuple[Peer | None, str | None]:
    """J-LIS's address and credentials (no network yet), or why it cannot be asked at all."""
    if national is None:
        return None, "not_configured"
    try:
        return national.peer(), None
    except Refusal as refused:
        return None, refused.code


def _unmatched(spec: FileSpec) -> sql.Composable:
    """Rows of the job (``r``) still 該当なし in the answer table (``a``) whose key J-LIS answers."""
    keys = sql.SQL(", ").join(sql.Literal(k) for k in _jlis_keys(spec))
    return sql.SQL(
        "r.job_id = %(job)s AND r.row_no = a.row_no AND a.result_code = {nf} AND a.reason = ''"
        " AND r.key_type IN ({keys})"
    ).format(nf=sql.Literal(ResultCode.NOT_FOUND.value), keys=keys)


def mark_national(conn: psycopg.Connection[Any], terms: BulkTerms, job_id: int, answer_table: str) -> int:
    """In the job's first transaction, after the local match: mark the rows J-LIS must be asked;
    return how many of them have no answer yet (0: nothing to ask, the job can finish at once)."""
    spec = file_spec(terms.file)
    rows = sql.SQL(spec.table("bulk_request_row"))
    conn.execute(
        sql.SQL(
            "UPDATE {rows} r SET national_wanted = true FROM {answer} a"
            " WHERE {unmatched} AND NOT r.national_wanted"
        ).format(rows=rows, answer=sql.Identifier(answer_table), unmatched=_unmatched(spec)),
        {"job": job_id},
    )
    row = conn.execute(
        sql.SQL(
            "SELECT count(*) FROM {} WHERE job_id = %s AND national_wanted AND national_result IS NULL"
        ).format(rows),
        (job_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def _store(conn: psycopg.Connection[Any], spec: FileSpec, job_id: int, answers: list[_Answer]) -> None:
    """One batch of answers onto their request rows, in one short transaction of its own."""
    if not answers:
        return
    with conn.transaction():
        conn.execute(
            sql.SQL(
                "UPDATE {} r SET national_result = v.result, national_reason = v.reason,"
                " national_person = v.person, national_record = v.record"
                " FROM unnest(%s::integer[], %s::text[], %s::text[], %s::text[], %s::jsonb[])"
                " AS v(row_no, result, reason, person, record)"
                " WHERE r.job_id = %s AND r.row_no = v.row_no"
            ).format(sql.SQL(spec.table("bulk_request_row"))),
            (
                [a.row_no for a in answers],
                [a.result.value for a in answers],
                [a.reason for a in answers],
                [a.person for a in answers],
                [None if a.record is None else orjson.dumps(a.record).decode() for a in answers],
                job_id,
            ),
        )


def ask_national(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    job_id: int,
    national: NationalAccess | None,
    requester: Requester,
) -> int:
    """Ask J-LIS for the marked rows without an answer, **with no transaction open** while it answers.

    Rows are read a batch at a time (keyset, each read its own short transaction), asked one after
    another over one kept-alive client, and each batch's answers stored at once: a run stopped half-way
    leaves what was answered, and the next run asks only the rest. Returns the rows answered here."""
    spec = file_spec(terms.file)
    rows = sql.SQL(spec.table("bulk_request_row"))
    server, cannot = national_server(national)
    if national is None or server is None:
        with conn.transaction():
            done = conn.execute(
                sql.SQL(
                    "UPDATE {} SET national_result = %s, national_reason = %s"
                    " WHERE job_id = %s AND national_wanted AND national_result IS NULL"
                ).format(rows),
                (ResultCode.UNAVAILABLE.value, cannot or "not_configured", job_id),
            )
        return done.rowcount
    number = sql.SQL("my_number") if spec.holds_my_number else sql.SQL("NULL::text")
    query = sql.SQL(
        "SELECT row_no, key_type, juminhyo_code, {number}, seion, birth_lo, birth_hi, sex,"
        " address_patterns[1] FROM {rows} WHERE job_id = %s AND national_wanted AND national_result IS NULL"
        " AND row_no > %s ORDER BY row_no LIMIT %s"
    ).format(number=number, rows=rows)
    answered, last = 0, 0
    down: str | None = None
    with (
        national.connect() as records_conn,
        JlisClient(server, spec.kind, records_conn, requester=requester) as client,
    ):
        while True:
            with conn.transaction():
                batch = conn.execute(query, (job_id, last, _BATCH)).fetchall()
            if not batch:
                break
            answers: list[_Answer] = []
            for row in batch:
                if down is not None:
                    answers.append(_Answer(row[0], ResultCode.UNAVAILABLE, down))
                    continue
                try:
                    keys = _keys(row)
                except QueryConditionsError as exc:
                    answers.append(_Answer(row[0], ResultCode.INVALID, exc.code))
                    continue
                try:
                    answers.append(_ask(client, spec, row[0], keys))
                except (JlisUnavailable, PeerRefusedError) as exc:
                    # After the first transport failure the rest are not sent (one refusal per job,
                    # not one timeout per row), answered 照会先応答なし with the same code.
                    down = exc.code
                    answers.append(_Answer(row[0], ResultCode.UNAVAILABLE, down))
            _store(conn, spec, job_id, answers)
            answered += len(answers)
            last = batch[-1][0]
    return answered


def merge_national(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    job_id: int,
    answer_table: str,
    cannot: str | None,
) -> int:
    """In the job's closing transaction, after the local match: the rows still 該当なし whose key J-LIS
    answers take its stored answer (into :data:`NATIONAL_TABLE`, which the result file reads); a row
    without one is 照会先応答なし — ``cannot`` (J-LIS not configured …) or ``national_not_asked`` (our
    person ended between the two transactions) — never a silent 該当なし. Returns the rows taken."""
    spec = file_spec(terms.file)
    answer = sql.Identifier(answer_table)
    create_national_table(conn)
    taken = conn.execute(
        sql.SQL(
            "INSERT INTO {table} (row_no, result_code, reason, person, record)"
            " SELECT a.row_no, coalesce(r.national_result, %(unavailable)s),"
            " coalesce(r.national_reason, %(cannot)s), r.national_person, r.national_record"
            " FROM {answer} a JOIN {rows} r ON {unmatched}"
        ).format(
            table=sql.Identifier(NATIONAL_TABLE),
            answer=answer,
            rows=sql.SQL(spec.table("bulk_request_row")),
            unmatched=_unmatched(spec),
        ),
        {
            "job": job_id,
            "unavailable": ResultCode.UNAVAILABLE.value,
            "cannot": cannot or "national_not_asked",
        },
    ).rowcount
    items = sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(map(sql.Literal, terms.items)))
    conn.execute(
        sql.SQL(
            "UPDATE {answer} a SET result_code = n.result_code, reason = n.reason,"
            " juminhyo_code = CASE WHEN n.result_code = 'P_MATCH' THEN n.person END,"
            " items = CASE WHEN n.result_code = 'P_MATCH' THEN {items} ELSE '{{}}'::text[] END,"
            " source = {national} FROM {table} n WHERE n.row_no = a.row_no"
        ).format(
            answer=answer,
            items=items,
            national=sql.Literal(Source.NATIONAL.value),
            table=sql.Identifier(NATIONAL_TABLE),
        )
    )
    return taken
