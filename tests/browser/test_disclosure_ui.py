"""The counter's disclosure flow in a real browser (F1-3, F2-3, C-01): register the written request,
match it, download the signed PDF, and read the PDF as a person would (pdftoppm, text, signature).
Saves a screenshot of the request page in docs/screenshots/ (synthetic persons only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.access.pki import Pki
from juki.store.db import DbRole
from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import bind, enrol, sign_in_webauthn
from tests.factories import apply_accepted, juminhyo, notification, pref_record
from tests.interfaces.forms.pdf_support import library_text, page_count, pdftotext, render_page
from tests.interfaces.terminal_web_support import grant, log_rows

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
NAME = "\ufa19奈川\u3000葛\U000e0102子"  # U+FA19 and an IVS: typed at the counter, printed, copied back
ADDRESS = "神奈川県横浜市鶴見区豊岡町1番1号"


def counter_clerk(new_operator: Any, ui: Terminal) -> Operator:
    """madoguchi1 (窓口担当, 生体認証) signed in at the 代表端末."""
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        ui.world.enrolment_tokens["madoguchi1"] = grant(
            conn, ui.world.settings, ui.world.admin, "madoguchi1", "counter"
        )
    op: Operator = new_operator()
    bind(op, ui)
    op.add_authenticator()
    enrol(op, ui, "madoguchi1")
    sign_in_webauthn(op, ui, "madoguchi1")
    expect(op.page.get_by_role("link", name="開示請求（窓口）").first).to_be_visible()
    return op


def test_F1_3_counter_registers_matches_and_downloads_the_signed_form(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """F1-3/C-01: request → 照合 (one person) → 交付: the PDF downloads, is signed by the prefecture,
    shows the person's name as stored (U+FA19, IVS) and logs every step; the ambiguous request is refused."""
    apply_accepted(
        terminal_ui.db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(8101),
            record=pref_record(
                8101, name_kanji=NAME, name_kana="カナガワ　カツコ", sex="2", birth_date="1985-03-04"
            ),
        ),
    )
    op = counter_clerk(new_operator, terminal_ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("link", name="開示請求（窓口）").first.click()
    expect(page.get_by_role("heading", name="開示請求の受付（窓口）")).to_be_visible()
    page.get_by_label("氏名").fill(NAME)
    page.get_by_label("生年月日").fill("昭和60年3月4日")
    page.get_by_label("住所", exact=True).fill(ADDRESS)
    page.get_by_role("button", name="受付").click()
    expect(page.locator("#request-status")).to_contain_text("受付")
    assert "?" not in page.url and NAME not in page.url  # the personal data was POSTed
    page.get_by_role("button", name="照合").click()
    expect(page.locator("#request-status")).to_contain_text("照合済")
    page.screenshot(path=str(SCREENSHOTS / "terminal-disclosure-request.png"))
    with page.expect_download() as info:
        page.get_by_role("button", name="交付（PDF）").click()
    pdf = Path(info.value.path()).read_bytes()

    from juki.interfaces.forms import verify_pdf

    pki = Pki(terminal_ui.app.state.web.settings.pki_directory)
    status = verify_pdf(pdf, pki.ca_cert_path, pki.crl_path)
    assert status.genuine, status.reason
    text = library_text(pdf)
    assert NAME in text and juminhyo(8101) in text and "昭和60年3月4日" in text
    assert "住民基本台帳法第30条の32" in text and "取扱注意" in text
    assert page_count(pdf) >= 1 and render_page(pdf).getbbox() is not None  # pdftoppm renders it
    page.goto(terminal_ui.url("/disclosure"))
    expect(page.locator("#requests-pref")).to_contain_text("交付済")

    events = [r["detail"]["event"] for r in log_rows(terminal_ui.db, "function = 'disclosure'")]
    for step in ("disclosure_register", "disclosure_match", "disclosure_issue"):
        assert step in events


def test_F1_3_request_matching_nobody_ends_with_a_signed_refusal_letter(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """F1-3: a request that matches nobody → 照合 → 不開示 → the 不開示決定通知書 downloads, signed, and
    reads (as text and as a rendered page) with the decision, the reason, 第30条の32 and the 教示 —
    and nothing of the person who does live at that address."""
    apply_accepted(
        terminal_ui.db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(8103),
            record=pref_record(
                8103, name_kanji=NAME, name_kana="カナガワ　カツコ", sex="2", birth_date="1985-03-04"
            ),
        ),
    )
    op = counter_clerk(new_operator, terminal_ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.goto(terminal_ui.url("/disclosure"))
    page.get_by_label("氏名").fill("神田\u3000花子")  # nobody of that name at the address
    page.get_by_label("生年月日").fill("昭和60年3月4日")
    page.get_by_label("住所", exact=True).fill(ADDRESS)
    page.get_by_role("button", name="受付").click()
    page.get_by_role("button", name="照合").click()
    expect(page.locator("#request-status")).to_contain_text("不開示")
    expect(page.locator("#request-status")).to_contain_text("T_DISCLOSURE_NO_MATCH")
    expect(page.get_by_role("button", name="交付（PDF）")).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("button", name="不開示決定通知書（PDF）").click()
    assert info.value.suggested_filename.startswith("refusal-pref-")
    pdf = Path(info.value.path()).read_bytes()
    page.reload()
    expect(page.locator("#request-status")).to_contain_text("不開示決定通知書 第")
    expect(page.locator("#request-events")).to_contain_text("不開示決定通知書を発行")
    page.screenshot(path=str(SCREENSHOTS / "terminal-disclosure-refused.png"))

    from juki.interfaces.forms import verify_pdf

    pki = Pki(terminal_ui.app.state.web.settings.pki_directory)
    status = verify_pdf(pdf, pki.ca_cert_path, pki.crl_path)
    assert status.genuine, status.reason
    text = library_text(pdf).replace("\n", "")  # table cells wrap: read the sentences whole
    assert "本人確認情報不開示決定通知書" in text and "開示しない（不開示）" in text
    assert "一致する記録がありませんでした" in text and "住民基本台帳法第30条の32" in text
    assert "審査請求" in text and "県で確認のうえ確定" in text
    assert "神田\u3000花子" in text  # addressed to the requester as they wrote it
    assert NAME not in text and juminhyo(8103) not in text  # the person living there is not on it
    layout = pdftotext(pdf)
    assert "不開示決定通知書" in layout and "行政不服審査法" in layout
    image = render_page(pdf)  # page 1 as pdftoppm draws it: the title block and the decision table
    assert image.getbbox() is not None and page_count(pdf) >= 1
    assert_title_is_printed(image)

    letters = log_rows(terminal_ui.db, "detail->>'event' = 'disclosure_refusal_letter'")
    assert len(letters) == 1 and letters[0]["target"] is None and letters[0]["operator_login"] == "madoguchi1"


def assert_title_is_printed(image: Any) -> None:
    """The rendered page has ink in the title band and in the table area, not just a blank sheet."""
    width, height = image.size
    title_band = image.crop((0, int(height * 0.18), width, int(height * 0.26)))
    table_band = image.crop((0, int(height * 0.30), width, int(height * 0.60)))
    assert title_band.getextrema()[0] < 128 and table_band.getextrema()[0] < 128


def test_F1_4_S60_counter_registers_a_correction_and_records_an_inquiry(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """F1-4: after a disclosure, the 申出 is registered against its request number and waits for the
    inquiry; S-60: an inquiry is recorded with the signed-in operator as the one who answered."""
    apply_accepted(
        terminal_ui.db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(8102),
            record=pref_record(
                8102, name_kanji=NAME, name_kana="カナガワ　カツコ", sex="2", birth_date="1985-03-04"
            ),
        ),
    )
    op = counter_clerk(new_operator, terminal_ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.goto(terminal_ui.url("/disclosure"))
    page.get_by_label("氏名").fill(NAME)
    page.get_by_label("生年月日").fill("1985-03-04")
    page.get_by_label("住所", exact=True).fill(ADDRESS)
    page.get_by_role("button", name="受付").click()
    request_no = page.get_by_role("heading", level=1).inner_text().split()[1]
    page.get_by_role("button", name="照合").click()
    with page.expect_download():
        page.get_by_role("button", name="交付（PDF）").click()

    page.get_by_role("link", name="訂正等の申出").first.click()
    page.get_by_label("開示の請求番号").fill(request_no)
    page.get_by_label("正しいとする内容（記載があれば）").fill("神奈川　葛子")
    page.get_by_label("申出の内容").fill("氏名の「神」の字体が違う")
    page.get_by_role("button", name="申出を登録").click()
    expect(page.locator("#cases-table-pref")).to_contain_text("申出受付")
    page.get_by_role("button", name="市町村へ照会").click()
    expect(page.locator("#cases-table-pref")).to_contain_text("調査中")

    page.get_by_role("link", name="問合せ記録").first.click()
    page.get_by_label("受付の方法").select_option("phone")
    page.get_by_label("問合せの要旨").fill("提供状況の開示の方法")
    page.get_by_label("回答").fill("窓口で請求書を提出するよう案内")
    page.get_by_role("button", name="記録").click()
    expect(page.locator("#inquiry-entries")).to_contain_text("madoguchi1")
    page.screenshot(path=str(SCREENSHOTS / "terminal-inquiry-log.png"))
    events = {r["detail"]["event"] for r in log_rows(terminal_ui.db, "function = 'inquiry_log'")}
    assert {"inquiry_record", "inquiry_search"} <= events
