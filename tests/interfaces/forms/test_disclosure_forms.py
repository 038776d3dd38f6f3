"""The disclosure form as printed (F1-3, F2-3; DOMAIN §5, §7): items, 和暦 dates, 不詳 dates as entered,
外字 through the registry, signed; page 1 compared with the approved reference and saved as the
README's picture (docs/screenshots/disclosure-form.png)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

from juki.domain.offices import offices_for
from juki.domain.rights import (
    COUNTER_REFUSALS,
    REFUSAL_LETTER_REASONS,
    CaseResult,
    CaseStatus,
    Channel,
    CorrectionKind,
    RequesterKind,
    RequestKind,
    RequestStatus,
)
from juki.files import FUHYO, PREF
from juki.interfaces.disclosure_forms import (
    correction_letter_form,
    date_text,
    disclosure_form,
    provision_status_form,
    refusal_letter_form,
)
from juki.interfaces.forms import document_signer, render_form, sign_pdf
from juki.services.access.pki import Pki
from juki.services.disclosure.corrections import CorrectionCase
from juki.services.disclosure.issue import (
    Addressee,
    DisclosedItem,
    DisclosedRecord,
    ProvisionStatement,
    StaffView,
)
from juki.services.disclosure.refusal import RefusalDecision
from juki.services.disclosure.requests import DisclosureRequest
from tests.interfaces.forms.pdf_support import assert_matches_reference, library_text, render_page

KANAGAWA = offices_for("14")  # the shipped entry: its forms are unchanged by issue 14

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
NAME = "\ufa19奈川\u3000葛\U000e0102子"
PUA_NAME = "\ue001田\u3000花子"  # a municipality's 外字 as a private-use code point
ADDRESS = "神奈川県横浜市鶴見区豊岡町1番1号　辻\U000e0102堂ハイツ101"


def _request(file_kind: str = "pref") -> DisclosureRequest:
    return DisclosureRequest(
        id=1,
        file=PREF.kind if file_kind == "pref" else FUHYO.kind,
        request_no="2026-1000001",
        kind=RequestKind.DISCLOSURE,
        received_on=date(2026, 12, 1),
        office="神奈川県政策局政策部情報公開広聴課",
        channel=Channel.COUNTER,
        requester_kind=RequesterKind.SELF,
        identity_document="個人番号カード",
        given_name=NAME,
        given_birth_date="昭和60年3月",
        given_sex="2",
        given_address=ADDRESS,
        given_juminhyo_code="",
        status=RequestStatus.ISSUED,
        matched_code="00000000019",
        refusal_code=None,
        issue_number="第2026-1000001号",
        issued_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        created_by="madoguchi1",
        retain_until=date(2031, 12, 1),
    )


def _record(name: str = NAME) -> DisclosedRecord:
    values = {
        "juminhyo_code": "00000000019",
        "name_kanji": name,
        "birth_date": "1985-03",
        "sex": "2",
        "address": ADDRESS,
        "my_number": "123456789018",
        "change_reason": "relocation",
        "change_date": "2026-10-01",
    }
    labels = {i.column: i.label for i in PREF.items}
    return DisclosedRecord(
        request=_request(),
        spec=PREF,
        issue_number="第2026-1000001号",
        issued_on=date(2026, 12, 5),
        addressee=Addressee(name, ADDRESS),
        items=tuple(DisclosedItem(c, labels[c], values[c]) for c in PREF.provided_items),
        reprint=False,
    )


def test_F1_3_disclosure_form_prints_items_dates_and_legal_basis() -> None:
    """F1-3: D1-PS items by their names, name and address exactly as stored, the 不詳 birth date as
    entered in 和暦 with the 西暦, the legal basis, issue number and office; 取扱注意 (個人番号)."""
    text = library_text(render_form(disclosure_form(_record(), offices=KANAGAWA)))
    flat = text.replace("\n", "")
    for expected in (
        "本人確認情報開示決定通知書",
        "住民基本台帳法第30条の32",
        "第2026-1000001号",
        "令和8年12月5日",
        "神奈川県知事",
        NAME,
        ADDRESS,
        "昭和60年3月不詳（1985年3月不詳）",
        "123456789018",
        "転居",
        "取扱注意",
    ):
        assert expected in flat, expected


def test_dates_in_wareki_with_seireki_and_seireki_first_for_a_name_without_kanji() -> None:
    """DOMAIN §5: 和暦（西暦）; 不詳 as entered; a foreign resident's (no kanji in the name) 西暦 first."""
    assert date_text("1985-03-04") == "昭和60年3月4日（1985年3月4日）"
    assert date_text("不詳") == "不詳"
    assert date_text("1989-01-08") == "平成元年1月8日（1989年1月8日）"
    assert date_text("1985-03-04", seireki_first=True) == "1985年3月4日（昭和60年3月4日）"
    record = _record(name="スミス　ジョン")
    assert "1985年3月不詳（昭和60年3月不詳）" in library_text(
        render_form(disclosure_form(record, offices=KANAGAWA))
    ).replace("\n", "")


def test_gaiji_registry_glyph_is_printed_and_an_unregistered_one_is_marked() -> None:
    """DOMAIN §7: a private-use 外字 prints the glyph the registry names (here 辻 + its MJ IVS);
    an unregistered one prints 〓 with a note — never a font's private-use glyph."""
    record = _record(name=PUA_NAME)
    registered = library_text(
        render_form(disclosure_form(record, {0xE001: "辻\U000e0102"}, offices=KANAGAWA))
    )
    assert "辻\U000e0102田　花子" in registered and "〓" not in registered
    unregistered = library_text(render_form(disclosure_form(record, {}, offices=KANAGAWA)))
    assert "〓田　花子" in unregistered and "登録されていない外字" in unregistered


def test_F2_3_file_2_form_names_its_own_basis_and_carries_no_handling_note() -> None:
    """F2-3: the 附票 form cites 第30条の44の13 and, holding no 個人番号, has no 取扱注意 box."""
    values = {
        "juminhyo_code": "00000000019",
        "name_kanji": NAME,
        "address": ADDRESS,
        "birth_date": "1985-03-04",
        "sex": "2",
    }
    labels = {i.column: i.label for i in FUHYO.items}
    record = DisclosedRecord(
        request=_request("fuhyo"),
        spec=FUHYO,
        issue_number="第2026-2000001号",
        issued_on=date(2026, 12, 5),
        addressee=Addressee(NAME, ADDRESS),
        items=tuple(DisclosedItem(c, labels[c], values[c]) for c in FUHYO.provided_items),
        reprint=False,
    )
    text = library_text(render_form(disclosure_form(record, offices=KANAGAWA))).replace("\n", "")
    assert "附票本人確認情報開示決定通知書" in text and "第30条の44の13" in text and "取扱注意" not in text


def test_F1_3_disclosure_form_page_matches_the_approved_reference() -> None:
    """The printed page as a person sees it (pdftoppm), against the approved reference; also saved as
    docs/screenshots/disclosure-form.png, the README's picture of the form."""
    image = render_page(render_form(disclosure_form(_record(), offices=KANAGAWA)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / "disclosure-form.png", optimize=True)
    assert_matches_reference(image, "disclosure_form_page1")


def _refusal(reason: str = "T_DISCLOSURE_AMBIGUOUS") -> RefusalDecision:
    req = replace(
        _request(),
        status=RequestStatus.REFUSED,
        matched_code=None,
        refusal_code=reason,
        issue_number=None,
        issued_at=None,
        given_name="鈴木\u3000一郎",
        given_birth_date="1980-04-01",
        given_sex="1",
        given_address="神奈川県横浜市鶴見区豊岡町1番1号",
    )
    return RefusalDecision(req, PREF, "第2026-1000001号", date(2026, 12, 5), reason, False)


def test_F1_3_refusal_letter_page_matches_the_approved_reference() -> None:
    """The 不開示決定通知書 as a person sees it (pdftoppm), against the approved reference; also saved as
    docs/screenshots/refusal-letter.png. Its text holds the decision, reason, basis and 教示."""
    pdf = render_form(refusal_letter_form(_refusal(), offices=KANAGAWA))
    text = library_text(pdf).replace("\n", "")
    assert "本人確認情報不開示決定通知書" in text and REFUSAL_LETTER_REASONS["T_DISCLOSURE_AMBIGUOUS"] in text
    assert "昭和55年4月1日（1980年4月1日）" in text  # the birth date as given, in 和暦（西暦）
    image = render_page(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / "refusal-letter.png", optimize=True)
    assert_matches_reference(image, "refusal_letter_page1")


def test_F1_3_every_refusal_code_has_a_letter_text() -> None:
    """Each way a request can end 不開示 — the match's two codes and the counter's — has its sentence."""
    for code in ("T_DISCLOSURE_NO_MATCH", "T_DISCLOSURE_AMBIGUOUS", *COUNTER_REFUSALS):
        text = library_text(render_form(refusal_letter_form(_refusal(code), offices=KANAGAWA))).replace(
            "\n", ""
        )
        assert REFUSAL_LETTER_REASONS[code] in text


# --- issue 14 item 1: the configured prefecture's offices (Q-08) -------------------------------------

SHIZUOKA = offices_for("22")  # shipped as an example entry
SHIZUOKA_NAME = "駿河\u3000花子"
SHIZUOKA_ADDRESS = "静岡県静岡市葵区追手町9番6号"


def _shizuoka_request() -> DisclosureRequest:
    return replace(
        _request(),
        office=SHIZUOKA.disclosure_office,
        given_name=SHIZUOKA_NAME,
        given_address=SHIZUOKA_ADDRESS,
    )


def _shizuoka_forms() -> dict[str, bytes]:
    """Every answer of the counter, for a person of 静岡県 and the 静岡県 offices."""
    labels = {i.column: i.label for i in PREF.items}
    values = {c: d.value for c, d in ((i.column, i) for i in _record().items)}
    values |= {"name_kanji": SHIZUOKA_NAME, "address": SHIZUOKA_ADDRESS}
    record = DisclosedRecord(
        request=_shizuoka_request(),
        spec=PREF,
        issue_number="第2026-1000001号",
        issued_on=date(2026, 12, 5),
        addressee=Addressee(SHIZUOKA_NAME, SHIZUOKA_ADDRESS),
        items=tuple(DisclosedItem(c, labels[c], values[c]) for c in PREF.provided_items),
        reprint=False,
    )
    statement = ProvisionStatement(
        request=replace(_shizuoka_request(), kind=RequestKind.PROVISION_STATUS),
        issue_number="第2026-1000002号",
        issued_on=date(2026, 12, 5),
        addressee=Addressee(SHIZUOKA_NAME, SHIZUOKA_ADDRESS),
        since=date(2019, 12, 5),
        lines=(),
        staff_views=(
            StaffView(datetime(2026, 11, 2, 1, 0, tzinfo=UTC), "view_record", SHIZUOKA.staff_department, 7),
        ),
    )
    refusal = RefusalDecision(
        replace(_shizuoka_request(), status=RequestStatus.REFUSED, refusal_code="T_DISCLOSURE_NO_MATCH"),
        PREF,
        "第2026-1000003号",
        date(2026, 12, 5),
        "T_DISCLOSURE_NO_MATCH",
        False,
    )
    case = CorrectionCase(
        id=1,
        file=PREF.kind,
        case_no="2026-C000001",
        request_no="2026-1000001",
        juminhyo_code="00000000019",
        municipality_code="221015",
        kind=CorrectionKind.CORRECTION,
        items=("address",),
        claim="住所の番地の記載が違う",
        requested={},
        received_on=date(2026, 12, 6),
        due_on=date(2027, 1, 5),
        status=CaseStatus.CLOSED,
        inquiry_id="inq-1",
        inquiry_sent_at=datetime(2026, 12, 6, 1, 0, tzinfo=UTC),
        result=CaseResult.NO_CHANGE,
        municipality_answer="記録に誤りはありません",
        answered_at=datetime(2026, 12, 10, 1, 0, tzinfo=UTC),
        correction_notification=None,
        letter_number="第2026-C000001号",
        closed_at=datetime(2026, 12, 11, 1, 0, tzinfo=UTC),
        created_by="madoguchi1",
        retain_until=date(2031, 12, 6),
    )
    return {
        "disclosure": render_form(disclosure_form(record, offices=SHIZUOKA)),
        "provision_status": render_form(provision_status_form(statement, offices=SHIZUOKA)),
        "refusal": render_form(refusal_letter_form(refusal, offices=SHIZUOKA)),
        "correction": render_form(
            correction_letter_form(case, PREF, SHIZUOKA_NAME, date(2026, 12, 11), offices=SHIZUOKA)
        ),
    }


def test_F1_3_F1_4_S_55_Q_08_forms_for_prefecture_22_name_shizuoka_and_never_kanagawa() -> None:
    """Issue 14: every answer of a 静岡県 server names 静岡県's 知事, contact and signature; its entry
    is an example, so each carries the 【県で確認のうえ確定】 marker."""
    for kind, pdf in _shizuoka_forms().items():
        text = library_text(pdf).replace("\n", "")
        assert "静岡県知事" in text, kind
        assert SHIZUOKA.contact.replace("\u3000", "") in text.replace("\u3000", ""), kind
        assert "静岡県の電子署名" in text and "県で確認のうえ確定" in text, kind
        assert "神奈川" not in text, kind
    refusal = library_text(_shizuoka_forms()["refusal"]).replace("\n", "")
    assert "静岡県を被告として" in refusal  # the 教示 names the prefecture as a legal person
    statement = library_text(_shizuoka_forms()["provision_status"]).replace("\n", "")
    assert SHIZUOKA.staff_department in statement


def test_F1_3_Q_08_kanagawa_forms_keep_their_closing_and_carry_no_example_marker() -> None:
    """Kanagawa's shipped entry is verified: its forms read as before issue 14 (the reference pages
    above hold the layout)."""
    text = library_text(render_form(disclosure_form(_record(), offices=KANAGAWA))).replace("\n", "")
    assert (
        "お問い合わせ先" in text
        and "045-210-3166" in text
        and "神奈川県政策局自治振興部市町村課調整グループ" in text
    )
    assert "この文書には神奈川県の電子署名が付されています。" in text
    assert "県で確認のうえ確定" not in text and "静岡" not in text


def test_Q_08_the_signature_reason_is_the_configured_prefectures(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki", prefecture="22")
    pki.init()
    signed = sign_pdf(
        render_form(disclosure_form(_record(), offices=SHIZUOKA)),
        document_signer(pki),
        reason=SHIZUOKA.signature_reason,
    )
    signature = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    assert str(signature.sig_object["/Reason"]) == "静岡県が発行した文書であることの証明"


def test_F1_3_no_line_of_a_form_starts_with_closing_punctuation() -> None:
    """行頭禁則: a 静岡県 letter printed its last "。" alone at the start of a line (the paragraph was
    broken by fpdf2 at any character); the form's own line breaker carries the character before it."""
    for kind, pdf in _shizuoka_forms().items():
        for line in library_text(pdf).splitlines():
            assert not line.strip().startswith(("。", "、", "）", "」")), (kind, line)
