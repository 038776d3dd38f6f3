"""The legal-basis catalog (F1-2, F2-2, S-28, A-15; LEGAL.md §1–2) and its four-eyes changes (S-12)."""

from __future__ import annotations

import json
from datetime import date

import psycopg
import pytest

from juki.config import Settings
from juki.domain.provision import KeyType, LegalPath, Method, RequesterKind, ResultCode
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.provision import catalog_changes
from juki.services.provision.catalog import CatalogError, load_catalog, parse_toml, shipped_text
from tests.services.access.support import Conn, System, log_rows, second_admin

TODAY = date(2026, 12, 5)


def test_shipped_example_is_version_1_in_a_new_database(pref_conn: Conn, admin_conn: Conn) -> None:
    """The migration's seed is exactly juki/data/provision_catalog.toml, and every entry is an example."""
    row = admin_conn.execute("SELECT content::text FROM provision.catalog_proposals WHERE id = 1").fetchone()
    assert row is not None
    assert json.loads(row[0]) == parse_toml(shipped_text())
    catalog = load_catalog(pref_conn)
    assert catalog.version == 1
    assert all(r.example for r in catalog.requesters.values())
    assert all(t.example for t in catalog.tasks.values())
    kyoiku = catalog.task("kyoiku", "tokubetsu-shien")
    assert kyoiku is not None and kyoiku.requester.kind is RequesterKind.ORGAN
    assert kyoiku.name == "特別支援学校への就学のため必要な経費の支弁に関する事務"
    assert (
        kyoiku.legal_path_label(FileKind.PREF)
        == "住基法第30条の15第2項第1号（別表第六に掲げる執行機関・事務）"
    )


def test_F1_2_no_task_provides_the_resident_code(pref_conn: Conn) -> None:
    """LEGAL.md §1: provision and transfer never include 住民票コード; items stay within D1-PS / D2-PS."""
    catalog = load_catalog(pref_conn)
    for task in catalog.tasks.values():
        for items in task.items.values():
            assert "juminhyo_code" not in items
    bad = shipped_text().replace(
        'items.pref = ["name_kanji", "birth_date", "address"]', 'items.pref = ["juminhyo_code", "name_kanji"]'
    )
    with pytest.raises(CatalogError, match="提供できない項目"):
        parse_toml(bad)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('legal_path = "own_use_2"', 'legal_path = "provision_2"', "種別では使えません"),
        (
            'methods = ["screen", "media", "line"]\nmy_number_addon = true',
            'methods = ["paper"]\nmy_number_addon = true',
            "使える提供方法がありません",
        ),
        (
            "my_number_addon = false\nvalid_from = 2010-04-01",
            "my_number_addon = true\nvalid_from = 2010-04-01",
            "附票本人確認情報の事務にのみ",
        ),
        (
            'keys = ["basic4", "resident_code"]\nmethods = ["screen", "media", "line"]\nmy_number_addon = true',
            'keys = ["name"]\nmethods = ["screen", "media", "line"]\nmy_number_addon = true',
            "未定義の値",
        ),
    ],
)
def test_F2_2_catalog_rules_are_enforced_when_parsed(old: str, new: str, message: str) -> None:
    """A-15: legal path fits the requester's kind; File 2 has no paper; the 個人番号 add-on only on File 2."""
    text = shipped_text()
    assert old in text
    with pytest.raises(CatalogError, match=message):
        parse_toml(text.replace(old, new, 1))


def test_F1_2_check_refuses_key_method_file_and_validity(pref_conn: Conn) -> None:
    catalog = load_catalog(pref_conn)
    kyoiku = catalog.task("kyoiku", "tokubetsu-shien")
    old = catalog.task("kyoiku", "shugaku-shien-kyu")
    zeimu = catalog.task("zeimu", "kenzei-kokugai")
    assert kyoiku and old and zeimu
    assert catalog.check(kyoiku, FileKind.PREF, KeyType.BASIC4, Method.SCREEN, TODAY) is None
    assert (
        catalog.check(kyoiku, FileKind.PREF, KeyType.RESIDENT_CODE, Method.SCREEN, TODAY)
        is ResultCode.KEY_NOT_ALLOWED
    )
    assert (
        catalog.check(kyoiku, FileKind.PREF, KeyType.BASIC4, Method.LINE, TODAY)
        is ResultCode.METHOD_NOT_ALLOWED
    )
    assert (
        catalog.check(kyoiku, FileKind.FUHYO, KeyType.BASIC4, Method.SCREEN, TODAY)
        is ResultCode.NOT_PERMITTED
    )
    assert catalog.check(old, FileKind.PREF, KeyType.BASIC4, Method.SCREEN, TODAY) is ResultCode.NOT_PERMITTED
    assert catalog.check(old, FileKind.PREF, KeyType.BASIC4, Method.SCREEN, date(2019, 1, 1)) is None
    # File 2: no 個人番号 key (File 2 holds none), no paper.
    assert zeimu.keys_for(FileKind.FUHYO) == (KeyType.RESIDENT_CODE, KeyType.BASIC4)
    assert Method.PAPER not in zeimu.methods_for(FileKind.FUHYO)
    assert zeimu.legal_path is LegalPath.OWN_USE_1
    assert zeimu.legal_path_label(FileKind.FUHYO).startswith("住基法第30条の44の6第1項第1号")


def test_catalog_change_needs_a_second_administrator_and_is_logged(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """S-12 for A-15: one administrator proposes, the same one cannot approve, another one can; every
    step (refusal included) is in the operation log; the new version is in force at once."""
    admin2 = second_admin(conn, settings, system)
    text = shipped_text().replace('name = "総務局 税務指導課"', 'name = "総務局 税務課"')
    proposal = catalog_changes.propose(conn, text, "組織改正による名称変更", system.admin)
    with pytest.raises(Refusal) as own:
        catalog_changes.approve(conn, proposal, system.admin)
    assert own.value.code == "T_RIGHTS_SELF_APPROVAL"
    assert load_catalog(pref_conn).version == 1
    assert catalog_changes.approve(conn, proposal, admin2) == proposal
    catalog = load_catalog(pref_conn)
    assert catalog.version == proposal
    zeimu = catalog.requester("zeimu")
    assert zeimu is not None and zeimu.name == "総務局 税務課"
    events = [
        (r["detail"]["event"], r["outcome"])
        for r in log_rows(admin_conn, function="rights_admin")
        if r["detail"]["event"].startswith("catalog")
    ]
    assert events == [("catalog_propose", "allow"), ("catalog_approve", "deny"), ("catalog_approve", "allow")]
    # A proposal made from version 1 can no longer be approved: it would undo the approved change.
    stale = catalog_changes.approve
    late = admin_conn.execute(
        "INSERT INTO provision.catalog_proposals (content, reason, base_version, proposed_by, proposed_by_login)"
        " SELECT content, 'old', 1, %s, 'admin1' FROM provision.catalog_proposals WHERE id = 1 RETURNING id",
        (system.admin.operator_id,),
    ).fetchone()
    assert late is not None
    with pytest.raises(Refusal) as refused:
        stale(conn, int(late[0]), admin2)
    assert refused.value.code == "T_CATALOG_STATE"


def test_catalog_rows_are_append_only_and_four_eyes_holds_in_the_database(
    conn: Conn, pref_conn: Conn, settings: Settings, system: System
) -> None:
    """Even past the service: no role rewrites a version, the file roles cannot propose, and the
    database refuses a self-approval."""
    proposal = catalog_changes.propose(conn, shipped_text(), "同内容の再承認", system.admin)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE provision.catalog_proposals SET reason = 'x' WHERE id = 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO provision.catalog_decisions (proposal_id, decision, decided_by, decided_by_login)"
            " VALUES (%s, 'approved', %s, 'admin1')",
            (proposal, system.admin.operator_id),
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pref_conn.execute(
            "INSERT INTO provision.catalog_proposals (content, reason, proposed_by_login) VALUES ('{}', 'x', 'x')"
        )


def test_invalid_proposal_is_refused_with_its_reason(conn: Conn, admin_conn: Conn, system: System) -> None:
    with pytest.raises(Refusal) as refused:
        catalog_changes.propose(conn, "[[requester]]\ncode = 1", "テスト", system.admin)
    assert refused.value.code == "T_CATALOG_INVALID"
    rows = [
        r for r in log_rows(admin_conn, function="rights_admin") if r["detail"]["event"] == "catalog_propose"
    ]
    assert [r["outcome"] for r in rows] == ["rejected"]
