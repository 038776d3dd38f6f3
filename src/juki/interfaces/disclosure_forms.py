"""The printed answers of the residents'-rights functions, built as forms (``juki.interfaces.forms``):
the disclosure decision with the disclosed items (F1-3, F2-3), the provision-status statement (S-55)
and the answer letter of a correction case (F1-4, F2-4).

What is printed:

* names and addresses exactly as stored; a private-use 外字 is replaced by the glyph the 外字 registry
  names for it (DOMAIN §7), an unregistered one by 〓 with a note on the form;
* dates in 和暦 with the 西暦 in brackets ("昭和60年3月4日（1985年3月4日）"), and 不詳 dates as
  entered ("昭和60年3月不詳"); for a person whose name has no kanji (a foreign resident registered in
  katakana or the alphabet: DOMAIN §5) the 西暦 comes first;
* the legal basis, issue number, date and issuing office; 取扱注意 on every page when the form
  carries a 個人番号;
* the issuer, contact and signature of the configured prefecture (``offices``, juki.domain.offices),
  with the 【県で確認のうえ確定】 marker while its entry is an example;
* the 不開示決定通知書 is built from the request alone (what the requester wrote, the decision, its
  reason and how to object): it cannot print anything about a person of the file.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Final

from juki.domain.dates import DateParseError, JukiDate, format_seireki, format_wareki, parse_date
from juki.domain.items import SEX_LABELS, item_label
from juki.domain.offices import Offices
from juki.domain.reasons import ChangeReason
from juki.domain.rights import (
    CASE_RESULT_LABELS,
    CHANNEL_LABELS,
    CORRECTION_KIND_LABELS,
    OBJECTION_NOTICE,
    OBJECTION_PLACEHOLDER,
    REFUSAL_LETTER_REASONS,
    REQUEST_KIND_LABELS,
    REQUESTER_LABELS,
    RequestKind,
)
from juki.files import FileSpec
from juki.interfaces.forms import Form, KeyValueTable, ListTable, Paragraph
from juki.services.access.actor import Function
from juki.services.disclosure.corrections import CorrectionCase
from juki.services.disclosure.gaiji_registry import apply_glyphs
from juki.services.disclosure.issue import DisclosedRecord, ProvisionStatement
from juki.services.disclosure.refusal import RefusalDecision

__all__ = [
    "correction_letter_form",
    "date_text",
    "disclosure_form",
    "provision_status_form",
    "refusal_letter_form",
    "wareki_day",
]

_DATE_ITEMS: Final = frozenset({"birth_date", "change_date"})
_GETA_NOTE: Final = "〓は登録されていない外字です。正しい字形は窓口でご確認ください。"


STAFF_VIEWS_HEADING: Final = "県職員による閲覧"
#: What a staff member did, as the resident reads it (the log's personal-data functions).
STAFF_FUNCTION_LABELS: Final[dict[str, str]] = {
    Function.SEARCH.value: "4情報検索（結果に表示）",
    Function.VIEW_RECORD.value: "記録の閲覧",
    Function.OUTPUT.value: "出力",
    Function.JLIS_QUERY.value: "全国サーバへの照会（結果に表示）",
    Function.RECONCILIATION_REVIEW.value: "整合性確認結果の確認",
}
_JST: Final = timezone(timedelta(hours=9))


def staff_view_time(at: datetime) -> str:
    """A logged time as printed: 和暦 date and the time of day in Japan time."""
    local = at.astimezone(_JST) if at.tzinfo is not None else at
    return f"{wareki_day(local.date())} {local:%H:%M}"


def _has_kanji(name: str) -> bool:
    return any(unicodedata.name(c, "").startswith("CJK") for c in name)


def date_text(canonical: str, *, seireki_first: bool = False) -> str:
    """A stored date (JukiDate canonical text) as printed: 和暦（西暦）, or 西暦（和暦）."""
    if not canonical:
        return ""
    try:
        d = JukiDate.parse_canonical(canonical)
    except DateParseError:
        return canonical  # printed as stored rather than dropped
    wareki, seireki = format_wareki(d), format_seireki(d)
    if wareki == seireki:  # 不詳, or before 明治
        return wareki
    return f"{seireki}（{wareki}）" if seireki_first else f"{wareki}（{seireki}）"


def wareki_day(day: date) -> str:
    return format_wareki(JukiDate.from_date(day))


class _Glyphs:
    """Applies the 外字 registry to every printed text and remembers whether a 〓 was printed."""

    def __init__(self, glyphs: dict[int, str]) -> None:
        self.glyphs = glyphs
        self.missing = False

    def __call__(self, text: str) -> str:
        out, missing = apply_glyphs(text, self.glyphs)
        self.missing = self.missing or missing
        return out


def _value(column: str, value: str, *, seireki_first: bool) -> str:
    if column in _DATE_ITEMS:
        return date_text(value, seireki_first=seireki_first)
    if column == "sex":
        return SEX_LABELS.get(value, value)
    if column == "change_reason":
        try:
            return ChangeReason(value).label
        except ValueError:
            return value
    return value


def disclosure_form(
    record: DisclosedRecord, glyphs: dict[int, str] | None = None, *, offices: Offices
) -> Form:
    """The 開示決定通知書 with the person's D1-PS / D2-PS items."""
    g = _Glyphs(glyphs or {})
    req, spec = record.request, record.spec
    seireki_first = not _has_kanji(record.addressee.name)
    items = tuple((i.label, g(_value(i.column, i.value, seireki_first=seireki_first))) for i in record.items)
    request_rows = (
        ("請求番号", req.request_no),
        ("請求年月日", wareki_day(req.received_on)),
        ("請求の方法", CHANNEL_LABELS[req.channel]),
        ("請求者", REQUESTER_LABELS[req.requester_kind]),
        ("本人確認書類", req.identity_document),
    )
    notes = list(offices.notes)
    recipient = g(record.addressee.name)
    if g.missing:
        notes.insert(0, _GETA_NOTE)
    return Form(
        title=f"{spec.label}開示決定通知書",
        issue_number=record.issue_number,
        issued_on=wareki_day(record.issued_on),
        issuer=offices.issuer,
        recipient=recipient,
        handling_note="取扱注意" if spec.holds_my_number else "",
        legal_basis=spec.disclosure_basis,
        sections=(
            Paragraph(
                f"{wareki_day(req.received_on)}付けで請求のあった{spec.label}（{spec.server_label}に保存されて"
                f"いるもの）について、{spec.disclosure_basis}の規定により、次のとおり開示します。"
            ),
            KeyValueTable(items, heading=f"開示する{spec.label}"),
            KeyValueTable(request_rows, heading="請求の内容"),
        ),
        closing="\n".join(notes),
    )


def provision_status_form(
    statement: ProvisionStatement, glyphs: dict[int, str] | None = None, *, offices: Offices
) -> Form:
    """The 提供状況開示決定通知書 (S-55): every provision within the 7-year record."""
    g = _Glyphs(glyphs or {})
    req = statement.request
    rows = tuple(
        (
            wareki_day(line.at.date()),
            line.recipient,
            line.task,
            line.legal_basis,
            "、".join(line.items),
            line.method,
        )
        for line in statement.lines
    )
    sections: list[Paragraph | KeyValueTable | ListTable] = [
        Paragraph(
            f"{wareki_day(req.received_on)}付けで請求のあった本人確認情報の提供状況について、"
            f"{wareki_day(statement.since)}から{wareki_day(statement.issued_on)}までの記録（保存期間7年）により、"
            "次のとおり開示します。提供を求められたが提供しなかったもの（拒否）は含みません。"
        ),
        ListTable(
            ("提供日", "提供先（機関・部署）", "事務", "根拠", "提供した項目", "方法"),
            rows,
            heading=f"提供の記録（{len(rows)}件）",
            widths=(2.7, 2.6, 3.6, 2.6, 2.2, 1.5),
            empty="この期間に、あなたの本人確認情報を提供した記録はありません。",
        ),
    ]
    if statement.staff_views is not None:  # the option (S-55): off unless the prefecture turns it on
        sections.append(
            ListTable(
                ("日時（日本時間）", "操作", "閲覧した職員の所属", "記録番号"),
                tuple(
                    (
                        staff_view_time(v.at),
                        STAFF_FUNCTION_LABELS.get(v.function, v.function),
                        v.department,
                        str(v.reference),
                    )
                    for v in statement.staff_views
                ),
                heading=f"{STAFF_VIEWS_HEADING}（操作ログ、{len(statement.staff_views)}件）",
                widths=(2.4, 3.3, 3.8, 1.3),
                empty="この期間に、県職員があなたの記録を閲覧した記録はありません。",
            )
        )
    recipient = g(statement.addressee.name)
    notes = list(offices.notes)
    if g.missing:
        notes.insert(0, _GETA_NOTE)
    return Form(
        title="本人確認情報提供状況開示決定通知書",
        issue_number=statement.issue_number,
        issued_on=wareki_day(statement.issued_on),
        issuer=offices.issuer,
        recipient=recipient,
        legal_basis="住民基本台帳法第30条の32（提供状況の開示）",
        sections=tuple(sections),
        closing="\n".join(notes),
    )


def correction_letter_form(
    case: CorrectionCase,
    spec: FileSpec,
    name: str,
    issued_on: date,
    glyphs: dict[int, str] | None = None,
    *,
    offices: Offices,
) -> Form:
    """The answer to a correction / addition / deletion request (F1-4, F2-4): what was asked, that the
    prefecture asked the municipality, and the result (with the correction notification's date)."""
    g = _Glyphs(glyphs or {})
    assert case.result is not None and case.letter_number is not None
    kind = CORRECTION_KIND_LABELS[case.kind]
    rows = [
        ("申出番号", case.case_no),
        ("申出年月日", wareki_day(case.received_on)),
        ("開示の請求番号", case.request_no),
        ("申出の種類", kind),
        ("対象の項目", "、".join(item_label(i) for i in case.items)),
        ("申出の内容", g(case.claim)),
        ("調査の結果", CASE_RESULT_LABELS[case.result]),
        ("市町村の回答", g(case.municipality_answer)),
    ]
    if case.correction_notification:
        rows.append(
            (
                "訂正の通知",
                f"市町村から訂正の通知を受け、記録を更新しました（通知番号 {case.correction_notification}）",
            )
        )
    recipient = g(name)
    notes = list(offices.notes)
    if g.missing:
        notes.insert(0, _GETA_NOTE)
    return Form(
        title=f"{spec.label}の{kind}の申出に対する調査結果について（通知）",
        issue_number=case.letter_number,
        issued_on=wareki_day(issued_on),
        issuer=offices.issuer,
        recipient=recipient,
        legal_basis=spec.correction_basis,
        sections=(
            Paragraph(
                f"{wareki_day(case.received_on)}付けで申出のあった{spec.label}の{kind}について、"
                f"{spec.correction_basis}の規定により、住所地の市町村に照会して調査した結果を次のとおり通知します。"
            ),
            KeyValueTable(tuple(rows), heading="調査の結果"),
        ),
        closing="\n".join(notes),
    )


def _given_date(text: str) -> str:
    """A birth date as the requester wrote it, printed in 和暦（西暦） when it reads as a date."""
    try:
        return date_text(parse_date(text).canonical())
    except DateParseError:
        return text


def refusal_letter_form(
    decision: RefusalDecision, glyphs: dict[int, str] | None = None, *, offices: Offices
) -> Form:
    """The 不開示決定通知書: the request as written, the decision (不開示), the reason in plain Japanese,
    the legal basis and how to object (教示; its wording is marked for the prefecture to confirm)."""
    g = _Glyphs(glyphs or {})
    req, spec = decision.request, decision.spec
    given = [("氏名", g(req.given_name)), ("生年月日", _given_date(req.given_birth_date))]
    if req.given_address:
        given.append(("住所", g(req.given_address)))
    if req.given_juminhyo_code:
        given.append(("住民票コード", req.given_juminhyo_code))
    what = (
        f"{spec.label}の開示（{spec.server_label}に保存されているもの）"
        if req.kind is RequestKind.DISCLOSURE
        else REQUEST_KIND_LABELS[req.kind]
    )
    request_rows = (
        ("請求番号", req.request_no),
        ("請求年月日", wareki_day(req.received_on)),
        ("請求の内容", what),
        ("請求の方法", CHANNEL_LABELS[req.channel]),
        ("請求者", REQUESTER_LABELS[req.requester_kind]),
    )
    decision_rows = (
        ("決定の内容", "開示しない（不開示）"),
        ("不開示の理由", REFUSAL_LETTER_REASONS[decision.reason_code]),
        ("根拠法令", spec.disclosure_basis),
    )
    objection = "\n".join(
        line.format(authority=offices.issuer, prefecture=offices.prefecture_name) for line in OBJECTION_NOTICE
    )
    notes = list(offices.notes)
    recipient = g(req.given_name)
    if g.missing:
        notes.insert(0, _GETA_NOTE)
    return Form(
        title=f"{spec.label}不開示決定通知書",
        issue_number=decision.decision_number,
        issued_on=wareki_day(decision.issued_on),
        issuer=offices.issuer,
        recipient=recipient,
        legal_basis=spec.disclosure_basis,
        sections=(
            Paragraph(
                f"{wareki_day(req.received_on)}付けで請求のあった{spec.label}の開示について、"
                f"{spec.disclosure_basis}の規定に基づき審査した結果、次の理由により開示しないことと決定したので通知します。"
            ),
            KeyValueTable(decision_rows, heading="決定"),
            KeyValueTable(request_rows, heading="請求の内容"),
            KeyValueTable(tuple(given), heading="請求書に記載された事項"),
            Paragraph(f"{OBJECTION_PLACEHOLDER}\n{objection}", heading="この決定に不服がある場合（教示）"),
        ),
        closing="\n".join(notes),
    )
