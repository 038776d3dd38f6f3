"""Kept result lists, paging, the direct look-up, the logged 個人番号 表示, the 照会結果票 and the
異体字 search at the service level (F1-6, F2-6; issue 10 items 1, 2, 4, 6). Persons come through the
real update ledger; the log is read back from audit.op_log as the administrator.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.search import record_access, result_sets
from juki.services.search.conditions import SearchConditions
from juki.services.search.matcher import compile_search
from juki.services.search.service import search
from juki.store.db import Database, DbRole
from tests.factories import juminhyo, my_number, notification, pref_record
from tests.interfaces.terminal_web_support import log_rows
from tests.services.audit.support import actor as signed_in
from tests.services.search.test_search import apply

SUZUKI = {"name_kanji": "鈴木\u3000一郎", "name_kana": "スズキ\u3000イチロウ"}
TAKAHASHI = {"name_kanji": "髙橋\u3000花子", "name_kana": "タカハシ\u3000ハナコ", "birth_date": "1975-09-26"}


def _move_in(n: int, **record: str) -> dict[str, Any]:
    return notification("pref", "domestic_move_in", juminhyo(n), record=pref_record(n, **record))


@pytest.fixture
def people(db: Database) -> None:
    apply(
        db,
        *(_move_in(100 + i, **SUZUKI, birth_date=f"1970-05-{i + 1:02d}") for i in range(25)),
        _move_in(200, **TAKAHASHI),
    )


def _operator(db: Database, login: str = "kensaku-t") -> Any:
    return signed_in(db, login, "T-SEARCH", roles=frozenset({"pref_operator"}))


def _suzuki(conn: psycopg.Connection[Any], actor: Any) -> result_sets.ResultPage:
    conditions = SearchConditions(file=FileKind.PREF, name="スズキ イチロウ", birth_date="1970")
    found = search(conn, actor, conditions)
    set_id = result_sets.save(conn, actor, found, {"name": "スズキ イチロウ", "birth_date": "1970"})
    return result_sets.show_page(conn, actor, FileKind.PREF, set_id, 1)


def test_F1_6_result_set_pages_and_logs_each_later_display(db: Database, people: None) -> None:
    """Issue 10 item 1: the kept list pages by 20 in the search's order; the first display of page 1
    is the search's own log row, every later display is a row of its own; a page past the end shows
    the last page."""
    actor = _operator(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        first = _suzuki(conn, actor)
        assert (first.total, first.page, first.pages, len(first.hits)) == (25, 1, 2, 20)
        assert [h.birth_date for h in first.hits] == sorted(h.birth_date for h in first.hits)
        second = result_sets.show_page(conn, actor, FileKind.PREF, first.set_id, 2)
        assert (second.page, len(second.hits), second.first_row, second.last_row) == (2, 5, 21, 25)
        assert not {h.juminhyo_code for h in first.hits} & {h.juminhyo_code for h in second.hits}
        beyond = result_sets.show_page(conn, actor, FileKind.PREF, first.set_id, 99)
        assert beyond.page == 2
        assert first.conditions == {"name": "スズキ イチロウ", "birth_date": "1970"}
    rows = log_rows(db, "function = 'search'")
    assert [r["detail"].get("event") for r in rows] == [None, "search_results", "search_results"]
    assert [r["detail"]["page"] for r in rows[1:]] == [2, 2]


def test_F1_6_result_set_belongs_to_its_session_and_expires(db: Database, people: None) -> None:
    """Issue 10 item 1: another session (even of the same operator) cannot open the list, an expired
    list is gone, and each new list purges the expired ones."""
    actor = _operator(db)
    other = _operator(db, "kensaku-u")
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        kept = _suzuki(conn, actor)
        with pytest.raises(Refusal) as refused:
            result_sets.show_page(conn, other, FileKind.PREF, kept.set_id, 1)
        assert refused.value.code == "T_RESULT_SET_EXPIRED"
        same_operator_new_session = replace(actor, session_id="another-session")
        with pytest.raises(Refusal):
            result_sets.show_page(conn, same_operator_new_session, FileKind.PREF, kept.set_id, 1)
    with db.connect() as admin:
        admin.execute(
            "UPDATE pref.search_result_sets SET created_at = now() - interval '13 hours',"
            " expires_at = now() - interval '1 hour' WHERE id = %s",
            (kept.set_id,),
        )
        admin.commit()
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        with pytest.raises(Refusal) as expired:
            result_sets.show_page(conn, actor, FileKind.PREF, kept.set_id, 1)
        assert expired.value.code == "T_RESULT_SET_EXPIRED"
        _suzuki(conn, actor)
        left = conn.execute("SELECT count(*) FROM pref.search_result_sets WHERE id = %s", (kept.set_id,))
        assert left.fetchone() == (0,)
    denied = log_rows(db, "function = 'search' AND outcome = 'rejected'")
    assert [r["detail"]["refusal"] for r in denied] == ["T_RESULT_SET_EXPIRED"] * 3


def test_F1_6_result_set_holds_codes_and_conditions_only(db: Database, people: None) -> None:
    """Issue 10 item 1 design: the stored list is the 住民票コード in order plus the conditions, in the
    file's own schema; the terminal's role cannot read it."""
    actor = _operator(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        kept = _suzuki(conn, actor)
        row = conn.execute(
            "SELECT codes FROM pref.search_result_sets WHERE id = %s", (kept.set_id,)
        ).fetchone()
    assert row is not None and row[0] == [h.juminhyo_code for h in kept.hits] + [
        juminhyo(100 + i) for i in range(20, 25)
    ]
    with db.connect(DbRole.TERM) as term, pytest.raises(psycopg.errors.InsufficientPrivilege):
        term.execute("SELECT 1 FROM pref.search_result_sets")
    with db.connect(DbRole.FUHYO) as fuhyo, pytest.raises(psycopg.errors.InsufficientPrivilege):
        fuhyo.execute("SELECT 1 FROM pref.search_result_sets")


def test_F1_6_lookup_by_code_and_my_number_with_own_rights_and_log(db: Database, people: None) -> None:
    """Issue 10 item 2: look-up by 住民票コード and (File 1 only) 個人番号, right ``lookup``, one log row
    naming the 住民票コード, never the number typed; File 2 has no 個人番号 look-up."""
    actor = _operator(db)
    number = my_number(500 + 200)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        by_code = record_access.lookup(conn, actor, FileKind.PREF, "juminhyo_code", juminhyo(200))
        by_number = record_access.lookup(conn, actor, FileKind.PREF, "my_number", number)
        assert by_code.juminhyo_code == by_number.juminhyo_code == juminhyo(200)
        with pytest.raises(Refusal) as missing:
            record_access.lookup(conn, actor, FileKind.PREF, "my_number", my_number(999_999))
        assert missing.value.code == "T_RECORD_NOT_FOUND"
        with pytest.raises(Refusal) as malformed:
            record_access.lookup(conn, actor, FileKind.PREF, "juminhyo_code", "12345")
        assert malformed.value.code == "T_SEARCH_INPUT"
        without_right = replace(actor, roles=frozenset({"fuhyo_operator"}))
        with pytest.raises(Refusal) as forbidden:
            record_access.lookup(conn, without_right, FileKind.PREF, "juminhyo_code", juminhyo(200))
        assert forbidden.value.code == "T_FORBIDDEN"
    fuhyo_actor = replace(actor, roles=frozenset({"fuhyo_operator"}))
    with db.connect(DbRole.FUHYO, autocommit=True) as conn, pytest.raises(Refusal) as no_number:
        record_access.lookup(conn, fuhyo_actor, FileKind.FUHYO, "my_number", number)
    assert no_number.value.code == "T_SEARCH_INPUT" and "個人番号がありません" in no_number.value.message_ja
    rows = log_rows(db, "function = 'lookup'")
    assert [(r["outcome"], r["target"]) for r in rows] == [
        ("allow", juminhyo(200)),
        ("allow", juminhyo(200)),
        ("rejected", None),
        ("rejected", "12345"),
        ("deny", juminhyo(200)),
        ("rejected", None),
    ]
    assert all(number not in str(r) for r in log_rows(db))


def test_F1_6_my_number_reveal_and_print_are_logged_outputs(db: Database, people: None) -> None:
    """Issue 10 items 3, 4: the 個人番号 表示 is function ``my_number_view`` and the 照会結果票 function
    ``print`` (an output of that form), each with the 住民票コード as target; a right is needed."""
    actor = _operator(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        shown = record_access.reveal_my_number(conn, actor, FileKind.PREF, juminhyo(200))
        assert shown.current["my_number"] == my_number(700)
        record_access.print_record(conn, actor, FileKind.PREF, juminhyo(200))
        auditor = replace(actor, roles=frozenset({"auditor"}))
        with pytest.raises(Refusal):
            record_access.print_record(conn, auditor, FileKind.PREF, juminhyo(200))
    rows = log_rows(db, "function IN ('my_number_view', 'print')")
    assert [(r["function"], r["outcome"], r["target"], r["detail"].get("output")) for r in rows] == [
        ("my_number_view", "allow", juminhyo(200), None),
        ("print", "allow", juminhyo(200), "照会結果票"),
        ("print", "deny", juminhyo(200), "照会結果票"),  # the attempt names what it would have output
    ]


def test_F1_6_kanji_variants_fold_the_key_only(db: Database, people: None) -> None:
    """Issue 10 item 6: 高橋 finds 髙橋 only with ``kanji_variants``; the hit shows the stored 髙, the
    searched spellings are reported, and the log records that variants were asked for."""
    actor = _operator(db)
    plain = SearchConditions(file=FileKind.PREF, name="高橋　花子", birth_date="3500926")
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        assert search(conn, actor, plain).count == 0
        found = search(conn, actor, replace(plain, kanji_variants=True))
        stored = conn.execute(
            "SELECT name_kanji FROM pref.identity_current WHERE juminhyo_code = %s", (juminhyo(200),)
        ).fetchone()
    assert [h.name_kanji for h in found.hits] == ["髙橋\u3000花子"]
    assert stored == ("髙橋\u3000花子",)  # never folded in storage
    assert found.variant_spellings == ("高橋花子", "髙橋花子")
    rows = log_rows(db, "function = 'search'")
    assert [r["detail"]["conditions"].get("kanji_variants") for r in rows] == [None, True]


def test_F1_6_variant_search_keeps_using_the_name_index(db: Database, people: None) -> None:
    """Issue 10 item 6: at 10k+ rows the variant search is index probes (a BitmapOr of the kanji-name
    index), not a scan."""
    with db.connect() as admin:
        admin.execute(
            """INSERT INTO pref.identity_current
               SELECT (r).* FROM (
                 SELECT jsonb_populate_record(c, jsonb_build_object(
                          'juminhyo_code', lpad((90000000000 + g)::text, 11, '0'),
                          'my_number', NULL,
                          'name_kanji', '試験' || g || '　太郎')) AS r
                 FROM pref.identity_current c, generate_series(1, 12000) g
                 WHERE c.juminhyo_code = %s) s""",
            (juminhyo(200),),
        )
        admin.execute("ANALYZE pref.identity_current")
        admin.commit()
        compiled = compile_search(
            SearchConditions(file=FileKind.PREF, name="高橋　花子", birth_date="1975", kanji_variants=True)
        )
        query, params = compiled.query(101)
        plan = "\n".join(r[0] for r in admin.execute(b"EXPLAIN " + query.as_bytes(admin), params))
        count = admin.execute("SELECT count(*) FROM pref.identity_current").fetchone()
    assert count is not None and count[0] > 10_000
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
