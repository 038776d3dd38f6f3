"""Disclosure requests: register, exact match, issue (F1-3, F2-3, N-H8, A-11, S-55 File 1 only)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
import pytest

from juki.domain.offices import offices_for
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import RequestKind, RequestStatus
from juki.services.disclosure import requests
from juki.services.disclosure.issue import issue_disclosure
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.requests import RequestInput, register_request
from juki.store.db import Database, DbRole
from tests.services.disclosure.support import ADDRESS, FA19_NAME, TWIN_NAME, counter, people

KANAGAWA = offices_for("14")  # the shipped entry: its forms are unchanged by issue 14


def _log(db: Database, event: str) -> list[dict[str, Any]]:
    with db.connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT function, file, outcome, target, detail FROM audit.op_log WHERE detail->>'event' = %s ORDER BY seq",
            [event],
        ).fetchall()


def _request(**over: Any) -> RequestInput:
    base: dict[str, Any] = {"name": FA19_NAME, "birth_date": "1985年3月", "address": ADDRESS, "sex": "2"}
    return RequestInput(**{**base, **over})


def test_F1_3_request_matches_one_person_and_issues_the_D1_PS_items(db: Database) -> None:
    """F1-3: 受付 → 照合 (exactly one person) → 交付 with the D1-PS items as stored, each step logged."""
    codes = people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(conn, who, FileKind.PREF, _request(), offices=KANAGAWA)
        assert req.status is RequestStatus.RECEIVED
        outcome = match_request(conn, who, FileKind.PREF, req.id)
        assert outcome.status is RequestStatus.MATCHED and outcome.candidates == 1
        record = issue_disclosure(conn, who, FileKind.PREF, req.id, issued_on=date(2026, 12, 5))
        again = issue_disclosure(conn, who, FileKind.PREF, req.id, issued_on=date(2026, 12, 6))
        seen = requests.get_request(conn, who, FileKind.PREF, req.id)
    items = {i.column: i.value for i in record.items}
    assert list(items) == [
        "juminhyo_code",
        "name_kanji",
        "birth_date",
        "sex",
        "address",
        "my_number",
        "change_reason",
        "change_date",
    ]
    assert items["juminhyo_code"] == codes["fa19"]
    assert items["name_kanji"] == FA19_NAME  # byte for byte: U+FA19 and the IVS kept
    assert items["birth_date"] == "1985-03"  # 不詳 parts as entered
    assert record.addressee.name == FA19_NAME
    assert record.issue_number == again.issue_number and again.reprint
    assert seen.status is RequestStatus.ISSUED
    assert [e.status for e in seen.events] == ["received", "matched", "issued", "reprinted"]
    assert [r["target"] for r in _log(db, "disclosure_match")] == [codes["fa19"]]
    issued = _log(db, "disclosure_issue")
    assert issued[0]["outcome"] == "allow" and issued[0]["target"] == codes["fa19"]
    assert FA19_NAME not in str(issued[0]["detail"])  # the log names items, never their values
    assert _log(db, "disclosure_reprint")


def test_F1_3_A_11_no_match_and_several_candidates_are_refusals_never_a_list(db: Database) -> None:
    """F1-3/A-11: nobody or several persons → 不開示 with the reason; a 住民票コード settles the twins."""
    codes = people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        nobody = register_request(conn, who, FileKind.PREF, _request(name="神田　花子"), offices=KANAGAWA)
        twins = register_request(
            conn,
            who,
            FileKind.PREF,
            _request(name=TWIN_NAME, birth_date="1980-04-01", sex="1"),
            offices=KANAGAWA,
        )
        coded = register_request(
            conn,
            who,
            FileKind.PREF,
            _request(name=TWIN_NAME, birth_date="1980-04-01", sex="1", juminhyo_code=codes["twin_b"]),
            offices=KANAGAWA,
        )
        prefix = register_request(
            conn, who, FileKind.PREF, _request(address="神奈川県横浜市鶴見区豊岡町"), offices=KANAGAWA
        )
        results = [match_request(conn, who, FileKind.PREF, r.id) for r in (nobody, twins, coded, prefix)]
        with pytest.raises(Refusal) as again:
            match_request(conn, who, FileKind.PREF, nobody.id)
        with pytest.raises(Refusal) as refused_issue:
            issue_disclosure(conn, who, FileKind.PREF, twins.id)
    assert [(r.status, r.refusal_code) for r in results] == [
        (RequestStatus.REFUSED, "T_DISCLOSURE_NO_MATCH"),
        (RequestStatus.REFUSED, "T_DISCLOSURE_AMBIGUOUS"),
        (RequestStatus.MATCHED, None),
        (RequestStatus.REFUSED, "T_DISCLOSURE_NO_MATCH"),  # an address prefix is not the address
    ]
    assert results[1].candidates == 2
    assert again.value.code == "T_DISCLOSURE_STATE" and refused_issue.value.code == "T_DISCLOSURE_STATE"
    rows = _log(db, "disclosure_match")
    assert [r["outcome"] for r in rows] == ["rejected", "rejected", "allow", "rejected", "rejected"]
    assert rows[-1]["detail"]["refusal"] == "T_DISCLOSURE_STATE"  # the second attempt, refused and logged
    assert rows[1]["target"] is None  # no candidate is named anywhere


def test_N_H8_the_request_register_holds_no_my_number(db: Database) -> None:
    """N-H8: a 個人番号 given as the identifier is refused, and the register has no column for one."""
    people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        with pytest.raises(Refusal) as refused:
            register_request(
                conn, who, FileKind.PREF, _request(juminhyo_code="123456789018"), offices=KANAGAWA
            )
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'disclosure_request'"
            )
        }
    assert refused.value.code == "T_DISCLOSURE_INPUT" and "N-H8" in refused.value.detail
    assert not any("my_number" in c for c in columns)


def test_F2_3_file_2_disclosure_gives_the_D2_PS_items_and_no_provision_status(db: Database) -> None:
    """F2-3: File 2 discloses D2-PS; S-55/A-10: no provision-status disclosure for File 2."""
    codes = people(db)
    who = counter(db)
    with db.connect(DbRole.FUHYO, autocommit=True) as conn:
        req = register_request(
            conn, who, FileKind.FUHYO, _request(birth_date="令和8年9月1日", sex=""), offices=KANAGAWA
        )
        assert match_request(conn, who, FileKind.FUHYO, req.id).status is RequestStatus.MATCHED
        record = issue_disclosure(conn, who, FileKind.FUHYO, req.id)
        with pytest.raises(Refusal) as refused:
            register_request(
                conn, who, FileKind.FUHYO, _request(kind=RequestKind.PROVISION_STATUS), offices=KANAGAWA
            )
    assert [i.column for i in record.items] == ["juminhyo_code", "name_kanji", "address", "birth_date", "sex"]
    assert record.items[0].value == codes["fuhyo"] and record.items[1].value == FA19_NAME
    assert record.spec.disclosure_basis.startswith("住民基本台帳法第30条の44の13")
    assert refused.value.code == "T_PROVISION_STATUS_FILE"


def test_F1_3_only_the_counter_role_handles_requests_and_the_refusal_is_logged(db: Database) -> None:
    """F1-3 (S-07): the 窓口担当 role; a search operator is refused (deny row)."""
    people(db)
    searcher = counter(db, "kensaku", "pref_operator")
    with db.connect(DbRole.PREF, autocommit=True) as conn, pytest.raises(Refusal) as refused:
        register_request(conn, searcher, FileKind.PREF, _request(), offices=KANAGAWA)
    assert refused.value.code == "T_FORBIDDEN"
    assert [r["outcome"] for r in _log(db, "disclosure_register")] == ["deny"]


def test_F1_3_expired_requests_are_purged_by_their_retention_date(db: Database) -> None:
    """保存期限: purge_expired deletes a request past retain_until (with its events), keeps the rest."""
    people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        old = register_request(
            conn, who, FileKind.PREF, _request(received_on=date(2015, 1, 5)), offices=KANAGAWA
        )
        new = register_request(conn, who, FileKind.PREF, _request(), offices=KANAGAWA)
        assert old.retain_until == date(2020, 1, 5)
        assert requests.purge_expired(conn, FileKind.PREF, date(2026, 12, 5)) == 1
        left = [r.id for r in requests.list_requests(conn, who, FileKind.PREF)]
    assert left == [new.id]
