"""不開示 and its letter (F1-3, F2-3; LEGAL.md §3 "開示決定 / 不開示決定"): a refused request — no match,
several candidates, or the counter's own decision — gets a signed 不開示決定通知書 with the reason, the
legal basis and how to object, and nothing about any person of the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from juki.domain.offices import offices_for
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import OBJECTION_PLACEHOLDER, REFUSAL_LETTER_REASONS, RequestStatus
from juki.interfaces.disclosure_forms import refusal_letter_form
from juki.interfaces.forms import document_signer, render_form, sign_pdf, verify_pdf
from juki.services.access.pki import Pki
from juki.services.disclosure import requests
from juki.services.disclosure.issue import issue_disclosure
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.refusal import issue_refusal_letter, refuse_request
from juki.services.disclosure.requests import RequestInput, register_request
from juki.store.db import Database, DbRole
from tests.interfaces.forms.pdf_support import library_text, pdftotext, render_page
from tests.services.disclosure.support import ADDRESS, FA19_NAME, TWIN_NAME, counter, people

KANAGAWA = offices_for("14")  # the shipped entry: its forms are unchanged by issue 14


def _log(db: Database, event: str) -> list[dict[str, Any]]:
    with db.connect() as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            "SELECT outcome, target, detail FROM audit.op_log WHERE detail->>'event' = %s ORDER BY seq",
            [event],
        ).fetchall()


def test_F1_3_ambiguous_request_gets_a_signed_refusal_letter_that_names_no_candidate(
    db: Database, tmp_path: Path
) -> None:
    """F1-3: several candidates → 不開示 → the letter states the decision, the plain reason, 第30条の32
    and the 教示 (marked for the prefecture), signed; neither twin's code, kana nor count is on it."""
    codes = people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.PREF,
            RequestInput(name=TWIN_NAME, birth_date="1980-04-01", sex="1", address=ADDRESS),
            offices=KANAGAWA,
        )
        assert match_request(conn, who, FileKind.PREF, req.id).refusal_code == "T_DISCLOSURE_AMBIGUOUS"
        decision = issue_refusal_letter(conn, who, FileKind.PREF, req.id, issued_on=date(2026, 12, 5))
        again = issue_refusal_letter(conn, who, FileKind.PREF, req.id, issued_on=date(2026, 12, 9))
        seen = requests.get_request(conn, who, FileKind.PREF, req.id)
    assert decision.decision_number == again.decision_number and again.reprint and not decision.reprint
    assert seen.status is RequestStatus.REFUSED and seen.decision_number == decision.decision_number
    assert [e.status for e in seen.events] == ["received", "refused", "letter_issued", "letter_reprinted"]

    pki = Pki(tmp_path / "pki")
    pki.init()
    pdf = sign_pdf(
        render_form(refusal_letter_form(decision, offices=KANAGAWA)),
        document_signer(pki),
        reason=KANAGAWA.signature_reason,
    )
    assert verify_pdf(pdf, pki.ca_cert_path, pki.crl_path).genuine
    text = library_text(pdf).replace("\n", "")  # table cells wrap: read sentences whole
    assert "本人確認情報不開示決定通知書" in text and decision.decision_number in text
    assert "開示しない（不開示）" in text and "住民基本台帳法第30条の32" in text
    assert REFUSAL_LETTER_REASONS["T_DISCLOSURE_AMBIGUOUS"] in text
    assert "審査請求" in text and "行政不服審査法" in text and OBJECTION_PLACEHOLDER in text
    assert TWIN_NAME in text  # the requester's own writing, addressed back to them
    for other in (codes["twin_a"], codes["twin_b"], "スズキ", "2名", "2件", "2人"):
        assert other not in text  # nothing about the candidates, not even how many
    assert "1980年4月1日" in pdftotext(pdf)  # the given birth date in 和暦（西暦）
    assert render_page(pdf).getbbox() is not None  # pdftoppm draws the page

    letters = _log(db, "disclosure_refusal_letter")
    assert len(letters) == 1 and letters[0]["target"] is None and letters[0]["outcome"] == "allow"
    assert letters[0]["detail"]["refusal"] == "T_DISCLOSURE_AMBIGUOUS"
    assert _log(db, "disclosure_refusal_letter_reprint")


def test_F1_3_counter_refuses_a_matched_request_and_the_match_is_dropped(db: Database) -> None:
    """F1-3: the counter's own 不開示 (identity not shown) after a match: the register forgets the
    person, nothing can be issued, and the letter gives that reason."""
    people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.PREF,
            RequestInput(name=FA19_NAME, birth_date="1985年3月", address=ADDRESS),
            offices=KANAGAWA,
        )
        assert match_request(conn, who, FileKind.PREF, req.id).status is RequestStatus.MATCHED
        with pytest.raises(Refusal) as unknown:
            refuse_request(conn, who, FileKind.PREF, req.id, "T_DISCLOSURE_NO_MATCH")  # not the counter's
        refused = refuse_request(conn, who, FileKind.PREF, req.id, "T_DISCLOSURE_IDENTITY")
        with pytest.raises(Refusal) as twice:
            refuse_request(conn, who, FileKind.PREF, req.id, "T_DISCLOSURE_REPRESENTATION")
        with pytest.raises(Refusal) as issue:
            issue_disclosure(conn, who, FileKind.PREF, req.id)
        decision = issue_refusal_letter(conn, who, FileKind.PREF, req.id)
    assert unknown.value.code == "T_DISCLOSURE_INPUT"
    assert twice.value.code == "T_DISCLOSURE_STATE" and issue.value.code == "T_DISCLOSURE_STATE"
    assert refused.status is RequestStatus.REFUSED and refused.matched_code is None
    assert refused.refusal_code == "T_DISCLOSURE_IDENTITY" == decision.reason_code
    text = library_text(render_form(refusal_letter_form(decision, offices=KANAGAWA))).replace("\n", "")
    assert REFUSAL_LETTER_REASONS["T_DISCLOSURE_IDENTITY"] in text
    rows = _log(db, "disclosure_refuse")
    assert [r["outcome"] for r in rows] == ["rejected", "rejected", "rejected"]  # the two refused tries too
    assert all(r["target"] is None for r in rows)


def test_F2_3_no_match_letter_for_file_2_and_no_letter_before_a_refusal(db: Database) -> None:
    """F2-3: File 2's letter cites its own basis; a letter for a request not refused is refused."""
    people(db)
    who = counter(db)
    with db.connect(DbRole.FUHYO, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.FUHYO,
            RequestInput(name="神田　花子", birth_date="2026-09-01", address=ADDRESS),
            offices=KANAGAWA,
        )
        with pytest.raises(Refusal) as early:
            issue_refusal_letter(conn, who, FileKind.FUHYO, req.id)
        match_request(conn, who, FileKind.FUHYO, req.id)
        decision = issue_refusal_letter(conn, who, FileKind.FUHYO, req.id)
    assert early.value.code == "T_DISCLOSURE_STATE"
    text = library_text(render_form(refusal_letter_form(decision, offices=KANAGAWA))).replace("\n", "")
    assert "附票本人確認情報不開示決定通知書" in text and "第30条の44の13" in text
    assert REFUSAL_LETTER_REASONS["T_DISCLOSURE_NO_MATCH"] in text
