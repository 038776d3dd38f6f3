"""Provision-status disclosure (S-55, F1-3; LEGAL.md §4): every provision of the person's data within
the 7-year record, refusals and older records left out, printed and signed."""

from __future__ import annotations

from datetime import date, timedelta, timezone

import pytest

from juki.config import Settings
from juki.domain.offices import offices_for
from juki.domain.provision import KeyType, Method, ResultCode
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import RequestKind, RequestStatus
from juki.interfaces.disclosure_forms import STAFF_VIEWS_HEADING, provision_status_form, staff_view_time
from juki.interfaces.forms import render_form
from juki.services.access.actor import Actor
from juki.services.disclosure.issue import issue_provision_status
from juki.services.disclosure.matching import match_request
from juki.services.disclosure.provision_source import provision_lines
from juki.services.disclosure.requests import RequestInput, register_request
from juki.services.disclosure.staff_views import staff_views_from_log
from juki.services.provision.records import Basis, record_provision
from juki.services.search.conditions import SearchConditions
from juki.services.search.service import search, view_record
from juki.store.db import Database, DbRole
from tests.interfaces.forms.pdf_support import library_text
from tests.services.audit.support import actor as signed_in
from tests.services.disclosure.support import ADDRESS, FA19_NAME, counter, people

KANAGAWA = offices_for("14")  # the shipped entry: its forms are unchanged by issue 14
STAFF_DEPARTMENT = KANAGAWA.staff_department

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
            offices=KANAGAWA,
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
    text = library_text(render_form(provision_status_form(statement, offices=KANAGAWA)))
    flat = text.replace("\n", "")  # table cells wrap
    assert "神奈川県教育委員会" in flat and "提供の記録（1件）" in flat and FA19_NAME in flat
    assert "特別支援学校への就学のため必要な経費の支弁に関する事務" in flat
    assert "本人確認情報提供状況開示決定通知書" in text


def _statement_request(db: Database, who: Actor) -> int:
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        req = register_request(
            conn,
            who,
            FileKind.PREF,
            RequestInput(
                kind=RequestKind.PROVISION_STATUS, name=FA19_NAME, birth_date="1985-03", address=ADDRESS
            ),
            offices=KANAGAWA,
        )
        assert match_request(conn, who, FileKind.PREF, req.id).status is RequestStatus.MATCHED
    return req.id


def test_S55_staff_views_listed_only_when_the_option_is_on(db: Database) -> None:
    """S-55 (optional part): a prefecture operator opened the person's record and, in a search, was
    shown them; with the option on the statement lists both views from the operation log (JST time,
    the function in Japanese, the department, the log number) and never the operator; with the option
    off (the default) nothing of it is on the statement or the PDF. A view of somebody else and a
    refused attempt are not listed."""
    codes = people(db)
    who = counter(db)
    operator = signed_in(db, "hoshino", "T-STAFF", roles=frozenset({"pref_operator"}))
    outsider = signed_in(db, "tanaka", "T-OTHER", roles=frozenset({"counter"}))  # may not view records
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        view_record(conn, operator, FileKind.PREF, codes["fa19"])
        view_record(conn, operator, FileKind.PREF, codes["twin_a"])  # somebody else
        found = search(conn, operator, SearchConditions(name="カミタ　カツコ", birth_date="1985"))
        assert codes["fa19"] in {h.juminhyo_code for h in found.hits}
        with pytest.raises(Refusal):
            view_record(conn, outsider, FileKind.PREF, codes["fa19"])

    off_id, on_id = _statement_request(db, who), _statement_request(db, who)
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        off = issue_provision_status(conn, who, FileKind.PREF, off_id, provision_lines)
    assert off.staff_views is None
    off_text = library_text(render_form(provision_status_form(off, offices=KANAGAWA)))
    assert STAFF_VIEWS_HEADING not in off_text and "閲覧した職員の所属" not in off_text
    assert "記録の閲覧" not in off_text and "hoshino" not in off_text

    with db.connect(DbRole.TERM) as term, db.connect(DbRole.PREF, autocommit=True) as conn:
        on = issue_provision_status(
            conn,
            who,
            FileKind.PREF,
            on_id,
            provision_lines,
            staff_views=staff_views_from_log(term, FileKind.PREF, STAFF_DEPARTMENT),
        )
    assert on.staff_views is not None
    assert [v.function for v in on.staff_views] == ["view_record", "search"]
    assert {v.department for v in on.staff_views} == {STAFF_DEPARTMENT}
    with db.connect() as admin:
        logged = admin.execute(
            "SELECT seq, at FROM audit.op_log WHERE target = %s AND function = 'view_record'"
            " AND outcome = 'allow' AND operator_login = 'hoshino'",
            [codes["fa19"]],
        ).fetchall()
    assert [(v.reference, v.at) for v in on.staff_views[:1]] == [tuple(logged[0])]
    pdf = render_form(provision_status_form(on, offices=KANAGAWA))
    text = library_text(pdf)
    flat = text.replace("\n", "")
    assert f"{STAFF_VIEWS_HEADING}（操作ログ、2件）" in flat
    assert "記録の閲覧" in flat and "4情報検索（結果に表示）" in flat and "閲覧した職員の所属" in flat
    # the department once per view, beside its one mention in the contact line of both statements
    assert flat.count(STAFF_DEPARTMENT) == off_text.replace("\n", "").count(STAFF_DEPARTMENT) + 2
    assert staff_view_time(on.staff_views[0].at) in flat  # 和暦 + JST time of day
    assert str(on.staff_views[0].reference) in flat
    assert "hoshino" not in text and "tanaka" not in text  # no operator is named to the resident
    first = on.staff_views[0].at.astimezone(timezone(timedelta(hours=9)))
    assert staff_view_time(on.staff_views[0].at).endswith(f"{first:%H:%M}")


def test_S55_staff_views_setting_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """S-55: the option is a setting, off unless JUKI_DISCLOSE_STAFF_VIEWS turns it on."""
    monkeypatch.delenv("JUKI_DISCLOSE_STAFF_VIEWS", raising=False)
    assert Settings.from_env().disclose_staff_views is False
    monkeypatch.setenv("JUKI_DISCLOSE_STAFF_VIEWS", "1")
    assert Settings.from_env().disclose_staff_views is True
    monkeypatch.setenv("JUKI_DISCLOSE_STAFF_VIEWS", "0")
    assert Settings.from_env().disclose_staff_views is False
