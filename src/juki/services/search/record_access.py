"""Opening a record other than from a result list, and what a clerk does with an open record
(F1-6, F2-6; issue 10 items 2–4): the direct look-up by 住民票コード or 個人番号, showing the masked
個人番号, and printing the 照会結果票.

Each is its own function in the permission matrix (``lookup``, ``my_number_view``, ``print``) and
leaves its own operation-log row, named by its 住民票コード — never by the 個人番号 typed, which is
neither logged nor echoed. The 個人番号 look-up exists only for a file that holds the number
(``FileSpec.holds_my_number``). A print is an output: its row says which form was printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.codes import is_ascii_digits, is_valid_my_number, normalize_digits
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.search.service import RecordView, _run_logged, _version

__all__ = ["LookupKey", "lookup", "print_record", "read_record", "reveal_my_number"]

#: The name of the printed form, as the operation log and the page call it.
PRINT_FORM = "照会結果票"


_WHICH_FILE = "本人確認情報／附票本人確認情報のいずれかを指定してください"


class LookupKey(StrEnum):
    """What the direct look-up is by."""

    JUMINHYO_CODE = "juminhyo_code"
    MY_NUMBER = "my_number"


def _spec(file: FileKind) -> FileSpec:
    try:
        return file_spec(file)
    except (KeyError, ValueError):
        raise Refusal(
            "T_SEARCH_INPUT", "本人確認情報／附票本人確認情報のいずれかを指定してください"
        ) from None


def _code(value: str) -> str:
    code = normalize_digits(value.strip())
    if not is_ascii_digits(code, 11):
        raise Refusal("T_SEARCH_INPUT", "住民票コードは11桁の数字で指定してください")
    return code


def read_record(conn: psycopg.Connection[Any], file: FileKind, code: str) -> RecordView | None:
    """The record of ``code`` with every earlier version (no rights check, no log: callers do both)."""
    spec = _spec(file)
    with conn.cursor(row_factory=dict_row) as cur:
        current = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s").format(sql.SQL(spec.current)), [code]
        ).fetchone()
        if current is None:
            return None
        history = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s ORDER BY version DESC").format(
                sql.SQL(spec.history)
            ),
            [code],
        ).fetchall()
    return RecordView(
        file,
        code,
        _version(current, is_current=True),
        tuple(_version(r, is_current=False) for r in history),
    )


def _logged_record(
    conn: psycopg.Connection[Any],
    actor: Actor,
    file: FileKind,
    function: Function,
    code: str,
    detail: Mapping[str, object],
) -> RecordView:
    """Open ``code``'s record under ``function``'s right with one log row (the refusal's otherwise)."""

    def body() -> RecordView:
        if not permissions.allows(actor, function, file):
            raise Refusal("T_FORBIDDEN")
        found = read_record(conn, file, _code(code))
        if found is None:
            raise Refusal("T_RECORD_NOT_FOUND")
        log_id = record_operation(
            conn,
            actor,
            function=function,
            file=file,
            outcome=Outcome.ALLOW,
            target=code,
            detail={**detail, "result_count": 1, "versions": len(found.versions)},
        )
        return RecordView(found.file, found.juminhyo_code, found.current, found.history, log_id)

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=function,
        file=file,
        target=normalize_digits(code.strip()) or None,
        detail=detail,
        refusal_detail=lambda r: {"result_count": 0} if r.code == "T_RECORD_NOT_FOUND" else {},
    )


def lookup(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, by: LookupKey | str, value: str
) -> RecordView:
    """The record whose 住民票コード, or (File 1) 個人番号, is ``value``; function ``lookup``.

    Refusals (each logged): T_FORBIDDEN, T_SEARCH_INPUT (malformed key, or a 個人番号 look-up in a
    file without the number), T_RECORD_NOT_FOUND. A 個人番号 is found in the current records only
    (an ended person's number stays in the history, where the look-up by 住民票コード reaches it).
    """
    spec = _spec(file)
    try:
        key = LookupKey(by)
    except ValueError:
        raise Refusal("T_SEARCH_INPUT", "検索の種類が正しくありません") from None
    if key is LookupKey.JUMINHYO_CODE:
        return _logged_record(conn, actor, file, Function.LOOKUP, value, {"by": key.value})

    detail = {"by": key.value}

    def find_code() -> str:
        if not permissions.allows(actor, Function.LOOKUP, file):
            raise Refusal("T_FORBIDDEN")
        if not spec.holds_my_number:
            raise Refusal(
                "T_SEARCH_INPUT", f"{spec.label}には個人番号がありません。住民票コードで検索してください"
            )
        number = normalize_digits(value.strip())
        if not is_valid_my_number(number):
            raise Refusal("T_SEARCH_INPUT", "個人番号は12桁の数字（検査用数字を含む）で指定してください")
        row = conn.execute(
            sql.SQL("SELECT juminhyo_code FROM {} WHERE my_number = %s").format(sql.SQL(spec.current)),
            [number],
        ).fetchone()
        if row is None:
            raise Refusal("T_RECORD_NOT_FOUND")
        return str(row[0])

    # The key is checked and resolved under the same rules (and refusal rows) as the record itself;
    # the number is never a log target.
    code = _run_logged(
        conn,
        find_code,
        actor=actor,
        function=Function.LOOKUP,
        file=file,
        target=None,
        detail=detail,
        refusal_detail=lambda r: {"result_count": 0} if r.code == "T_RECORD_NOT_FOUND" else {},
    )
    return _logged_record(conn, actor, file, Function.LOOKUP, code, detail)


def reveal_my_number(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, juminhyo_code: str
) -> RecordView:
    """The record with its 個人番号 to be shown unmasked; function ``my_number_view``, logged."""
    spec = _spec(file)
    if not spec.holds_my_number:
        raise Refusal("T_SEARCH_INPUT", f"{spec.label}には個人番号がありません")
    return _logged_record(
        conn, actor, file, Function.MY_NUMBER_VIEW, juminhyo_code, {"event": "my_number_reveal"}
    )


def print_record(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, juminhyo_code: str
) -> RecordView:
    """The record to print as a 照会結果票; function ``print``, logged as an output of that form."""
    return _logged_record(
        conn, actor, file, Function.PRINT, juminhyo_code, {"event": "print", "output": PRINT_FORM}
    )
