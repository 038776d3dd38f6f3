"""4情報 search of File 1 / File 2 and the record view (REQUIREMENTS F1-6, F2-6, S-16, S-25, S-27): the
use cases.

An operator at a 代表端末 or 業務端末 enters a combination of the 4情報 (氏名, 生年月日, 性別, 住所) and
gets a list of matching persons; opening one shows the current record and every earlier version.

The service is the one place every caller (web UI, CLI, tests, benchmark) passes through: it checks
the operator's right, runs the query and writes the operation-log row. What the conditions are and
which are enough (S-25) is :mod:`juki.services.search.conditions`; the SQL they become is
:mod:`juki.services.search.matcher`.

Results are capped: more than ``limit`` matches is a refusal (``T_SEARCH_TOO_MANY``, "narrow the
conditions"), never a truncated list, and no personal data is returned. Every call leaves exactly one
row in the operation log (S-16), in the same transaction as the search; a refusal's row is committed
before the refusal is raised (docs/terminals.md, "The operation-log pattern").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.dates import JukiDate
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.services.search.conditions import DEFAULT_SEARCH_CAP, S25_RULES, SearchConditions
from juki.services.search.matcher import compile_search

__all__ = [
    "RecordVersion",
    "RecordView",
    "SearchHit",
    "SearchResult",
    "search",
    "view_record",
]

T = TypeVar("T")

#: Derived search keys: never shown in a record view.
_HIDDEN: Final = frozenset({"seion_family", "seion_given", "address_key", "birth_key"})


# ----------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SearchHit:
    """One person in the result list (the items the list shows; open the record for the rest)."""

    juminhyo_code: str
    name_kanji: str  # exactly as stored (IVS, compatibility ideographs kept)
    name_kana: str
    birth_date: str  # JukiDate canonical text ("1985-03-04", "1985", "不詳"…)
    sex: str  # "1" / "2"
    address: str
    status: str  # File 1: present / ended; File 2: domestic / abroad / ended
    end_kind: str | None  # removed / death / code_changed, when ended
    change_reason: str
    change_date: str
    municipality_code: str  # File 1: 市町村コード; File 2: 附票管理市町村コード

    @property
    def ended(self) -> bool:
        """A 消除者 (shown only when the search included them)."""
        return self.status == "ended"

    @property
    def birth(self) -> JukiDate:
        return JukiDate.parse_canonical(self.birth_date)


@dataclass(frozen=True)
class SearchResult:
    file: FileKind
    hits: tuple[SearchHit, ...]
    cap: int
    log_id: int  # the operation-log row of this search
    variant_spellings: tuple[str, ...] = ()  # the kanji spellings searched (「異体字も検索」)
    warnings: tuple[str, ...] = ()  # for the operator; they did not stop the search

    @property
    def count(self) -> int:
        return len(self.hits)


@dataclass(frozen=True)
class RecordVersion:
    """One version of a person's record: the current one or a superseded snapshot."""

    version: int
    is_current: bool
    items: Mapping[str, Any]  # every stored item (column → value), derived search keys left out
    superseded_at: datetime | None = None

    def __getitem__(self, item: str) -> Any:
        return self.items[item]


@dataclass(frozen=True)
class RecordView:
    """A person's record with its whole history (F1-6/F2-6 detail screen)."""

    file: FileKind
    juminhyo_code: str
    current: RecordVersion
    history: tuple[RecordVersion, ...] = field(default=())  # newest first
    log_id: int = 0

    @property
    def versions(self) -> tuple[RecordVersion, ...]:
        """Every version, newest (the current record) first."""
        return (self.current, *self.history)


# --------------------------------------------------------------------------------------- services


def _record_error(
    conn: psycopg.Connection[Any],
    actor: Actor,
    function: Function,
    file: FileKind,
    target: str | None,
    detail: Mapping[str, object],
    exc: BaseException,
) -> None:
    """Best effort: an operation that failed unexpectedly still leaves its one log row (ERROR)."""
    if conn.closed or conn.broken:
        return
    try:
        with conn.transaction():
            record_operation(
                conn,
                actor,
                function=function,
                file=file,
                outcome=Outcome.ERROR,
                target=target,
                detail={**detail, "error": type(exc).__name__},
            )
    except psycopg.Error:
        pass


def _run_logged(
    conn: psycopg.Connection[Any],
    body: Callable[[], T],
    *,
    actor: Actor,
    function: Function,
    file: FileKind,
    target: str | None,
    detail: Mapping[str, object],
    refusal_detail: Callable[[Refusal], Mapping[str, object]],
) -> T:
    """`guard.guarded` (a refusal is logged and committed, then raised) plus an ERROR row when the
    operation fails unexpectedly, so every call leaves exactly one log row (S-16)."""

    def on_refusal(refusal: Refusal) -> tuple[Refusal, Mapping[str, object]]:
        return refusal, {**detail, **refusal_detail(refusal)}

    try:
        return guarded(
            conn,
            body,
            actor=actor,
            function=function,
            event=function.value,
            target=target,
            file=file,
            on_refusal=on_refusal,
        )
    except Refusal:
        raise
    except Exception as exc:
        _record_error(conn, actor, function, file, target, detail, exc)
        raise


def search(
    conn: psycopg.Connection[Any],
    actor: Actor,
    conditions: SearchConditions,
    *,
    limit: int = DEFAULT_SEARCH_CAP,
) -> SearchResult:
    """F1-6 / F2-6: the persons matching ``conditions``, at most ``limit`` of them.

    ``conn`` is a connection as the file's role (juki_pref for PREF, juki_fuhyo for FUHYO), normally
    in autocommit mode (each call is then its own transaction, committed with its log row). Raises
    :class:`Refusal`: T_FORBIDDEN (no right, logged as deny), T_SEARCH_INPUT / T_SEARCH_CONDITIONS
    (S-25) and T_SEARCH_TOO_MANY (logged as rejected, nothing returned); the log row is committed
    before the refusal is raised. Hits are ordered by kana key, birth date and code.
    """
    file = conditions.file
    logged = conditions.to_log()

    def body() -> SearchResult:
        if not permissions.allows(actor, Function.SEARCH, file):
            raise Refusal("T_FORBIDDEN")
        compiled = compile_search(conditions)
        query, params = compiled.query(limit + 1)
        with conn.cursor(row_factory=dict_row) as cur:
            # prepare=False: a prepared (generic) plan cannot use an index for "LIKE $1".
            rows = cur.execute(query, params, prepare=False).fetchall()
        if len(rows) > limit:
            raise Refusal(S25_RULES.too_many_code, f"{limit}件を超えました")
        rows.sort(key=lambda r: (r["seion_kana"], r["birth_key"], r["juminhyo_code"]))
        # Last, so the log's chain head is locked only until the commit that follows at once.
        # "shown" names every person the list showed, by 住民票コード only (never names or dates):
        # the review's "who looked at this resident" finds searches as well as record views
        # (issue 10 item 8, migration 0032).
        log_id = record_operation(
            conn,
            actor,
            function=Function.SEARCH,
            file=file,
            outcome=Outcome.ALLOW,
            detail={
                "conditions": logged,
                "result_count": len(rows),
                "shown": [r["juminhyo_code"] for r in rows],
            },
        )
        hits = tuple(_hit(r) for r in rows)
        return SearchResult(file, hits, limit, log_id, compiled.variant_spellings, compiled.warnings)

    def refusal_detail(refusal: Refusal) -> Mapping[str, object]:
        if refusal.code == S25_RULES.too_many_code:
            return {"result_count": None, "cap": limit}
        return {}

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=Function.SEARCH,
        file=file,
        target=None,
        detail={"conditions": logged},
        refusal_detail=refusal_detail,
    )


def _hit(row: Mapping[str, Any]) -> SearchHit:
    return SearchHit(
        juminhyo_code=row["juminhyo_code"],
        name_kanji=row["name_kanji"],
        name_kana=row["name_kana"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        address=row["address"],
        status=row["status"],
        end_kind=row["end_kind"],
        change_reason=row["change_reason"],
        change_date=row["change_date"],
        municipality_code=row["municipality_code"],
    )


def view_record(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, juminhyo_code: str
) -> RecordView:
    """One person's record: the current version and every superseded one, newest first.

    ``conn`` is a connection as the file's role. Raises :class:`Refusal` (T_FORBIDDEN,
    T_SEARCH_INPUT for a malformed code, T_RECORD_NOT_FOUND), each logged and committed first.
    Ended records (消除者) can be opened: the view is how their history is read.
    """
    code = normalize_digits(juminhyo_code.strip())
    target = code or None

    def body() -> RecordView:
        if not permissions.allows(actor, Function.VIEW_RECORD, file):
            raise Refusal("T_FORBIDDEN")
        try:
            spec = file_spec(file)
        except (KeyError, ValueError):
            spec = None
        if spec is None or not is_ascii_digits(code, 11):
            raise Refusal("T_SEARCH_INPUT", "住民票コードは11桁の数字で指定してください")
        with conn.cursor(row_factory=dict_row) as cur:
            current = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s").format(sql.SQL(spec.current)), [code]
            ).fetchone()
            if current is None:
                raise Refusal("T_RECORD_NOT_FOUND")
            history = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s ORDER BY version DESC").format(
                    sql.SQL(spec.history)
                ),
                [code],
            ).fetchall()
        log_id = record_operation(
            conn,
            actor,
            function=Function.VIEW_RECORD,
            file=file,
            outcome=Outcome.ALLOW,
            target=code,
            detail={"result_count": 1, "versions": 1 + len(history)},
        )
        return RecordView(
            file,
            code,
            _version(current, is_current=True),
            tuple(_version(r, is_current=False) for r in history),
            log_id,
        )

    def refusal_detail(refusal: Refusal) -> Mapping[str, object]:
        return {"result_count": 0} if refusal.code == "T_RECORD_NOT_FOUND" else {}

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=Function.VIEW_RECORD,
        file=file,
        target=target,
        detail={},
        refusal_detail=refusal_detail,
    )


_HISTORY_BOOKKEEPING: Final = frozenset({"superseded_at"})


def _version(row: Mapping[str, Any], *, is_current: bool) -> RecordVersion:
    items = {k: v for k, v in row.items() if k not in _HIDDEN and k not in _HISTORY_BOOKKEEPING}
    return RecordVersion(
        version=int(row["version"]),
        is_current=is_current,
        items=items,
        superseded_at=None if is_current else row.get("superseded_at"),
    )
