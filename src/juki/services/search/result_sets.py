"""Search results kept for the session (F1-6, F2-6; issue 10 item 1): paging, Back and 「検索結果へ戻る」
without a new search, and still no personal data in a URL.

After a search the terminal stores the list under an opaque random id in the searched file's own
schema (migration 0030): the 住民票コード in display order, the conditions as typed and the notes
shown with them (variant spellings searched, warnings). Nothing else: each display re-reads the
persons of the page from the current table, through :func:`show_page`, which checks the right and
logs the view. The first display of page 1, right after the search, is the search's own log row
(it records the same list); every later display (Back, another page, 「検索結果へ戻る」) is a row of
its own (``search_results``).

A set answers only the session that made it (``Actor.session_id``, which the operation log names
too) and only until ``expires_at``: signing out, a revoked right or another operator's id give
``T_RESULT_SET_EXPIRED``. Each new set purges the file's expired ones.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.search.service import SearchHit, SearchResult, _hit, _run_logged

__all__ = ["KEEP_HOURS", "PAGE_SIZE", "ResultPage", "save", "show_page"]

#: Rows per page: a full page of the list fits a 1280×800 screen below the conditions.
PAGE_SIZE: Final = 20
#: How long a set stays reachable at most (a working day); the session ending ends it sooner.
KEEP_HOURS: Final = 12

_TABLE: Final = "search_result_sets"
_HIT_COLUMNS: Final = (
    "juminhyo_code, name_kanji, name_kana, birth_date, sex, address, status, end_kind, change_reason,"
    " change_date, {mun} AS municipality_code"
)


@dataclass(frozen=True)
class ResultPage:
    """One page of a kept result list, re-read now."""

    file: FileKind
    set_id: str
    conditions: Mapping[str, Any]  # the search form as typed (to fill the form in again)
    hits: tuple[SearchHit, ...]
    total: int
    page: int
    page_size: int
    variant_spellings: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_row(self) -> int:
        """1-based number of the page's first row (for "21–40 件目")."""
        return (self.page - 1) * self.page_size + 1 if self.hits else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.hits) - 1 if self.hits else 0


def _session_of(actor: Actor) -> str:
    if actor.session_id is None:
        raise ValueError("result sets belong to a signed-in session")
    return actor.session_id


def save(conn: psycopg.Connection[Any], actor: Actor, result: SearchResult, form: Mapping[str, Any]) -> str:
    """Keep ``result`` (its 住民票コード in order) with the conditions ``form`` as typed; its opaque id.

    ``conn`` is the searched file's role. No log row: the search that produced it has one."""
    session = _session_of(actor)
    table = sql.SQL(table_of(result.file))
    set_id = secrets.token_urlsafe(16)
    notes = {"variant_spellings": list(result.variant_spellings), "warnings": list(result.warnings)}
    with conn.transaction():
        conn.execute(sql.SQL("DELETE FROM {} WHERE expires_at <= now()").format(table))
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, session_id, operator_id, expires_at, conditions, notes, codes)"
                " VALUES (%s, %s, %s, now() + make_interval(hours => %s), %s, %s, %s)"
            ).format(table),
            (
                set_id,
                session,
                actor.operator_id,
                KEEP_HOURS,
                Jsonb(dict(form)),
                Jsonb(notes),
                [hit.juminhyo_code for hit in result.hits],
            ),
        )
    return set_id


def table_of(file: FileKind) -> str:
    """The result-set table of ``file`` (in the file's own schema)."""
    return file_spec(file).table(_TABLE)


def show_page(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    set_id: str,
    page: int = 1,
    *,
    page_size: int = PAGE_SIZE,
) -> ResultPage:
    """Page ``page`` of the kept set ``set_id`` (pages past the end show the last one).

    Checks the search right now (a right revoked since the search is a deny), re-reads the page's
    persons from the current table and logs the display — except the first display of page 1,
    which the search's row already records. Raises :class:`Refusal` T_FORBIDDEN,
    T_RESULT_SET_EXPIRED, each logged and committed first.
    """
    spec = file_spec(file)
    detail: dict[str, object] = {"event": "search_results", "page": page}

    def body() -> ResultPage:
        if not permissions.allows(actor, Function.SEARCH, file):
            raise Refusal("T_FORBIDDEN")
        with conn.cursor(row_factory=dict_row) as cur:
            kept = cur.execute(
                sql.SQL(
                    "SELECT conditions, notes, codes, shown FROM {} WHERE id = %s AND session_id = %s"
                    " AND expires_at > now() FOR UPDATE"
                ).format(sql.SQL(table_of(file))),
                (set_id, actor.session_id or ""),
            ).fetchone()
            if kept is None:
                raise Refusal("T_RESULT_SET_EXPIRED")
            codes: list[str] = list(kept["codes"])
            pages = max(1, -(-len(codes) // page_size))
            number = min(max(page, 1), pages)
            wanted = codes[(number - 1) * page_size : number * page_size]
            rows = cur.execute(
                sql.SQL("SELECT " + _HIT_COLUMNS + " FROM {table} WHERE juminhyo_code = ANY(%s)").format(
                    mun=sql.Identifier(spec.municipality_column), table=sql.SQL(spec.current)
                ),
                (wanted,),
            ).fetchall()
            if number == 1 and not kept["shown"]:
                cur.execute(
                    sql.SQL("UPDATE {} SET shown = true WHERE id = %s").format(sql.SQL(table_of(file))),
                    (set_id,),
                )
            else:
                record_operation(
                    conn,
                    actor,
                    function=Function.SEARCH,
                    file=file,
                    outcome=Outcome.ALLOW,
                    detail={**detail, "page": number, "result_count": len(rows)},
                )
        order = {code: i for i, code in enumerate(wanted)}
        hits = sorted((_hit(r) for r in rows), key=lambda h: order[h.juminhyo_code])
        notes: Mapping[str, Any] = kept["notes"]
        return ResultPage(
            file,
            set_id,
            kept["conditions"],
            tuple(hits),
            len(codes),
            number,
            page_size,
            tuple(notes.get("variant_spellings", ())),
            tuple(notes.get("warnings", ())),
        )

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=Function.SEARCH,
        file=file,
        target=None,
        detail=detail,
        refusal_detail=lambda refusal: {},
    )
