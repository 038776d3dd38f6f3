"""The set-based 4情報 match of bulk provision is the one matcher's rule (F1-2b, F1-2, S-27): for every
query, `basic4_join` over a table of prepared keys finds exactly the persons `basic4_where` finds."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import Connection, sql

from juki.services.jlis.client import Basic4, basic4_keys
from juki.services.search.matcher import (
    BASIC4_KEY_COLUMNS,
    Basic4Keys,
    basic4_join,
    basic4_join_parts,
    basic4_key_row,
    basic4_where,
)
from juki.store.db import Database, DbRole
from tests.factories import KAMAKURA, apply_accepted, born

QUERIES = [
    Basic4(name_kana="ヤマダ タロウ", birth_date="2026-09-01"),
    Basic4(name_kana="やまだ　たろう", birth_date="2026"),
    Basic4(name_kana="ヤマダタロウ", birth_date="令和8年9月"),
    Basic4(name_kana="ヤマダ タロウ", address="横浜市鶴見区"),
    Basic4(name_kana="ヤマダ タロウ", address="豊岡町"),
    Basic4(name_kana="ヤマダ タロウ", address="神奈川県鎌倉市"),
    Basic4(name_kana="ヤマダ タロウ", birth_date="2026-09-01", sex="2"),
    Basic4(name_kana="ｻﾄｳ ﾊﾅｺ", birth_date="2026-09-01", sex="2"),
    Basic4(name_kana="サトオ ハナコ", birth_date="2026-09-01"),  # サトウ≈サトオ is not in the stored key
    Basic4(name_kana="ガクト", birth_date="1999-01-01"),
]


def _key_table(conn: Connection[Any], keys: Basic4Keys) -> None:
    """A temporary table ``k`` of prepared keys holding ``keys`` (as bulk provision stages them)."""
    conn.execute(
        'CREATE TEMP TABLE k (seion text COLLATE "C", birth_lo integer, birth_hi integer, sex text,'
        ' address_patterns text[] COLLATE "C") ON COMMIT DROP'
    )
    conn.execute(
        sql.SQL("INSERT INTO k ({}) VALUES (%s, %s, %s, %s, %s)").format(
            sql.SQL(", ").join(map(sql.Identifier, BASIC4_KEY_COLUMNS))
        ),
        basic4_key_row(keys),
    )


@pytest.fixture
def people(db: Database) -> None:
    apply_accepted(
        db,
        born(1),
        born(2),
        born(3, KAMAKURA, address="神奈川県鎌倉市御成町1番1号"),
        born(4, name_kanji="山田　花子", name_kana="ヤマダ　タロウ", sex="2"),
        born(5, name_kanji="佐藤　花子", name_kana="サトウ　ハナコ", sex="2"),
    )


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.name_kana}|{q.birth_date}|{q.sex}|{q.address}")
def test_f1_2b_the_bulk_join_finds_what_the_single_search_finds(
    db: Database, people: None, query: Basic4
) -> None:
    """F1-2b: one prepared-key row joined with the file gives the same persons as the single query."""
    keys = basic4_keys(query)
    where, params = basic4_where(keys)
    with db.connect(DbRole.PREF, autocommit=True) as conn, conn.transaction():
        single = {
            r[0]
            for r in conn.execute(
                sql.SQL(
                    "SELECT juminhyo_code FROM pref.identity_current WHERE status = 'present' AND {}"
                ).format(where),
                params,
            )
        }
        _key_table(conn, keys)
        joined = {
            r[0]
            for r in conn.execute(
                sql.SQL(
                    "SELECT c.juminhyo_code FROM k JOIN pref.identity_current c ON {} WHERE c.status = 'present'"
                ).format(basic4_join("k", "c"))
            )
        }
    assert joined == single
    if query.name_kana not in (
        "ガクト",
        "サトオ ハナコ",
    ):  # the others find somebody: not an empty comparison
        assert single


def test_f1_2b_a_bulk_row_must_name_the_whole_name_exactly() -> None:
    """F1-2b, S-27: a prefix or a name part is a search, not the identification of one person."""
    with pytest.raises(ValueError):
        basic4_key_row(basic4_keys(Basic4(family_kana="ヤマダ", birth_date="2026-09-01")))


PART_QUERIES = [
    *QUERIES,
    Basic4(name_kana="ヤマダ タロウ", birth_date="2026", address="横浜市鶴見区"),
    Basic4(name_kana="ヤマダ タロウ", address="横浜市鶴見区豊岡町_1%"),  # LIKE's own characters, escaped
    Basic4(name_kana="ヤマダ タロウ", address="横浜市\\鶴見区"),
]


@pytest.mark.parametrize(
    "query", PART_QUERIES, ids=lambda q: f"{q.name_kana}|{q.birth_date}|{q.sex}|{q.address}"
)
def test_f1_2b_the_split_join_is_the_one_join(db: Database, people: None, query: Basic4) -> None:
    """F1-2b at 10M: the join split by the key rows' shape (`basic4_join_parts`, for the index) finds
    exactly what `basic4_join` finds, each key row in exactly one part."""
    keys = basic4_keys(query)
    with db.connect(DbRole.PREF, autocommit=True) as conn, conn.transaction():
        _key_table(conn, keys)

        def found(which: sql.Composable, on: sql.Composable) -> set[str]:
            query_sql = sql.SQL(
                "SELECT c.juminhyo_code FROM k JOIN pref.identity_current c ON {} WHERE c.status = 'present'"
                " AND ({})"
            ).format(on, which)
            return {r[0] for r in conn.execute(query_sql)}

        whole = found(sql.SQL("true"), basic4_join("k", "c"))
        parts = basic4_join_parts("k", "c")
        owners = [
            which
            for which, _ in parts
            if conn.execute(sql.SQL("SELECT count(*) FROM k WHERE {}").format(which)).fetchone() == (1,)
        ]
        split: set[str] = set().union(*(found(which, on) for which, on in parts))
    assert len(owners) == 1, "each key row belongs to exactly one part"
    assert split == whole
