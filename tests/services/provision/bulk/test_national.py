"""Bulk rows our file does not answer are asked of J-LIS, like single provision (F1-2b, L385): the
全国サーバ simulator over mTLS, its communication records, and 照会先応答なし when it cannot be asked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.peers.national import NationalKind, other_prefecture_person
from juki.services.jlis.communication_records import query_log
from juki.services.jlis.relay import Peer
from juki.services.provision.bulk import national as national_module
from juki.services.provision.bulk import service
from juki.services.provision.bulk.jobs import list_jobs
from juki.services.provision.bulk.national import NationalAccess
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster
from tests.factories import apply_accepted, juminhyo
from tests.peers.national_support import Certs, Sim, running_simulator
from tests.services.access.support import Conn, System, log_rows
from tests.services.provision.bulk.support import (
    count,
    population,
    read_result,
    request,
    requester_actor,
    store_of,
)

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


def _three_to_ask() -> bytes:
    by_code, by_basic4 = other_prefecture_person(1, 3), other_prefecture_person(1, 11)
    return request(
        f"r1,resident_code,{juminhyo(1)},,,,,",
        f"r2,resident_code,{by_code['juminhyo_code']},,,,,",
        f"r3,basic4,,,{by_basic4['name_kana']},{by_basic4['birth_date']},,",
        f"r4,resident_code,{juminhyo(99)},,,,,",
    )


def test_F1_2b_no_transaction_is_held_while_a_slow_national_server_answers(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    national: Sim,
    certs: Certs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """F1-2b (issue 11 gap 3): while the 全国サーバ answers — slowly here — the job's connection is idle, not
    idle in a transaction, and its job row is not locked (another session may lock it at once); the answers
    still arrive in the result as before."""
    population(db)
    sim, running = national
    pid = pref_conn.info.backend_pid
    seen: list[tuple[str | None, bool, bool]] = []
    original = sim.query

    def slow(query: Any) -> Any:
        with db.connect(autocommit=True) as watcher:
            state = watcher.execute(
                "SELECT state, xact_start IS NOT NULL FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchone()
            assert state is not None
            with watcher.transaction():
                locked = watcher.execute(
                    "SELECT id FROM pref.bulk_job ORDER BY id DESC LIMIT 1 FOR UPDATE SKIP LOCKED"
                ).fetchone()
        seen.append((state[0], bool(state[1]), locked is not None))
        time.sleep(0.3)
        return original(query)

    monkeypatch.setattr(sim, "query", slow)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    job = service.submit_at_terminal(
        pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo", chunks=[_three_to_ask()],
        file_name="irai.csv", store=store_of(settings), national=_access(db, running.url, certs),
    )  # fmt: skip
    assert seen == [("idle", False, True)] * 3
    rows = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_MATCH", "P_MATCH", "P_NOT_FOUND"]


def test_F1_2b_a_failing_national_server_answers_unavailable_and_the_job_still_ends(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    national: Sim,
    certs: Certs,
) -> None:
    """F1-2b: the 全国サーバ answering 503 — the first row asked is 照会先応答なし, the others are not sent and
    answered the same; our own match stands; the job is done with no staging row left behind."""
    population(db)
    sim, running = national
    sim.fail_mode.fail_always(503)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    job = service.submit_at_terminal(
        pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo", chunks=[_three_to_ask()],
        file_name="irai.csv", store=store_of(settings), national=_access(db, running.url, certs),
    )  # fmt: skip
    assert job.state.value == "done"
    rows = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_UNAVAILABLE", "P_UNAVAILABLE", "P_UNAVAILABLE"]
    assert len(query_log(pref_conn, PREF)) == 1
    assert sim.fail_mode.injected == 1
    assert count(pref_conn, "SELECT count(*) FROM pref.bulk_request_row WHERE job_id = %s", job.id) == 0


class _Crash(Exception):
    """The process stopping half-way through asking J-LIS (a restart, a killed worker)."""


def test_F1_2b_a_run_stopped_while_asking_resumes_asking_only_the_unanswered_rows(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    national: Sim,
    certs: Certs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """F1-2b (idempotent, resumable): answers are stored a batch at a time as they come; a run that stops
    after the first answer leaves the job 受付 with no result file, and the next run asks J-LIS only the
    rows without an answer — each person is asked once — and ends with the same result."""
    population(db)
    _sim, running = national
    monkeypatch.setattr(national_module, "_BATCH", 1)
    calls = {"n": 0}
    original = national_module._ask

    def crash_on_second(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Crash
        return original(*args)

    monkeypatch.setattr(national_module, "_ask", crash_on_second)
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    access = _access(db, running.url, certs)
    with pytest.raises(_Crash):
        service.submit_at_terminal(
            pref_conn, koan, PREF, requester_code="koan", task_code="unten-menkyo", chunks=[_three_to_ask()],
            file_name="irai.csv", store=store_of(settings), national=access,
        )  # fmt: skip
    (job,) = list_jobs(pref_conn, PREF, requester_code="koan")
    assert job.state.value == "received"
    assert not store_of(settings).path(PREF, job.id).exists()
    assert not store_of(settings).part_path(PREF, job.id).exists()
    assert (
        count(pref_conn, "SELECT count(*) FROM pref.bulk_request_row WHERE national_result IS NOT NULL") == 1
    )
    assert len(query_log(pref_conn, PREF)) == 1
    monkeypatch.setattr(national_module, "_ask", original)
    done = service.run_job(pref_conn, PREF, job, store_of(settings), actor=koan, sender=None, national=access)
    assert done.state.value == "done"
    assert len(query_log(pref_conn, PREF)) == 3  # r2 once, r3 and r4 in the second run; r1 never
    rows = read_result(store_of(settings).path(PREF, done.id).read_bytes())
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_MATCH", "P_MATCH", "P_NOT_FOUND"]
