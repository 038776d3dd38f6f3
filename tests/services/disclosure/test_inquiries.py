"""The inquiry log (REC-7, S-60): recorded with category, summary, answer and who answered (from the
session), searchable for the yearly review; a person's code only where needed, and logged when read."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.domain.rights import InquiryCategory, InquiryChannel
from juki.services.disclosure import inquiries
from juki.services.disclosure.inquiries import InquiryInput, record_inquiry, search_inquiries
from juki.store.db import Database, DbRole
from tests.interfaces.terminal_web_support import log_rows
from tests.services.disclosure.support import counter

JST = timezone(timedelta(hours=9))


def test_S60_REC7_inquiries_are_recorded_and_searchable_for_the_yearly_review(db: Database) -> None:
    """S-60/REC-7: each inquiry with channel, category, summary, answer and the answering operator;
    the review finds them by period, category and word; a person's code is read only with a log row."""
    who = counter(db)
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        record_inquiry(
            conn,
            who,
            InquiryInput(
                InquiryChannel.PHONE,
                InquiryCategory.SYSTEM,
                "住基ネットで何が共有されるか",
                "本人確認情報の6項目等を説明",
                received_at=datetime(2026, 4, 3, 10, tzinfo=JST),
            ),
        )
        named = record_inquiry(
            conn,
            who,
            InquiryInput(
                InquiryChannel.COUNTER,
                InquiryCategory.PROVISION_STATUS,
                "自分の情報の提供先を知りたい",
                "提供状況の開示請求の方法を案内",
                file=FileKind.PREF,
                person_code="00000000019",
                received_at=datetime(2026, 11, 2, 14, tzinfo=JST),
            ),
        )
        with pytest.raises(Refusal) as bad:
            record_inquiry(conn, who, InquiryInput(InquiryChannel.MAIL, InquiryCategory.OTHER, "", "x"))
        everything = search_inquiries(conn, who)
        november = search_inquiries(conn, who, since=date(2026, 11, 1), until=date(2026, 11, 30))
        by_word = search_inquiries(conn, who, text="提供先")
        by_category = search_inquiries(conn, who, category=InquiryCategory.SYSTEM)
    assert bad.value.code == "T_INQUIRY_INPUT"
    assert [e.id for e in everything] == [named.id, named.id - 1]
    assert [e.id for e in november] == [named.id] == [e.id for e in by_word]
    assert [e.category for e in by_category] == [InquiryCategory.SYSTEM]
    assert everything[0].answered_by == "madoguchi" and everything[0].person_code == "00000000019"
    viewed = log_rows(db, "detail->>'event' = 'inquiry_view_person'")
    assert [r["target"] for r in viewed] == ["00000000019"] * 3  # every read of the named entry


def test_S60_inquiry_log_needs_the_right_and_expires(db: Database) -> None:
    """Deny by default; 保存期限 purge."""
    who = counter(db)
    outsider = counter(db, "kensaku", "pref_operator")
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        with pytest.raises(Refusal) as denied:
            search_inquiries(conn, outsider)
        record_inquiry(
            conn,
            who,
            InquiryInput(
                InquiryChannel.POST,
                InquiryCategory.OTHER,
                "古い問合せ",
                "回答済み",
                received_at=datetime(2020, 1, 6, 9, tzinfo=JST),
            ),
        )
        record_inquiry(
            conn, who, InquiryInput(InquiryChannel.POST, InquiryCategory.OTHER, "新しい問合せ", "回答済み")
        )
        assert inquiries.purge_expired(conn, date(2026, 12, 5)) == 1
        assert [e.summary for e in search_inquiries(conn, who)] == ["新しい問合せ"]
    assert denied.value.code == "T_FORBIDDEN"
