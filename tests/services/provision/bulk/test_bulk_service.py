"""Bulk provision through the service (F1-2b, S-21, S-22, S-23, S-26, S-27, S-29): the request file in,
set-based matching, one result row per request row, the records, the approval of large requests."""

from __future__ import annotations

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.provision.bulk import service
from juki.services.provision.bulk.jobs import JobState, list_exchanges
from juki.store.db import Database
from tests.factories import apply_accepted
from tests.services.access.support import Conn, System, log_rows
from tests.services.provision.bulk.support import (
    MIXED_ROWS,
    at_business_terminal,
    count,
    population,
    read_result,
    request,
    requester_actor,
    store_of,
)

PREF = FileKind.PREF


@pytest.fixture
def people(db: Database) -> None:
    population(db)


def _submit(pref_conn: Conn, settings: Settings, actor, data: bytes, **kw):  # type: ignore[no-untyped-def]
    return service.submit_at_terminal(
        pref_conn,
        actor,
        PREF,
        requester_code=kw.pop("requester", "koan"),
        task_code=kw.pop("task", "unten-menkyo"),
        chunks=[data],
        file_name=kw.pop("name", "irai.csv"),
        store=store_of(settings),
        **kw,
    )


def test_f1_2b_one_result_row_per_request_row_with_only_the_allowed_items(
    db: Database,
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    settings: Settings,
    system: System,
    people: None,
) -> None:
    """F1-2b, S-27: a mixed request file gives one result row per request row, in order, with 一致 /
    該当なし / 複数該当 / 検索キー不許可 / 入力不備 and the task's items only for 一致 (never 住民票コード);
    every row has its provision record (S-21, S-22) and the upload its exchange record (S-23)."""
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    job = _submit(pref_conn, settings, actor, request(*(row for row, _ in MIXED_ROWS)))
    assert job.state is JobState.DONE, job
    result = read_result(store_of(settings).path(PREF, job.id).read_bytes())
    assert [r["result_code"] for r in result] == [code for _, code in MIXED_ROWS]
    assert [r["request_ref"] for r in result] == [f"r{i}" for i in range(1, 9)]
    assert "juminhyo_code" not in result[0] and "my_number" not in result[0]
    assert result[0]["name_kanji"] == "山田　太郎" and result[0]["result"] == "一致"
    assert result[2]["name_kanji"] == "佐藤　花子" and result[2]["sex"] == "2"
    assert result[3]["name_kanji"] == "" and result[3]["result"] == "複数該当"
    assert result[5]["detail"] and result[6]["detail"]
    assert job.counts == {
        "P_AMBIGUOUS": 1,
        "P_INVALID": 2,
        "P_KEY_NOT_ALLOWED": 1,
        "P_MATCH": 3,
        "P_UNAVAILABLE": 1,
    }
    records = admin_conn.execute(
        "SELECT requester_ref, result_code, juminhyo_code, items, method, operator_login FROM"
        " pref.provision_record WHERE bulk_job_id = %s ORDER BY requester_ref",
        (job.id,),
    ).fetchall()
    assert [(r[0], r[1]) for r in records] == [(f"r{i}", code) for i, (_, code) in enumerate(MIXED_ROWS, 1)]
    assert records[0][3] == ["name_kanji", "birth_date", "sex", "address", "change_reason", "change_date"]
    assert all(r[4] == "media" and r[5] == "koan1" for r in records)
    assert count(admin_conn, "SELECT count(*) FROM pref.bulk_request_row WHERE job_id = %s", job.id) == 0
    kinds = [e["kind"] for e in list_exchanges(pref_conn, PREF, job.id)]
    assert kinds == ["terminal_request"]
    events = [r["detail"]["event"] for r in log_rows(admin_conn, function="bulk_submit")]
    assert events == ["bulk_submit", "bulk_process"]


def test_f1_2b_a_shift_jis_request_is_answered_in_shift_jis(
    conn: Conn, pref_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """F1-2b: a CP932 request file (Japanese header) gets its result file in CP932."""
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    data = "依頼番号,検索キー種別,住民票コード,個人番号,氏名かな,生年月日,性別,住所\r\nあ1,4情報,,,ヤマダ　タロウ,2026-09-01,男,\r\n"
    job = _submit(pref_conn, settings, actor, data.encode("cp932"))
    assert job.encoding == "cp932"
    raw = store_of(settings).path(PREF, job.id).read_bytes()
    rows = read_result(raw, "cp932")
    assert rows[0]["request_ref"] == "あ1" and rows[0]["result"] == "一致"
    assert rows[0]["name_kanji"] == "山田　太郎"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "E_BULK_EMPTY"),
        (b"ref,key\nr1,basic4\n", "E_BULK_HEADER"),
        (request(), "E_BULK_EMPTY"),
        (b"\x81\x7f\xff," + request()[:40], "E_BULK_ENCODING"),
    ],
)
def test_f1_2b_a_malformed_file_is_refused_whole_and_leaves_nothing(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System, data: bytes, code: str
) -> None:
    """F1-2b: a file error (encoding, header, no rows) refuses the whole file with its code: no job, no
    row, no result, no record — and the refusal is in the operation log."""
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    with pytest.raises(Refusal) as refused:
        _submit(pref_conn, settings, actor, data)
    assert refused.value.code == "T_BULK_FILE" and code in refused.value.detail
    assert count(admin_conn, "SELECT count(*) FROM pref.bulk_job") == 0
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record") == 0
    assert not list(store_of(settings).directory.glob("**/*.csv"))
    assert log_rows(admin_conn, function="bulk_submit")[-1]["outcome"] == "rejected"


def test_s29_bulk_only_at_a_representative_or_bulk_enabled_terminal(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """S-29: a business terminal without the bulk flag is refused (and logged); with it, accepted."""
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    with pytest.raises(Refusal) as refused:
        _submit(pref_conn, settings, at_business_terminal(actor, bulk=False), request(MIXED_ROWS[0][0]))
    assert refused.value.code == "T_BULK_TERMINAL"
    assert count(admin_conn, "SELECT count(*) FROM pref.bulk_job") == 0
    job = _submit(pref_conn, settings, at_business_terminal(actor, bulk=True), request(MIXED_ROWS[0][0]))
    assert job.state is JobState.DONE


def test_f1_2b_an_operator_of_one_requester_cannot_act_for_another(
    conn: Conn, pref_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """F1-2b: bulk_requester@kyoiku cannot submit for koan (T_FORBIDDEN) nor see or fetch koan's job."""
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    kyoiku = requester_actor(conn, settings, system, "kyoiku1", "bulk_requester@kyoiku")
    with pytest.raises(Refusal) as refused:
        _submit(pref_conn, settings, kyoiku, request(MIXED_ROWS[0][0]))
    assert refused.value.code == "T_FORBIDDEN"
    job = _submit(pref_conn, settings, koan, request(MIXED_ROWS[0][0]))
    assert service.jobs_for(pref_conn, kyoiku, PREF) == []
    with pytest.raises(Refusal) as hidden:
        service.fetch_result(pref_conn, kyoiku, PREF, job.id, store_of(settings))
    assert hidden.value.code == "T_BULK_JOB_NOT_FOUND"
    fetched, path = service.fetch_result(pref_conn, koan, PREF, job.id, store_of(settings))
    assert path.exists() and fetched.id == job.id


def test_s26_a_large_request_waits_for_the_head_of_its_requester(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """S-26: above the threshold the job waits (no matching, no record, no result); the submitter cannot
    approve it, nor can another requester's head; the requester's head approves, and the decision, the
    approver and the time are recorded; then the job runs."""
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    other_head = requester_actor(conn, settings, system, "kyoiku9", "requester_head@kyoiku")
    both = requester_actor(conn, settings, system, "koan2", "bulk_requester@koan", "requester_head@koan")
    head = requester_actor(conn, settings, system, "koanchief", "requester_head@koan")
    rows = [row for row, _ in MIXED_ROWS]
    job = _submit(pref_conn, settings, both, request(*rows), approval_rows=5)
    assert job.state is JobState.AWAITING_APPROVAL and job.approval_required
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record") == 0
    assert not store_of(settings).path(PREF, job.id).exists()
    with pytest.raises(Refusal) as own:
        service.approve_job(pref_conn, both, PREF, job.id, store_of(settings))
    assert own.value.code == "T_BULK_SELF_APPROVAL"
    with pytest.raises(Refusal) as foreign:
        service.approve_job(pref_conn, other_head, PREF, job.id, store_of(settings))
    assert foreign.value.code == "T_BULK_JOB_NOT_FOUND"
    with pytest.raises(Refusal):
        service.approve_job(pref_conn, koan, PREF, job.id, store_of(settings))
    done = service.approve_job(pref_conn, head, PREF, job.id, store_of(settings), "確認済み")
    assert done.state is JobState.DONE
    assert (done.decision, done.decided_by_login, done.decision_note) == ("approved", "koanchief", "確認済み")
    assert done.decided_at is not None
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record WHERE bulk_job_id = %s", job.id) == 8
    assert [r["detail"]["event"] for r in log_rows(admin_conn, function="bulk_approve", outcome="allow")] == [
        "bulk_approved"
    ]


def test_s26_a_rejected_request_provides_nothing(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """S-26: the head's rejection is recorded; nothing is matched, provided or kept of the request rows."""
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    head = requester_actor(conn, settings, system, "koanchief", "requester_head@koan")
    job = _submit(pref_conn, settings, koan, request(*(row for row, _ in MIXED_ROWS)), approval_rows=1)
    rejected = service.reject_job(pref_conn, head, PREF, job.id, "目的外")
    assert rejected.state is JobState.REJECTED and rejected.decided_by_login == "koanchief"
    assert count(admin_conn, "SELECT count(*) FROM pref.bulk_request_row") == 0
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record") == 0
    with pytest.raises(Refusal) as again:
        service.approve_job(pref_conn, head, PREF, job.id, store_of(settings))
    assert again.value.code == "T_BULK_STATE"


def test_F2_2_S27_bulk_on_file_2_answers_only_about_persons_abroad_with_file_2_items(
    db: Database, conn: Conn, fuhyo_conn: Conn, admin_conn: Conn, settings: Settings, system: System
) -> None:
    """F2-2 (bulk, same scheme as F1-2b): a File 2 request answers from the 附票 file with the task's File 2
    items; a 個人番号 key is never answered there (File 2 holds none); the records are File 2's.
    LEGAL.md §1 (第30条の44の6), in the same join: only 国外転出者 are answered — a domestic person is
    該当なし by 住民票コード and by 4情報 (recorded with reason not_subject, S-22), and where a domestic and a
    国外転出者 share the 4情報 the 国外転出者 alone is the one person identified (S-27)."""
    from tests.factories import fuhyo_record, juminhyo, my_number, notification

    abroad, domestic, twin = juminhyo(8001), juminhyo(8002), juminhyo(8003)
    moved = {
        "address_municipality_code": "",
        "address": "フランス共和国",
        "last_address": "横浜市鶴見区豊岡町1番1号",
    }

    def birth(code: str, kana: str) -> dict[str, object]:
        record = fuhyo_record(name_kana=kana, birth_date="2026-09-01")
        return notification("fuhyo", "birth", code, record=record, change_date="2026-09-01")

    apply_accepted(
        db,
        birth(abroad, "ヤマダ　タロウ"),
        birth(domestic, "タカハシ　ジロウ"),
        birth(twin, "ヤマダ　タロウ"),
    )
    apply_accepted(
        db,
        notification(
            "fuhyo",
            "overseas_move_out",
            abroad,
            record=fuhyo_record(name_kana="ヤマダ　タロウ", birth_date="2026-09-01", **moved),
        ),
    )
    actor = requester_actor(conn, settings, system, "zeimu1", "bulk_requester@zeimu")
    data = request(
        f"z1,resident_code,{abroad},,,,,",
        f"z2,my_number,,{my_number(1)},,,,",
        "z3,basic4,,,ヤマダ タロウ,2026-09-01,,",
        f"z4,resident_code,{domestic},,,,,",
        "z5,basic4,,,タカハシ ジロウ,2026-09-01,,",
    )
    job = service.submit_at_terminal(
        fuhyo_conn, actor, FileKind.FUHYO, requester_code="zeimu", task_code="kenzei-kokugai", chunks=[data],
        file_name="zei.csv", store=store_of(settings),
    )  # fmt: skip
    rows = read_result(store_of(settings).path(FileKind.FUHYO, job.id).read_bytes())
    assert [r["result_code"] for r in rows] == [
        "P_MATCH",
        "P_KEY_NOT_ALLOWED",
        "P_MATCH",
        "P_NOT_FOUND",
        "P_NOT_FOUND",
    ]
    assert rows[2]["address"] == "フランス共和国"  # the 国外転出者, not the domestic twin
    assert all(rows[i]["address"] == rows[i]["name_kanji"] == "" for i in (3, 4))
    assert rows[3]["detail"] == rows[4]["detail"] == ""  # nothing said beyond 該当なし
    assert set(rows[0]) == {
        "row",
        "request_ref",
        "result_code",
        "result",
        "detail",
        "name_kanji",
        "birth_date",
        "sex",
        "address",
        "note",
    }
    recorded = admin_conn.execute(
        "SELECT requester_ref, result_code, reason, juminhyo_code FROM fuhyo.provision_record"
        " WHERE bulk_job_id = %s ORDER BY requester_ref",
        (job.id,),
    ).fetchall()
    assert recorded == [
        ("z1", "P_MATCH", "", abroad),
        ("z2", "P_KEY_NOT_ALLOWED", "P_KEY_NOT_ALLOWED", None),
        ("z3", "P_MATCH", "", abroad),
        ("z4", "P_NOT_FOUND", "not_subject", None),
        ("z5", "P_NOT_FOUND", "not_subject", None),
    ]
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record") == 0


def test_f1_2b_a_job_whose_rows_were_lost_is_never_half_answered(
    conn: Conn, pref_conn: Conn, admin_conn: Conn, settings: Settings, system: System, people: None
) -> None:
    """F1-2b: the staging table is unlogged; after a crash empties it, a waiting job ends as E_BULK_LOST
    (resubmit) when approved — no result from part of its rows, no record."""
    koan = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    head = requester_actor(conn, settings, system, "koanchief", "requester_head@koan")
    job = _submit(pref_conn, settings, koan, request(*(row for row, _ in MIXED_ROWS)), approval_rows=1)
    admin_conn.execute("DELETE FROM pref.bulk_request_row WHERE job_id = %s AND row_no > 4", (job.id,))
    failed = service.approve_job(pref_conn, head, PREF, job.id, store_of(settings))
    assert (failed.state, failed.error_code) == (JobState.ERROR, "E_BULK_LOST")
    assert count(admin_conn, "SELECT count(*) FROM pref.provision_record") == 0
    assert not store_of(settings).path(PREF, job.id).exists()
    assert not list(store_of(settings).directory.glob("**/*.part"))
