"""Provision-status disclosure (S-55, F1-3; LEGAL.md §4): every provision of the person's data within
the 7-year record, refusals and older records left out, printed and signed."""

from __future__ import annotations

from datetime import date

from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.rights import RequestKind, RequestStatus
from juki.interfaces.disclosure_forms import provision_status_form
from juki.interfaces.forms import render_form
from juki.services.disclosure.issue import issue_provision_status
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.provision_source import provision_lines
from juki.services.disclosure.requests import RequestInput, register_request
from juki.services.provision.records import Basis, record_provision
from juki.store.db import Database, DbRole
from tests.interfaces.forms.pdf_support import library_text
from tests.services.disclosure.support import ADDRESS, FA19_NAME, counter, people

EDUCATION = Basis(
    requester_code="kyoiku",
    requester_name="神奈川県教育委員会",
    requester_kind="organ",
    task_code="tokushi",
    task_name="特別支援学校への就学のため必要な経費の支弁に関する事務",
    legal_path="provide_table6",
    legal_basis="住基法第30条の15第2項第1号 別表第六",
)


def test_S55_provision_status_lists_provisions_within_seven_years_without_refusals(db: Database) -> None:
    """S-55: three records of the person — given, refused, given 8 years ago — and one of another
    person: the statement lists the one given within the window, with requester, task, basis, items
    and method; the PDF shows it; the issue is logged with the count, never the values."""
    codes = people(db)
    who = counter(db)
    with db.connect(DbRole.PREF, autocommit=True) as conn, conn.transaction():
        record_provision(
            conn,
            FileKind.PREF,
            who,
            EDUCATION,
            key_type=KeyType.BASIC4,
            method=Method.PAPER,
            result=ResultCode.MATCH,
            juminhyo_code=codes["fa19"],
            items=("name_kanji", "address"),
        )
        record_provision(
            conn,
            FileKind.PREF,
            who,
            EDUCATION,
            key_type=KeyType.BASIC4,
            method=Method.LINE,
            result=ResultCode.NOT_PERMITTED,
            juminhyo_code=codes["fa19"],
        )
        old = record_provision(
            conn,
            FileKind.PREF,
            who,
            EDUCATION,
            key_type=KeyType.BASIC4,
            method=Method.MEDIA,
            result=ResultCode.MATCH,
            juminhyo_code=codes["fa19"],
            items=("name_kanji",),
        )
        record_provision(
            conn,
            FileKind.PREF,
            who,
            EDUCATION,
            key_type=KeyType.BASIC4,
            method=Method.PAPER,
            result=ResultCode.MATCH,
            juminhyo_code=codes["twin_a"],
            items=("name_kanji",),
        )
    with db.connect() as admin:  # eight years old: outside the window (only the administrator can age a row)
        admin.execute("UPDATE pref.provision_record SET at = now() - interval '8 years' WHERE id = %s", [old])
        admin.commit()
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.PREF,
            RequestInput(
                kind=RequestKind.PROVISION_STATUS, name=FA19_NAME, birth_date="1985-03", address=ADDRESS
            ),
        )
        assert match_request(conn, who, FileKind.PREF, req.id).status is RequestStatus.MATCHED
        statement = issue_provision_status(
            conn, who, FileKind.PREF, req.id, provision_lines, issued_on=date.today()
        )
    assert len(statement.lines) == 1
    line = statement.lines[0]
    assert (line.recipient, line.task, line.legal_basis, line.method) == (
        "神奈川県教育委員会",
        EDUCATION.task_name,
        EDUCATION.legal_basis,
        "帳票",
    )
    assert line.items == ("氏名", "住所")
    assert statement.staff_views is None  # the option is off by default
    text = library_text(render_form(provision_status_form(statement)))
    flat = text.replace("\n", "")  # table cells wrap
    assert "神奈川県教育委員会" in flat and "提供の記録（1件）" in flat and FA19_NAME in flat
    assert "特別支援学校への就学のため必要な経費の支弁に関する事務" in flat
    assert "本人確認情報提供状況開示決定通知書" in text
