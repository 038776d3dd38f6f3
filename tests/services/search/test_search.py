"""4情報 search and record view (REQUIREMENTS F1-6, F2-6, S-16, S-25; docs/terminals.md "4情報 search").

Persons are registered through the real update ledger (the same path as `juki apply`), searched as
the file's own database role, and every operation's log row is read back from audit.op_log as the
administrator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import psycopg
import pytest

from juki.domain.dates import JukiDate
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access.actor import Actor, Function
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.search.conditions import MINIMUM_RULES, Condition, NameMatch, NamePart, SearchConditions
from juki.services.search.matcher import compile_search, kanji_key
from juki.services.search.service import search, view_record
from juki.store.db import Database, DbRole
from tests.factories import KAMAKURA, TSURUMI, fuhyo_record, juminhyo, notification, pref_record
from tests.services.audit.support import actor as signed_in

TSURUMI_ADDRESS = "神奈川県横浜市鶴見区鶴見中央1丁目1番1号"
KAMAKURA_ADDRESS = "神奈川県鎌倉市御成町2番3号"
FA19_NAME = "\ufa19田\u3000花子"  # U+FA19 神 (CJK compatibility ideograph): must never become U+795E
IVS_NAME = "葛\U000e0100城\u3000一郎"  # 葛 + IVS selector (Moji_Joho)


def pref_actor(db: Database, *roles: str) -> Actor:
    """The searching operator, signed in for real at T-SEARCH: the log takes who searched from the
    live session (migration 0018), so the operator, terminal and session are rows of the term schema."""
    return signed_in(db, "search-tester", "T-SEARCH", roles=frozenset(roles or ("pref_operator",)))


# Set for each test by `_actors` (in the test's own database).
PREF_ACTOR: Actor
FUHYO_ACTOR: Actor


@pytest.fixture(autouse=True)
def _actors(db: Database) -> None:
    global PREF_ACTOR, FUHYO_ACTOR
    PREF_ACTOR = pref_actor(db, "pref_operator")
    FUHYO_ACTOR = replace(PREF_ACTOR, roles=frozenset({"fuhyo_operator"}))


def apply(db: Database, *items: dict[str, Any]) -> None:
    lines = b"\n".join(orjson.dumps(item) for item in items)
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo})
        results = list(applier.apply(iter_lines([lines]), source="test"))
    assert all(r.status == "accepted" for r in results), results


def move_in(n: int, municipality: str = TSURUMI, **record: str) -> dict[str, Any]:
    """Person n moves into the municipality (File 1, default 鶴見区), with the given items."""
    return notification(
        "pref",
        "domestic_move_in",
        juminhyo(n),
        municipality=municipality,
        record=pref_record(n, municipality, **record),
    )


PEOPLE: dict[int, dict[str, str]] = {
    1: {
        "name_kanji": "山田\u3000太郎",
        "name_kana": "ヤマダ\u3000タロウ",
        "birth_date": "1980-04-01",
        "sex": "1",
    },
    2: {
        "name_kanji": "山田\u3000花子",
        "name_kana": "ヤマダ\u3000ハナコ",
        "birth_date": "1982-05-05",
        "sex": "2",
    },
    3: {
        "name_kanji": "加藤\u3000角人",
        "name_kana": "カトウ\u3000カクト",
        "birth_date": "1990-01-15",
        "sex": "1",
    },
    4: {
        "name_kanji": "佐藤\u3000一郎",
        "name_kana": "サトウ\u3000イチロウ",
        "birth_date": "1985",
        "sex": "1",
    },
    5: {
        "name_kanji": "佐藤\u3000二郎",
        "name_kana": "サトウ\u3000ジロウ",
        "birth_date": "1985-03",
        "sex": "1",
    },
    6: {
        "name_kanji": "佐藤\u3000三郎",
        "name_kana": "サトウ\u3000サブロウ",
        "birth_date": "1985-03-04",
        "sex": "1",
    },
    7: {
        "name_kanji": "佐藤\u3000四郎",
        "name_kana": "サトウ\u3000シロウ",
        "birth_date": "1986-03-04",
        "sex": "1",
    },
    8: {
        "name_kanji": "鈴木\u3000次郎",
        "name_kana": "スズキ\u3000ジロウ",
        "birth_date": "1970-07-07",
        "sex": "1",
    },
    9: {"name_kanji": FA19_NAME, "name_kana": "カンダ\u3000ハナコ", "birth_date": "1975-02-02", "sex": "2"},
    10: {
        "name_kanji": IVS_NAME,
        "name_kana": "カツラギ\u3000イチロウ",
        "birth_date": "1960-06-06",
        "sex": "1",
    },
}


@pytest.fixture
def people(db: Database) -> Database:
    """Ten residents of 鶴見区 (one of them then dies: a 消除者), one moves within the ward (history)."""
    apply(db, *(move_in(n, address=TSURUMI_ADDRESS, **items) for n, items in PEOPLE.items()))
    apply(
        db,
        notification("pref", "death", juminhyo(8), change_date="2026-10-02"),
        notification(
            "pref",
            "relocation",
            juminhyo(1),
            record=pref_record(1, address="神奈川県横浜市鶴見区鶴見中央二丁目5番6号", **PEOPLE[1]),
            change_date="2026-10-03",
        ),
    )
    return db


@pytest.fixture
def pref(people: Database) -> Iterator[psycopg.Connection[Any]]:
    with people.connect(DbRole.PREF, autocommit=True) as conn:
        yield conn


def log_rows(db: Database) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT function, file, outcome, target, detail, operator_login, terminal_name"
            " FROM audit.op_log ORDER BY seq"
        ).fetchall()


def codes(result_hits: Any) -> set[str]:
    return {h.juminhyo_code for h in result_hits}


def find(conn: psycopg.Connection[Any], **conditions: Any) -> set[str]:
    return codes(search(conn, PREF_ACTOR, SearchConditions(**conditions)).hits)


# ------------------------------------------------------------------------------ F1-6 conditions


def test_F1_6_kana_exact_and_prefix_with_birth_date(pref: psycopg.Connection[Any]) -> None:
    """F1-6: kana whole name exact (any spacing, hiragana) and prefix, with a birth date."""
    assert find(pref, name="やまだ たろう", birth_date="1980-04-01") == {juminhyo(1)}
    assert find(pref, name="ヤマダタロウ", birth_date="昭和55年4月1日") == {juminhyo(1)}
    assert find(pref, name="ヤマダ", birth_date="1980-04-01") == set()  # exact: the whole name
    assert find(pref, name="ヤマダ", name_match=NameMatch.PREFIX, birth_date="1980") == {juminhyo(1)}
    assert find(pref, name="ﾔﾏﾀﾞ", name_match=NameMatch.PREFIX, birth_date="S57.5.5") == {juminhyo(2)}


def test_F1_6_kana_seion_matching(pref: psycopg.Connection[Any]) -> None:
    """DOMAIN §6: 清音化 — がくと finds カクト, ザトー finds サトウ's key rules (濁点, long vowel)."""
    found = find(
        pref, name="がくと", name_part=NamePart.GIVEN, birth_date="1990-01-15", address="横浜市鶴見区"
    )
    assert found == {juminhyo(3)}
    assert find(pref, name="かどう がくど", birth_date="1990") == {juminhyo(3)}
    assert find(pref, name="さとう", name_part=NamePart.FAMILY, birth_date="1986-03-04") == {juminhyo(7)}


def test_F1_6_kanji_exact_prefix_and_family(pref: psycopg.Connection[Any]) -> None:
    """Kanji names: spaces do not matter, exact / prefix / family part; never a kana fallback."""
    assert find(pref, name="山田太郎", address="横浜市鶴見区") == {juminhyo(1)}
    assert find(pref, name="山田 太郎", address="神奈川県横浜市鶴見区鶴見中央") == {juminhyo(1)}
    assert find(pref, name="山田", name_match=NameMatch.PREFIX, birth_date="1982") == {juminhyo(2)}
    assert find(pref, name="山田", name_part=NamePart.FAMILY, birth_date="1980-04-01") == {juminhyo(1)}
    assert find(pref, name="山", name_part=NamePart.FAMILY, birth_date="1980-04-01") == set()  # exact family
    assert find(
        pref, name="山田", name_part=NamePart.FAMILY, name_match=NameMatch.PREFIX, birth_date="1980-04"
    ) == {juminhyo(1)}


def test_F1_6_given_name_only(pref: psycopg.Connection[Any]) -> None:
    """Given-name-only search (kana and kanji) needs a birth date and an address (S-25)."""
    assert find(pref, name="タロウ", name_part=NamePart.GIVEN, birth_date="1980", address="横浜市") == {
        juminhyo(1)
    }
    assert find(pref, name="太郎", name_part=NamePart.GIVEN, birth_date="1980-04", address="鶴見区") == {
        juminhyo(1)
    }
    assert find(
        pref,
        name="ハナコ",
        name_part=NamePart.GIVEN,
        name_match=NameMatch.PREFIX,
        birth_date="1982",
        address="横浜市",
    ) == {juminhyo(2)}


def test_F1_6_birth_date_forms_and_unknown_parts(pref: psycopg.Connection[Any]) -> None:
    """Birth dates: 和暦/西暦, partial input searches the period, and a stored 不詳 part matches any
    date it could be (1985 and 1985-03 are found by 1985-03-04, not by 1986-03-04)."""
    sato = {"name": "サトウ", "name_part": NamePart.FAMILY}
    assert find(pref, **sato, birth_date="1985-03-04") == {juminhyo(4), juminhyo(5), juminhyo(6)}
    assert find(pref, **sato, birth_date="昭和60年3月") == {juminhyo(4), juminhyo(5), juminhyo(6)}
    assert find(pref, **sato, birth_date="1985年3月上旬") == {juminhyo(4), juminhyo(5), juminhyo(6)}
    assert find(pref, **sato, birth_date="1985年3月下旬") == {juminhyo(4), juminhyo(5)}
    assert find(pref, **sato, birth_date="1985-04") == {juminhyo(4)}
    assert find(pref, **sato, birth_date="1985") == {juminhyo(4), juminhyo(5), juminhyo(6)}
    assert find(pref, **sato, birth_date="1986-03-04") == {juminhyo(7)}
    assert find(pref, **sato, birth_date=JukiDate(1986, 3, 4)) == {juminhyo(7)}
    hits = search(pref, PREF_ACTOR, SearchConditions(**sato, birth_date="1985")).hits  # type: ignore[arg-type]
    assert {h.birth_date for h in hits} == {"1985", "1985-03", "1985-03-04"}
    with pytest.raises(Refusal) as refused:
        find(pref, **sato, birth_date="不詳")
    assert refused.value.code == "T_SEARCH_INPUT"


def test_F1_6_birth_date_sex_and_address(pref: psycopg.Connection[Any]) -> None:
    """No name: a full birth date, sex and address (S-25 rule 3)."""
    assert find(pref, birth_date="1982-05-05", sex="2", address="横浜市鶴見区") == {juminhyo(2)}
    assert find(pref, birth_date="1982-05-05", sex="女", address="鶴見区鶴見中央") == {juminhyo(2)}
    assert find(pref, birth_date="1982-05-05", sex="1", address="横浜市鶴見区") == set()
    assert find(pref, birth_date="1982-05-05", sex="2", address="鎌倉市") == set()


def test_F1_6_address_normalisation(pref: psycopg.Connection[Any]) -> None:
    """DOMAIN §8: 漢数字 丁目, full-width digits, 番地 forms, prefecture and city optional; stored as
    received (1丁目) and found by 一丁目."""
    name = {"name": "山田花子"}
    for address in (
        "横浜市鶴見区鶴見中央一丁目",
        "神奈川県横浜市鶴見区鶴見中央１丁目",
        "鶴見区鶴見中央1丁目1番1号",
        "横浜市鶴見区鶴見中央一丁目1-1",
        "横浜市鶴見区鶴見中央一丁目一番地の一",
    ):
        assert find(pref, **name, address=address) == {juminhyo(2)}, address
    assert find(pref, **name, address="横浜市鶴見区鶴見中央二丁目") == set()
    # Without the municipality the address is a filter only: fine with a name and a birth date.
    assert find(pref, **name, birth_date="1982-05-05", address="鶴見中央一丁目") == {juminhyo(2)}
    assert find(pref, **name, birth_date="1982-05-05", address="豊岡町") == set()


def test_F1_6_ended_persons_only_on_request(pref: psycopg.Connection[Any]) -> None:
    """消除者 (here: died) are left out unless include_ended is set; then they are marked ended."""
    conditions = {"name": "スズキジロウ", "birth_date": "1970-07-07"}
    assert find(pref, **conditions) == set()
    hits = search(pref, PREF_ACTOR, SearchConditions(**conditions, include_ended=True)).hits  # type: ignore[arg-type]
    assert [(h.juminhyo_code, h.ended, h.end_kind) for h in hits] == [(juminhyo(8), True, "death")]


def test_F1_6_U_FA19_and_IVS_names_round_trip(pref: psycopg.Connection[Any]) -> None:
    """Kanji are never normalised: U+FA19 神 is found by itself and comes back byte for byte; the
    unified U+795E 神 does not match it. An IVS is ignored by the match and kept in the result."""
    [hit] = search(pref, PREF_ACTOR, SearchConditions(name="\ufa19田花子", birth_date="1975-02-02")).hits
    assert hit.name_kanji == FA19_NAME and "\ufa19" in hit.name_kanji and "\u795e" not in hit.name_kanji
    assert find(pref, name="\u795e田花子", birth_date="1975-02-02") == set()
    [ivs] = search(pref, PREF_ACTOR, SearchConditions(name="葛城一郎", birth_date="1960")).hits
    assert ivs.name_kanji == IVS_NAME
    assert find(pref, name=IVS_NAME, birth_date="1960-06-06") == {juminhyo(10)}
    assert kanji_key(IVS_NAME) == "葛城一郎" and kanji_key(FA19_NAME) == "\ufa19田花子"


def test_F1_6_results_are_ordered_by_kana_then_birth(pref: psycopg.Connection[Any]) -> None:
    hits = search(
        pref, PREF_ACTOR, SearchConditions(name="サトウ", name_part=NamePart.FAMILY, birth_date="1985")
    ).hits
    assert [h.name_kana for h in hits] == [
        "サトウ\u3000イチロウ",
        "サトウ\u3000サブロウ",
        "サトウ\u3000ジロウ",
    ]


# ------------------------------------------------------------------------------- S-25 and the cap


@pytest.mark.parametrize(
    ("conditions", "missing"),
    [
        ({}, "検索条件が入力されていません"),
        ({"name": "山田太郎"}, "次のいずれかを追加してください: 生年月日／住所"),
        (
            {"name": "ヤマダ", "name_part": NamePart.FAMILY, "address": "横浜市"},
            "生年月日／氏名（氏と名の完全一致）",
        ),
        ({"birth_date": "1980-04-01", "sex": "1"}, "次のいずれかを追加してください: 氏名／住所"),
        ({"birth_date": "1980-04", "sex": "1", "address": "横浜市"}, "氏名／生年月日（年月日）／名"),
        ({"name": "タロウ", "name_part": NamePart.GIVEN, "birth_date": "1980"}, "氏名／住所"),
        ({"name": "ヤマ", "name_match": NameMatch.PREFIX, "birth_date": "1980"}, "かな3文字以上"),
        ({"name": "山", "name_match": NameMatch.PREFIX, "birth_date": "1980"}, "漢字2文字以上"),
        ({"name": "山田太郎", "address": "鶴見中央一丁目"}, "住所は市区町村名から指定してください"),
        ({"address": "横浜市鶴見区", "sex": "1"}, "だけでは検索できません"),
    ],
)
def test_S25_minimum_conditions_unmet_are_refused_with_a_message(
    pref: psycopg.Connection[Any], people: Database, conditions: dict[str, Any], missing: str
) -> None:
    """S-25: the service refuses a search below the minimum conditions, says what is missing in
    Japanese, and logs the refusal (rejected, committed) — one row, no result."""
    before = len(log_rows(people))
    with pytest.raises(Refusal) as refused:
        search(pref, PREF_ACTOR, SearchConditions(**conditions))
    assert refused.value.code == "T_SEARCH_CONDITIONS"
    assert missing in refused.value.message_ja
    assert "必要な組み合わせ: 氏名＋生年月日" in refused.value.message_ja
    rows = log_rows(people)
    assert len(rows) == before + 1
    function, file, outcome, target, detail, *_ = rows[-1]
    assert (function, file, outcome, target) == ("search", "pref", "rejected", None)
    assert detail["refusal"] == "T_SEARCH_CONDITIONS" and "result_count" not in detail


def test_S25_rules_are_data_and_each_rule_alone_is_enough() -> None:
    """The rule table is the single definition; each rule's conditions pass compile_search."""
    examples: dict[frozenset[Condition], SearchConditions] = {
        frozenset({Condition.NAME, Condition.BIRTH}): SearchConditions(
            name="ヤマダ", name_match=NameMatch.PREFIX, birth_date="1980"
        ),
        frozenset({Condition.NAME_FULL, Condition.ADDRESS}): SearchConditions(
            name="山田太郎", address="鎌倉市"
        ),
        frozenset({Condition.BIRTH_FULL, Condition.SEX, Condition.ADDRESS}): SearchConditions(
            birth_date="1980-01-01", sex="1", address="鎌倉市"
        ),
        frozenset({Condition.GIVEN_NAME, Condition.BIRTH, Condition.ADDRESS}): SearchConditions(
            name="タロウ", name_part=NamePart.GIVEN, birth_date="1980", address="鎌倉市"
        ),
    }
    assert {rule.requires for rule in MINIMUM_RULES} == set(examples)
    for required, conditions in examples.items():
        assert required <= compile_search(conditions).present


@pytest.mark.parametrize(
    "conditions",
    [
        {"name": "山田太郎", "birth_date": "1980-13-01"},
        {"name": "山田太郎", "birth_date": "1980-01-01", "sex": "3"},
        {"name": "山田太郎", "birth_date": "平成40年1月1日"},
    ],
)
def test_S25_malformed_conditions_are_refused(
    pref: psycopg.Connection[Any], conditions: dict[str, str]
) -> None:
    with pytest.raises(Refusal) as refused:
        search(pref, PREF_ACTOR, SearchConditions(**conditions))  # type: ignore[arg-type]
    assert refused.value.code == "T_SEARCH_INPUT"


def test_F1_6_more_than_the_cap_is_refused_without_personal_data(db: Database) -> None:
    """Over the cap (cap + 1 fetched): T_SEARCH_TOO_MANY, logged as rejected with no count and no
    names; at exactly the cap the list comes back."""
    same = {
        "name_kanji": "田中\u3000一",
        "name_kana": "タナカ\u3000ハジメ",
        "birth_date": "1999-09-09",
        "sex": "1",
    }
    apply(db, *(move_in(n, address=KAMAKURA_ADDRESS, municipality=KAMAKURA, **same) for n in range(20, 24)))
    conditions = SearchConditions(name="たなか はじめ", birth_date="1999-09-09")
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        with pytest.raises(Refusal) as refused:
            search(conn, PREF_ACTOR, conditions, limit=3)
        assert refused.value.code == "T_SEARCH_TOO_MANY"
        assert len(search(conn, PREF_ACTOR, conditions, limit=4).hits) == 4
    rejected, allowed = log_rows(db)[-2:]
    assert rejected[2] == "rejected" and rejected[4]["refusal"] == "T_SEARCH_TOO_MANY"
    assert rejected[4]["result_count"] is None and rejected[4]["cap"] == 3
    assert allowed[2] == "allow" and allowed[4]["result_count"] == 4


# ---------------------------------------------------------------------------------- rights, view


def test_S16_every_search_and_view_leaves_exactly_one_log_row(
    pref: psycopg.Connection[Any], people: Database
) -> None:
    """S-16: one row per search / view / refusal, with the operator, terminal, conditions and count."""
    before = len(log_rows(people))
    result = search(pref, PREF_ACTOR, SearchConditions(name="山田太郎", birth_date="1980-04-01"))
    view = view_record(pref, PREF_ACTOR, FileKind.PREF, juminhyo(1))
    with pytest.raises(Refusal):
        view_record(pref, PREF_ACTOR, FileKind.PREF, juminhyo(99))
    with pytest.raises(Refusal):
        view_record(pref, PREF_ACTOR, FileKind.PREF, "12345")
    rows = log_rows(people)[before:]
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("search", "allow", None),
        ("view_record", "allow", juminhyo(1)),
        ("view_record", "rejected", juminhyo(99)),
        ("view_record", "rejected", "12345"),
    ]
    search_row = rows[0]
    assert search_row[4]["conditions"] == {
        "file": "pref",
        "name": "山田太郎",
        "name_match": "exact",
        "name_part": "full",
        "birth_date": "1980-04-01",
        "include_ended": False,
    }
    assert search_row[4]["result_count"] == 1 and search_row[5:] == ("search-tester", "T-SEARCH")
    assert rows[1][4]["versions"] == 2 and rows[2][4]["refusal"] == "T_RECORD_NOT_FOUND"
    assert result.log_id < view.log_id


def test_S16_a_denied_search_is_logged_as_deny(pref: psycopg.Connection[Any], people: Database) -> None:
    """The permission matrix: a File 2 operator may not search File 1 (T_FORBIDDEN, logged as deny)."""
    before = len(log_rows(people))
    with pytest.raises(Refusal) as refused:
        search(pref, FUHYO_ACTOR, SearchConditions(name="山田太郎", birth_date="1980-04-01"))
    assert refused.value.code == "T_FORBIDDEN"
    with pytest.raises(Refusal):
        view_record(pref, FUHYO_ACTOR, FileKind.PREF, juminhyo(1))
    rows = log_rows(people)[before:]
    assert [(r[0], r[2]) for r in rows] == [("search", "deny"), ("view_record", "deny")]
    assert rows[0][4]["conditions"]["name"] == "山田太郎"


def test_F1_6_view_record_with_history_newest_first(pref: psycopg.Connection[Any]) -> None:
    """The record view: the current version, then every earlier one, newest first; the derived
    search keys are not shown; an ended record can be opened."""
    view = view_record(pref, PREF_ACTOR, FileKind.PREF, juminhyo(1))
    assert [v.version for v in view.versions] == [2, 1]
    assert view.current.is_current and not view.history[0].is_current
    assert view.current["address"] == "神奈川県横浜市鶴見区鶴見中央二丁目5番6号"
    assert view.history[0]["address"] == TSURUMI_ADDRESS
    assert view.history[0].superseded_at is not None
    assert "address_key" not in view.current.items and "seion_kana" in view.current.items
    ended = view_record(pref, PREF_ACTOR, FileKind.PREF, "０" + juminhyo(8)[1:])  # full-width digit
    assert ended.current["status"] == "ended" and ended.current["end_kind"] == "death"
    assert [v.version for v in ended.versions] == [2, 1]


# ------------------------------------------------------------------------------------ F2-6 File 2


def test_F2_6_search_and_view_of_file_2(db: Database) -> None:
    """F2-6: the same search over File 2 (附票), as the fuhyo role; a File 1 operator may not."""
    code = juminhyo(40)
    record = fuhyo_record(
        name_kanji="髙橋\u3000美咲",
        name_kana="タカハシ\u3000ミサキ",
        birth_date="1995-12-24",
        sex="2",
        address="東京都千代田区丸の内一丁目1番1号",
        address_municipality_code="131016",
    )
    apply(
        db,
        notification(
            "fuhyo", "birth", code, record={**record, "birth_date": "2026-09-01"}, change_date="2026-09-01"
        ),
    )
    apply(db, notification("fuhyo", "ex_officio_correction", code, record=record))
    conditions = SearchConditions(file=FileKind.FUHYO, name="たかはし みさき", address="千代田区丸の内")
    with db.connect(DbRole.FUHYO, autocommit=True) as conn:
        [hit] = search(conn, FUHYO_ACTOR, conditions).hits
        assert (hit.juminhyo_code, hit.name_kanji, hit.status) == (code, "髙橋\u3000美咲", "domestic")
        assert codes(
            search(
                conn, FUHYO_ACTOR, SearchConditions(file=FileKind.FUHYO, name="髙橋美咲", birth_date="1995")
            ).hits
        ) == {code}
        assert (
            search(
                conn, FUHYO_ACTOR, SearchConditions(file=FileKind.FUHYO, name="高橋美咲", birth_date="1995")
            ).hits
            == ()
        )
        view = view_record(conn, FUHYO_ACTOR, FileKind.FUHYO, code)
        assert [v.version for v in view.versions] == [2, 1] and view.history[0]["birth_date"] == "2026-09-01"
        with pytest.raises(Refusal) as refused:
            search(conn, PREF_ACTOR, conditions)
        assert refused.value.code == "T_FORBIDDEN"
    rows = log_rows(db)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("search", "fuhyo", "allow"),
        ("search", "fuhyo", "allow"),
        ("search", "fuhyo", "allow"),
        ("view_record", "fuhyo", "allow"),
        ("search", "fuhyo", "deny"),
    ]


def test_F1_6_a_failing_search_still_leaves_one_error_row(db: Database) -> None:
    """A connection of the wrong role (juki_fuhyo on File 1) fails in the database: the caller gets
    the error and the log still gets its one row (outcome error)."""
    with (
        db.connect(DbRole.FUHYO, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        search(conn, PREF_ACTOR, SearchConditions(name="山田太郎", birth_date="1980-04-01"))
    [row] = log_rows(db)
    assert (row[0], row[2], row[4]["error"]) == ("search", "error", "InsufficientPrivilege")


def test_search_functions_are_those_of_the_matrix() -> None:
    assert Function.SEARCH.value == "search" and Function.VIEW_RECORD.value == "view_record"
