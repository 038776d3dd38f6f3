"""Bulk rows our file does not answer are asked of J-LIS, like single provision (F1-2b, L385): the
全国サーバ simulator over mTLS, its communication records, and 照会先応答なし when it cannot be asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.peers.national import NationalKind, other_prefecture_person
from juki.services.jlis.communication_records import query_log
from juki.services.jlis.relay import Peer
from juki.services.provision.bulk import service
from juki.services.provision.bulk.national import NationalAccess
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster
from tests.factories import apply_accepted, juminhyo
from tests.peers.national_support import Certs, Sim, running_simulator
from tests.services.access.support import Conn, System, log_rows
from tests.services.provision.bulk.support import population, read_result, request, requester_actor, store_of

PREF = FileKind.PREF


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        assert pair[0].seed_other_prefectures(20, 1) == 20
        yield pair


def _access(db: Database, url: str, certs: Certs) -> NationalAccess:
    return NationalAccess(
        peer=lambda: Peer(url, certs.client_ctx(certs.pref_server)),
        connect=lambda: db.connect(DbRole.PREF, autocommit=True),
    )


def test_F1_2b_rows_of_persons_of_other_prefectures_are_answered_by_the_national_server(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    settings: Settings,
    system: System,
    national: Sim,
    certs: Certs,
) -> None:
    """F1-2b as F1-2 (L385): a row nobody in our file matches goes to the 全国サーバ — by 住民票コード and by
    4情報 — and its one person is provided with the task's items from J-LIS's answer (source national);
    a row J-LIS does not know either is 該当なし; a row our file answers is never sent. Each query has its
    communication record naming the operator and function F1-2; every row its provision record."""
    population(db)
    _sim, running = national
    by_code, by_basic4 = other_prefecture_person(1, 3), other_prefecture_person(1, 11)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    data = request(
        f"r1,resident_code,{juminhyo(1)},,,,,",
        f"r2,resident_code,{by_code['juminhyo_code']},,,,,",
        f"r3,basic4,,,{by_basic4['name_kana']},{by_basic4['birth_date']},,",
        f"r4,resident_code,{juminhyo(99)},,,,,",
    )
    job = service.submit_at_terminal(
        pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo", chunks=[data],
        file_name="irai.csv", store=store_of(settings), national=_access(db, running.url, certs),
    )  # fmt: skip
    rows = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_MATCH", "P_MATCH", "P_NOT_FOUND"]
    assert rows[0]["name_kanji"] == "山田　太郎"
    assert (rows[1]["name_kanji"], rows[1]["address"]) == (by_code["name_kanji"], by_code["address"])
    assert (rows[2]["name_kanji"], rows[2]["birth_date"]) == (
        by_basic4["name_kanji"],
        by_basic4["birth_date"],
    )
    assert all(r["name_kanji"] == "" for r in rows[3:])
    comms = query_log(pref_conn, PREF)
    assert len(comms) == 3  # r2, r3, r4; never r1
    assert {(c["function"], c["operator_id"]) for c in comms} == {("F1-2", "koan1")}
    assert sorted(c["outcome"] for c in comms) == ["found", "found", "not_found"]
    recorded = admin_conn.execute(
        "SELECT requester_ref, result_code, source, juminhyo_code, cardinality(items) FROM pref.provision_record"
        " WHERE bulk_job_id = %s ORDER BY requester_ref",
        (job.id,),
    ).fetchall()
    assert recorded == [
        ("r1", "P_MATCH", "local", juminhyo(1), 6),
        ("r2", "P_MATCH", "national", by_code["juminhyo_code"], 6),
        ("r3", "P_MATCH", "national", by_basic4["juminhyo_code"], 6),
        ("r4", "P_NOT_FOUND", "national", None, 0),
    ]
    (process,) = [
        r for r in log_rows(admin_conn, function="bulk_submit") if r["detail"]["event"] == "bulk_process"
    ]
    assert process["detail"]["national"] == 3


def test_F1_2b_when_the_national_server_does_not_answer_the_rows_are_unavailable_never_not_found(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    settings: Settings,
    system: System,
    certs: Certs,
) -> None:
    """F1-2b: J-LIS not answering (nothing listens) → P_UNAVAILABLE for every row it should have answered,
    the first attempt recorded as an error and the rest not sent; our own matches are unaffected."""
    population(db)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    data = request(
        f"r1,resident_code,{juminhyo(1)},,,,,",
        f"r2,resident_code,{juminhyo(98)},,,,,",
        f"r3,resident_code,{juminhyo(99)},,,,,",
    )
    job = service.submit_at_terminal(
        pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo", chunks=[data],
        file_name="irai.csv", store=store_of(settings), national=_access(db, "https://127.0.0.1:9", certs),
    )  # fmt: skip
    rows = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_UNAVAILABLE", "P_UNAVAILABLE"]
    assert rows[1]["result"] == "照会先応答なし"
    (comm,) = query_log(pref_conn, PREF)
    assert (comm["outcome"], comm["error_code"]) == ("error", "E_CONNECT")
    reasons = admin_conn.execute(
        "SELECT result_code, reason, source FROM pref.provision_record WHERE bulk_job_id = %s ORDER BY id",
        (job.id,),
    ).fetchall()
    assert sorted(reasons) == [
        ("P_MATCH", "", "local"),
        ("P_UNAVAILABLE", "E_CONNECT", "national"),
        ("P_UNAVAILABLE", "E_CONNECT", "national"),
    ]


def test_F1_2b_a_person_who_moved_away_is_given_from_the_national_answer_not_our_ended_record(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    national: Sim,
    certs: Certs,
) -> None:
    """F1-2b: our record of a person who moved to another prefecture has ended; the 全国サーバ holds
    the person as present there. The row is answered from J-LIS's record (today's name and address),
    never from our ended one."""
    from tests.factories import notification, pref_record

    _sim, running = national
    moved = other_prefecture_person(1, 5)
    code = moved["juminhyo_code"]
    ours = pref_record(1, name_kanji="転出　前子", name_kana="テンシュツ　マエコ", birth_date="2026-09-01")
    apply_accepted(db, notification("pref", "birth", code, record=ours, change_date="2026-09-01"))
    apply_accepted(db, notification("pref", "domestic_move_out", code, change_date="2026-10-01"))
    assert pref_conn.execute(
        "SELECT status FROM pref.identity_current WHERE juminhyo_code = %s", (code,)
    ).fetchone() == ("ended",)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    job = service.submit_at_terminal(
        pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo",
        chunks=[request(f"m1,resident_code,{code},,,,,")], file_name="irai.csv", store=store_of(settings),
        national=_access(db, running.url, certs),
    )  # fmt: skip
    (row,) = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert row["result_code"] == "P_MATCH"
    assert (row["name_kanji"], row["address"]) == (moved["name_kanji"], moved["address"])
