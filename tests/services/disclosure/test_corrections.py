"""Correction, addition and deletion requests (F1-4, F2-4; A-12, S-38): the case round trip with the
municipal simulator over real mTLS — 申出 → inquiry → the municipality corrects through an ordinary
F1-1 notification (the case links it) or finds nothing wrong → the answer letter; deadlines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from juki.domain.offices import offices_for
from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import CaseResult, CaseStatus, CorrectionKind
from juki.files import PREF
from juki.interfaces.disclosure_forms import correction_letter_form
from juki.interfaces.forms import render_form
from juki.interfaces.intake_api import create_intake_app
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.peers.municipal import MunicipalCsSimulator, cert_name, requested_values_decision
from juki.services.access.pki import Pki, client_context, server_context
from juki.services.disclosure import corrections
from juki.services.disclosure.corrections import CaseInput
from juki.services.disclosure.issue import issue_disclosure
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.requests import RequestInput, register_request
from juki.store.db import Database, DbRole
from tests.factories import TSURUMI
from tests.interfaces.forms.pdf_support import library_text
from tests.services.disclosure.support import ADDRESS, FA19_NAME, counter, people

KANAGAWA = offices_for("14")  # the shipped entry: its forms are unchanged by issue 14

CORRECT_NAME = "神田\u3000葛\U000e0102子"


@pytest.fixture
def intake(db: Database, tmp_path: Path) -> Iterator[tuple[Pki, RunningServer]]:
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    with serve_in_thread(create_intake_app(db), context) as server:
        yield pki, server


def _disclosed(db: Database) -> str:
    """Person 1 asked for and received their disclosure; the request number."""
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.PREF,
            RequestInput(name=FA19_NAME, birth_date="1985-03", address=ADDRESS),
            offices=KANAGAWA,
        )
        match_request(conn, who, FileKind.PREF, req.id)
        issue_disclosure(conn, who, FileKind.PREF, req.id)
    return req.request_no


def test_F1_4_correction_round_trip_with_the_municipal_simulator(
    db: Database, intake: tuple[Pki, RunningServer]
) -> None:
    """F1-4/A-12/S-38: the municipality receives the inquiry over mTLS, corrects the name by an
    ordinary notification, answers with its id; the case links it, the file shows the new name (it
    changed only through F1-1), and the answer letter says so. A claim without values: no change."""
    pki, server = intake
    codes = people(db)
    request_no = _disclosed(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        fix = corrections.register_case(
            conn,
            who,
            FileKind.PREF,
            CaseInput(
                request_no,
                CorrectionKind.CORRECTION,
                ["name_kanji"],
                "氏名の「神」の字体が違います",
                {"name_kanji": CORRECT_NAME},
            ),
        )
        nothing = corrections.register_case(
            conn,
            who,
            FileKind.PREF,
            CaseInput(request_no, CorrectionKind.DELETION, ["address"], "住所の記載を削除してほしい", {}),
        )
        assert fix.municipality_code == TSURUMI and fix.due_on == date.today().fromordinal(
            date.today().toordinal() + 30
        )
        with pytest.raises(Refusal) as early:
            corrections.close_case(conn, who, FileKind.PREF, fix.id)
        for case in (fix, nothing):
            assert (
                corrections.send_inquiry(conn, who, FileKind.PREF, case.id).status is CaseStatus.INVESTIGATING
            )
    assert early.value.code == "T_CORRECTION_STATE"

    sim = MunicipalCsSimulator(pki, server.url)
    try:
        answers = sim.answer_inquiries(TSURUMI, FileKind.PREF, requested_values_decision)
        assert (
            sim.answer_inquiries(TSURUMI, FileKind.PREF, requested_values_decision) == []
        )  # nothing left open
    finally:
        sim.close()
    assert [a["result"] for a in answers] == ["municipality_corrects", "no_change"]

    with db.connect(DbRole.PREF, autocommit=True) as conn:
        fixed, name, _ = corrections.close_case(
            conn, who, FileKind.PREF, fix.id, issued_on=date(2026, 12, 20)
        )
        kept, _, _ = corrections.close_case(
            conn, who, FileKind.PREF, nothing.id, issued_on=date(2026, 12, 20)
        )
        stored = conn.execute(
            "SELECT name_kanji FROM pref.identity_current WHERE juminhyo_code = %s", [codes["fa19"]]
        ).fetchone()
    assert fixed.result is CaseResult.MUNICIPALITY_CORRECTS and fixed.status is CaseStatus.CLOSED
    assert fixed.correction_notification == f"{TSURUMI}-INQ-{fix.case_no}"
    assert stored == (CORRECT_NAME,) and name == CORRECT_NAME
    assert kept.result is CaseResult.NO_CHANGE and kept.correction_notification is None
    letter = library_text(
        render_form(correction_letter_form(fixed, PREF, name, date(2026, 12, 20), offices=KANAGAWA))
    ).replace("\n", "")
    assert "市町村が記録を訂正しました" in letter and fixed.correction_notification in letter
    assert "住民基本台帳法第30条の35" in letter and CORRECT_NAME in letter


def test_F1_4_inquiry_api_refuses_other_municipalities_and_unbacked_corrections(
    db: Database, intake: tuple[Pki, RunningServer]
) -> None:
    """The inquiry goes only to the municipality that keeps the record; a "we corrected it" answer
    without an accepted notification is E_INQUIRY_NOTIFICATION (the file changes only by F1-1)."""
    pki, server = intake
    people(db)
    request_no = _disclosed(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        case = corrections.register_case(
            conn,
            who,
            FileKind.PREF,
            CaseInput(request_no, CorrectionKind.ADDITION, ["name_kanji"], "旧氏を追加してほしい", {}),
        )
        case = corrections.send_inquiry(conn, who, FileKind.PREF, case.id)
    pki.issue(PeerRole.MUNICIPAL_CS, cert_name("142042"), lg_code="142042")

    def client(lg: str) -> httpx.Client:
        ctx = client_context(pki.cert_path(cert_name(lg)), pki.key_path(cert_name(lg)), pki.ca_cert_path)
        return httpx.Client(base_url=server.url, verify=ctx, timeout=20)

    with client("142042") as kamakura:
        assert kamakura.get("/cs/v1/pref/inquiries").json() == {"inquiries": []}
        other = kamakura.post(f"/cs/v1/pref/inquiries/{case.inquiry_id}/answer", json={"result": "no_change"})
        assert (other.status_code, other.json()["code"]) == (404, "E_INQUIRY_NOT_FOUND")
    MunicipalCsSimulator(pki, server.url).client(TSURUMI)  # issues 鶴見区's certificate
    with client(TSURUMI) as tsurumi:
        unbacked = tsurumi.post(
            f"/cs/v1/pref/inquiries/{case.inquiry_id}/answer",
            json={"result": "municipality_corrects", "notification_id": "141011-NOPE"},
        )
        assert (unbacked.status_code, unbacked.json()["code"]) == (422, "E_INQUIRY_NOTIFICATION")
        bad = tsurumi.post(f"/cs/v1/pref/inquiries/{case.inquiry_id}/answer", json={"result": "maybe"})
        assert bad.status_code == 422  # the schema names the two results
        ok = tsurumi.post(
            f"/cs/v1/pref/inquiries/{case.inquiry_id}/answer",
            json={"result": "no_change", "answer": "誤りなし"},
        )
        assert ok.status_code == 200 and ok.json()["status"] == "answered"
        again = tsurumi.post(f"/cs/v1/pref/inquiries/{case.inquiry_id}/answer", json={"result": "no_change"})
        assert (again.status_code, again.json()["code"]) == (409, "E_INQUIRY_STATE")


def test_F1_4_overdue_cases_are_listed(db: Database) -> None:
    """Deadlines: an open case past its due date is on the overdue list; a new one is not."""
    people(db)
    request_no = _disclosed(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        old = corrections.register_case(
            conn,
            who,
            FileKind.PREF,
            CaseInput(
                request_no,
                CorrectionKind.CORRECTION,
                ["address"],
                "住所の番地が違う",
                {},
                received_on=date(2026, 9, 1),
            ),
        )
        corrections.register_case(
            conn,
            who,
            FileKind.PREF,
            CaseInput(request_no, CorrectionKind.CORRECTION, ["address"], "再申出", {}),
        )
        overdue = corrections.list_cases(conn, who, FileKind.PREF, overdue_on=date.today())
        with pytest.raises(Refusal) as bad:
            corrections.register_case(
                conn,
                who,
                FileKind.PREF,
                CaseInput(request_no, CorrectionKind.CORRECTION, ["my_number"], "x", {}),
            )
    assert [c.case_no for c in overdue] == [old.case_no]
    assert old.due_on == date(2026, 10, 1) and old.overdue(date.today())
    assert bad.value.code == "T_CORRECTION_INPUT"


def test_F2_4_file_2_correction_case_goes_to_the_fuhyo_municipality(
    db: Database, intake: tuple[Pki, RunningServer]
) -> None:
    """F2-4: a 附票 correction request is investigated the same way, on File 2's own register and the
    附票管理市町村's inquiry list; its letter cites File 2's basis."""
    pki, server = intake
    people(db)
    who = counter(db)
    with db.connect(DbRole.FUHYO, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.FUHYO,
            RequestInput(name=FA19_NAME, birth_date="2026-09-01", address=ADDRESS),
            offices=KANAGAWA,
        )
        match_request(conn, who, FileKind.FUHYO, req.id)
        issue_disclosure(conn, who, FileKind.FUHYO, req.id)
        case = corrections.register_case(
            conn,
            who,
            FileKind.FUHYO,
            CaseInput(req.request_no, CorrectionKind.CORRECTION, ["address"], "住所の記載が古い", {}),
        )
        corrections.send_inquiry(conn, who, FileKind.FUHYO, case.id)
    sim = MunicipalCsSimulator(pki, server.url)
    try:
        answers = sim.answer_inquiries(TSURUMI, FileKind.FUHYO, requested_values_decision)
        assert (
            sim.answer_inquiries(TSURUMI, FileKind.PREF, requested_values_decision) == []
        )  # File 1 has none
    finally:
        sim.close()
    assert [a["result"] for a in answers] == ["no_change"]
    with db.connect(DbRole.FUHYO, autocommit=True) as conn:
        closed, name, _ = corrections.close_case(
            conn, who, FileKind.FUHYO, case.id, issued_on=date(2026, 12, 20)
        )
    from juki.files import FUHYO

    letter = library_text(
        render_form(correction_letter_form(closed, FUHYO, name, date(2026, 12, 20), offices=KANAGAWA))
    ).replace("\n", "")
    assert (
        "附票本人確認情報の訂正の申出" in letter
        and "第30条の44の13" in letter
        and "記録に誤りは認められませんでした" in letter
    )
