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

**Never a round trip to our own database per row.** The rows to ask are read through one server-side
cursor; the answers are collected and COPYed, a batch at a time, into a temporary table, then written
into the job's answer table with one UPDATE … FROM, and the result file reads a national match's items
from that table.

A row's 4情報 are the staged keys (the matcher's 清音化 name, the birth-key period, the sex, the address
key behind its first LIKE pattern): the client derives the same keys from them again (both derivations
are idempotent), so J-LIS gets the conditions the local match used.

No J-LIS configured (``national`` is None) or its configuration unreadable: every such row is
``P_UNAVAILABLE`` (reason ``not_configured`` / the refusal's code), never a silent 該当なし.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

__all__ = ["NATIONAL_TABLE", "NationalAccess", "ask_national", "create_national_table"]

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


def _answers(
    rows: Iterator[tuple[Any, ...]],
    spec: FileSpec,
    national: NationalAccess,
    server: Peer,
    requester: Requester,
) -> Iterator[_Answer]:
    with (
        national.connect() as records_conn,
        JlisClient(server, spec.kind, records_conn, requester=requester) as client,
    ):
        down: str | None = None
        for row in rows:
            if down is not None:
                yield _Answer(row[0], ResultCode.UNAVAILABLE, down)
                continue
            try:
                keys = _keys(row)
            except QueryConditionsError as exc:
                yield _Answer(row[0], ResultCode.INVALID, exc.code)
                continue
            try:
                yield _ask(client, spec, row[0], keys)
            except (JlisUnavailable, PeerRefusedError) as exc:
                down = exc.code
                yield _Answer(row[0], ResultCode.UNAVAILABLE, down)


def _flush(conn: psycopg.Connection[Any], batch: list[_Answer]) -> None:
    if not batch:
        return
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {} (row_no, result_code, reason, person, record) FROM STDIN").format(
                sql.Identifier(NATIONAL_TABLE)
            )
        ) as copy,
    ):
        for a in batch:
            record = None if a.record is None else orjson.dumps(a.record).decode()
            copy.write_row((a.row_no, a.result.value, a.reason, a.person, record))
    batch.clear()


def ask_national(
    conn: psycopg.Connection[Any],
    terms: BulkTerms,
    job_id: int,
    answer_table: str,
    national: NationalAccess | None,
    requester: Requester,
) -> int:
    """Ask J-LIS for the job's rows still 該当なし; write the answers back into ``answer_table``.

    ``conn`` is the job's transaction (the file's role). Returns how many rows were taken to J-LIS
    (asked, or answered P_UNAVAILABLE because it could not be asked)."""
    spec = file_spec(terms.file)
    answer, rows = sql.Identifier(answer_table), sql.SQL(spec.table("bulk_request_row"))
    params = (job_id, ResultCode.NOT_FOUND.value, _jlis_keys(spec))
    unmatched = sql.SQL(
        "r.job_id = %s AND r.row_no = a.row_no AND a.result_code = %s AND a.reason = ''"
        " AND r.key_type = ANY(%s)"
    )
    cannot: str | None = "not_configured" if national is None else None
    server: Peer | None = None
    if national is not None:
        try:
            server = national.peer()
        except Refusal as refused:
            cannot = refused.code
    if national is None or server is None:
        # J-LIS cannot be asked at all: one UPDATE answers every such row 照会先応答なし.
        done = conn.execute(
            sql.SQL(
                "UPDATE {answer} a SET result_code = %s, reason = %s, source = %s"
                " FROM {rows} r WHERE {unmatched}"
            ).format(answer=answer, rows=rows, unmatched=unmatched),
            (ResultCode.UNAVAILABLE.value, cannot or "not_configured", Source.NATIONAL.value, *params),
        )
        return done.rowcount
    number = sql.SQL("r.my_number") if spec.holds_my_number else sql.SQL("NULL::text")
    query = sql.SQL(
        "SELECT a.row_no, r.key_type, r.juminhyo_code, {number}, r.seion, r.birth_lo, r.birth_hi, r.sex,"
        " r.address_patterns[1] FROM {answer} a JOIN {rows} r ON {unmatched} ORDER BY a.row_no"
    ).format(number=number, answer=answer, rows=rows, unmatched=unmatched)
    taken = 0
    batch: list[_Answer] = []
    with conn.cursor(name="juki_bulk_national_rows") as cur:
        cur.itersize = _BATCH
        cur.execute(query, params)
        for answer_row in _answers(iter(cur), spec, national, server, requester):
            taken += 1
            batch.append(answer_row)
            if len(batch) >= _BATCH:
                _flush(conn, batch)
    _flush(conn, batch)
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
