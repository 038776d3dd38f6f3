"""Single provision and transfer (F1-2, F2-2, S-21, S-22, S-27, S-29) against a real PostgreSQL and,
for persons of other prefectures, the 全国サーバ simulator over mTLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from juki.config import Settings
from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.peers.national import NationalKind, other_prefecture_person
from juki.services.access.actor import Actor
from juki.services.jlis.communication_records import query_log
from juki.services.jlis.relay import Peer
from juki.services.provision import records
from juki.services.provision.catalog import load_catalog
from juki.services.provision.single import ProvisionRequest, provide
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster
from tests.peers.national_support import Certs, Sim, running_simulator
from tests.services.access.support import Conn, System, log_rows
from tests.services.provision.support import PEOPLE, SATO, by_basic4, populate, requester_operator


@pytest.fixture
def kyoiku(db: Database, conn: Conn, settings: Settings, system: System) -> Actor:
    populate(db)
    return requester_operator(conn, settings, system, "kyoiku1", "provision_operator@kyoiku")


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        assert pair[0].seed_other_prefectures(50, 1) == 50
        yield pair


def _records(admin_conn: Conn) -> list[tuple[object, ...]]:
    return admin_conn.execute(
        "SELECT requester_code, task_code, key_type, method, juminhyo_code, items, result_code, reason,"
        " operator_login, op_log_seq IS NOT NULL FROM pref.provision_record ORDER BY id"
    ).fetchall()


def test_F1_2_S27_S21_one_exact_match_is_provided_with_only_the_tasks_items(
    kyoiku: Actor, pref_conn: Conn, admin_conn: Conn
) -> None:
    """F1-2 / S-27: one person identified by the 4情報 gets exactly the task's items (never 住民票コード);
    S-21: the provision is recorded (operator, terminal, requester, legal basis, items) with its
    operation-log row in the same transaction."""
    sato = PEOPLE["sato"]
    result = provide(pref_conn, kyoiku, by_basic4(FileKind.PREF, "kyoiku", "tokubetsu-shien", sato))
    assert result.result is ResultCode.MATCH and result.provided
    task = load_catalog(pref_conn).task("kyoiku", "tokubetsu-shien")
    assert task is not None
    assert [i.column for i in result.items] == list(task.items[FileKind.PREF])
    assert "juminhyo_code" not in [i.column for i in result.items]
    assert all(SATO not in i.value for i in result.items)
    values = {i.column: i.value for i in result.items}
    assert values["name_kanji"] == sato.name_kanji and values["birth_date"] == sato.birth_date
    assert values["my_number"]  # the task is a 番号法 task of File 1: D1-PS includes the number
    assert result.legal_basis.startswith("住基法第30条の15第2項第1号") and result.source == "local"
    (record,) = records.provisions_of(pref_conn, FileKind.PREF, SATO)
    assert record.items == list(task.items[FileKind.PREF]) and record.operator_login == "kyoiku1"
    assert record.op_log_seq == result.log_id
    (row,) = log_rows(admin_conn, seq=result.log_id)
    assert (row["function"], row["outcome"], row["target"], row["operator_login"]) == (
        "provision",
        "allow",
        SATO,
        "kyoiku1",
    )
    assert row["detail"]["result"] == "P_MATCH" and row["detail"]["requester"] == "kyoiku"
    assert row["detail"]["conditions"] == {
        "name_kana": sato.name_kana,
        "name_part": "full",
        "name_match": "exact",
        "birth_date": sato.birth_date,
    }


def test_S27_S22_no_match_several_key_not_allowed_expired_and_wrong_requester_are_refused_and_recorded(
    kyoiku: Actor, pref_conn: Conn, admin_conn: Conn, national: Sim, certs: Certs
) -> None:
    """S-27: never a list to choose from; S-22: every refusal where processing ran is recorded with its
    code and has an operation-log row; nothing is given."""
    _sim, running = national
    peer = lambda: Peer(running.url, certs.client_ctx(certs.pref_server))  # noqa: E731
    yamada = PEOPLE["sato"].__class__("", "山田　太郎", "ヤマダ　タロウ", "1980-04-01")
    nobody = PEOPLE["sato"].__class__("", "存在　しない", "ソンザイ　シナイ", "1999-09-09")

    def ask(request: ProvisionRequest) -> tuple[ResultCode, str]:
        result = provide(
            pref_conn, kyoiku, request, records_conn=pref_conn, peer=peer, today=date(2026, 12, 5)
        )
        assert result.items == ()
        return result.result, result.reason

    task = ("kyoiku", "tokubetsu-shien")
    assert ask(by_basic4(FileKind.PREF, *task, yamada)) == (ResultCode.AMBIGUOUS, "local")
    assert ask(by_basic4(FileKind.PREF, *task, nobody)) == (ResultCode.NOT_FOUND, "")
    by_code = ProvisionRequest(
        FileKind.PREF, *task, KeyType.RESIDENT_CODE.value, "screen", juminhyo_code=SATO
    )
    assert ask(by_code) == (ResultCode.KEY_NOT_ALLOWED, "key")
    assert ask(by_basic4(FileKind.PREF, *task, PEOPLE["sato"], Method.LINE)) == (
        ResultCode.METHOD_NOT_ALLOWED,
        "method",
    )
    expired = by_basic4(FileKind.PREF, "kyoiku", "shugaku-shien-kyu", PEOPLE["sato"])
    assert ask(expired) == (ResultCode.NOT_PERMITTED, "validity")
    assert ask(by_basic4(FileKind.PREF, "koan", "unten-menkyo", PEOPLE["sato"])) == (
        ResultCode.NOT_PERMITTED,
        "requester",
    )
    name_only = ProvisionRequest(FileKind.PREF, *task, "basic4", "screen", name_kana="サトウ　イチロウ")
    assert ask(name_only) == (ResultCode.INVALID, "E_QUERY_CONDITIONS")
    rows = _records(admin_conn)
    assert [r[6] for r in rows] == [
        "P_AMBIGUOUS",
        "P_NOT_FOUND",
        "P_KEY_NOT_ALLOWED",
        "P_METHOD_NOT_ALLOWED",
        "P_NOT_PERMITTED",
        "P_NOT_PERMITTED",
        "P_INVALID",
    ]
    assert all(r[5] == [] and r[8] == "kyoiku1" and r[9] for r in rows)
    assert rows[5][0] == "koan"  # the refusal names the requester the operator tried to act for
    outcomes = [r["outcome"] for r in log_rows(admin_conn, function="provision")]
    assert outcomes == ["rejected", "rejected", "rejected", "rejected", "deny", "deny", "rejected"]


def test_F1_2_a_person_of_another_prefecture_is_asked_of_the_national_server(
    db: Database, conn: Conn, settings: Settings, system: System, pref_conn: Conn, national: Sim, certs: Certs
) -> None:
    """F1-2 (L385): nobody in the prefecture's file → the 全国サーバ is asked (communication record
    naming the operator and function F1-2); its one match is provided with the task's items."""
    _sim, running = national
    koan = requester_operator(conn, settings, system, "koan1", "provision_operator@koan")
    person = other_prefecture_person(1, 7)
    with db.connect(DbRole.PREF, autocommit=True) as records_conn:
        result = provide(
            pref_conn,
            koan,
            ProvisionRequest(
                FileKind.PREF,
                "koan",
                "unten-menkyo",
                "resident_code",
                "screen",
                juminhyo_code=person["juminhyo_code"],
            ),
            records_conn=records_conn,
            peer=lambda: Peer(running.url, certs.client_ctx(certs.pref_server)),
        )
    assert (result.result, result.source) == (ResultCode.MATCH, "national")
    assert {i.column: i.value for i in result.items}["address"] == person["address"]
    assert "my_number" not in [i.column for i in result.items]  # not among this task's items
    (comm,) = query_log(pref_conn, FileKind.PREF)
    assert (comm["function"], comm["operator_id"]) == ("F1-2", "koan1")
    (record,) = records.provisions_of(pref_conn, FileKind.PREF, person["juminhyo_code"])
    assert record.source == "national" and record.provided


def test_an_operator_who_acts_for_no_requester_is_refused_before_anything_runs(
    pref_conn: Conn, admin_conn: Conn, conn: Conn, settings: Settings, system: System
) -> None:
    with pytest.raises(Refusal) as refused:
        provide(
            pref_conn, system.admin, by_basic4(FileKind.PREF, "kyoiku", "tokubetsu-shien", PEOPLE["sato"])
        )
    assert refused.value.code == "T_FORBIDDEN"
    assert _records(admin_conn) == []
    assert [r["outcome"] for r in log_rows(admin_conn, function="provision")] == ["deny"]


def test_S29_media_output_only_from_a_representative_or_bulk_enabled_terminal(
    kyoiku: Actor, pref_conn: Conn
) -> None:
    """S-29: the same request by media is refused at a plain 業務端末, allowed at the 代表端末."""
    from dataclasses import replace

    from juki.services.access.actor import TerminalKind

    request = by_basic4(FileKind.PREF, "kyoiku", "tokubetsu-shien", PEOPLE["sato"], Method.MEDIA)
    business = replace(kyoiku, terminal_kind=TerminalKind.BUSINESS, bulk_enabled=False)
    refused = provide(pref_conn, business, request)
    assert (refused.result, refused.reason) == (ResultCode.METHOD_NOT_ALLOWED, "terminal")
    assert provide(pref_conn, kyoiku, request).result is ResultCode.MATCH


def test_F2_2_S27_file_2_provision_is_only_about_persons_abroad(
    db: Database,
    conn: Conn,
    settings: Settings,
    system: System,
    fuhyo_conn: Conn,
    admin_conn: Conn,
    fuhyo_national: Sim,
    certs: Certs,
) -> None:
    """LEGAL.md §1 (第30条の44の6): File 2 is provided only for tasks about 国外転出者. The 国外転出者 鈴木
    is given; the domestic 高橋 — by 4情報 or by 住民票コード — is 該当なし exactly as nobody would be
    (S-27: nothing more revealed), recorded with its reason (S-22) and never asked of the 附票全国サーバ;
    a domestic person of another prefecture that the 附票全国サーバ holds is 該当なし too."""
    sim, running = fuhyo_national
    assert sim.seed_other_prefectures(3, 1) == 3
    populate(db)
    koan = requester_operator(conn, settings, system, "koan1", "provision_operator@koan")
    task = ("koan", "unten-menkyo")
    with db.connect(DbRole.FUHYO, autocommit=True) as records_conn:

        def ask(request: ProvisionRequest) -> tuple[ResultCode, str, str | None]:
            result = provide(
                fuhyo_conn,
                koan,
                request,
                records_conn=records_conn,
                peer=lambda: Peer(running.url, certs.client_ctx(certs.fuhyo_server)),
            )
            assert result.provided or result.items == ()
            return result.result, result.reason, result.source

        assert ask(by_basic4(FileKind.FUHYO, *task, PEOPLE["suzuki"])) == (ResultCode.MATCH, "", "local")
        takahashi = PEOPLE["takahashi"]
        assert ask(by_basic4(FileKind.FUHYO, *task, takahashi)) == (
            ResultCode.NOT_FOUND,
            "not_subject",
            "local",
        )
        by_code = ProvisionRequest(
            FileKind.FUHYO, *task, KeyType.RESIDENT_CODE.value, "screen", juminhyo_code=takahashi.code
        )
        assert ask(by_code) == (ResultCode.NOT_FOUND, "not_subject", "local")
        assert query_log(fuhyo_conn, FileKind.FUHYO) == []  # our own domestic person: J-LIS not asked
        other = other_prefecture_person(1, 2)
        elsewhere = ProvisionRequest(
            FileKind.FUHYO, *task, KeyType.RESIDENT_CODE.value, "screen", juminhyo_code=other["juminhyo_code"]
        )
        assert ask(elsewhere) == (ResultCode.NOT_FOUND, "not_subject", "national")
        (comm,) = query_log(fuhyo_conn, FileKind.FUHYO)
        assert (comm["function"], comm["outcome"]) == ("F2-2", "found")
    rows = admin_conn.execute(
        "SELECT result_code, reason, juminhyo_code, items, source FROM fuhyo.provision_record ORDER BY id"
    ).fetchall()
    assert rows == [
        ("P_MATCH", "", PEOPLE["suzuki"].code, ["name_kanji", "address", "birth_date", "sex"], "local"),
        ("P_NOT_FOUND", "not_subject", None, [], "local"),
        ("P_NOT_FOUND", "not_subject", None, [], "local"),
        ("P_NOT_FOUND", "not_subject", None, [], "national"),
    ]
