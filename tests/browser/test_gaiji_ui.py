"""The 外字 registry screen in a real browser (DOMAIN §7, S-12; issue 12 gap 3): an administrator
proposes the glyph of a municipality's private-use 外字, sees that they cannot approve it themselves,
another administrator approves it, the registry lists it with its new version and File 1's
外字変更連番 went up; the disclosure form printed afterwards carries the registered glyph where the
first print had 〓. Saves docs/screenshots/terminal-admin-gaiji.png (synthetic data only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.access import operators, rights_ledger
from juki.store.db import DbRole
from tests.browser.browser_support import Terminal
from tests.browser.test_disclosure_ui import ADDRESS, counter_clerk
from tests.browser.test_terminal_admin_ui import administrator
from tests.browser.test_terminal_ui import sign_in_password
from tests.factories import apply_accepted, juminhyo, notification, pref_record
from tests.interfaces.forms.pdf_support import library_text, render_page
from tests.interfaces.terminal_web_support import ADMIN_PASSWORD, log_rows

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PUA = "\ue001"
NAME = PUA + "田\u3000花子"  # a municipality's 外字 at U+E001 as the first character of the name
GLYPH = "辻\U000e0102"  # 辻 with a Moji_Joho IVS: what U+E001 is registered to print as


def _second_administrator(ui: Terminal) -> None:
    """admin2 with a password, given the admin role by the one-time bootstrap grant (S-12's setup)."""
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        operator, token = operators.create_operator(
            conn, ui.world.settings, "admin2", "管理 二郎", by=ui.world.admin
        )
        with conn.transaction():
            rights_ledger.grant_second_admin(conn, operator.id, ui.world.admin)
        operators.enrol_password(conn, token, ADMIN_PASSWORD)


def test_DOMAIN7_S12_gaiji_registered_by_four_eyes_and_printed_on_the_next_form(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    ui = terminal_ui
    apply_accepted(
        ui.db,
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(8201),
            record=pref_record(
                8201, name_kanji=NAME, name_kana="ツジタ　ハナコ", sex="2", birth_date="1990-01-02"
            ),
        ),
    )
    _second_administrator(ui)

    # The counter prints a disclosure while U+E001 is not registered: 〓, with the note.
    clerk = counter_clerk(new_operator, ui)
    desk = clerk.page
    desk.goto(ui.url("/disclosure"))
    desk.get_by_label("氏名").fill(NAME)
    desk.get_by_label("生年月日").fill("1990-01-02")
    desk.get_by_label("住所", exact=True).fill(ADDRESS)
    desk.get_by_role("button", name="受付").click()
    desk.get_by_role("button", name="照合").click()
    expect(desk.locator("#request-status")).to_contain_text("照合済")
    with desk.expect_download() as first:
        desk.get_by_role("button", name="交付（PDF）").click()
    before = library_text(Path(first.value.path()).read_bytes())
    assert "〓田\u3000花子" in before and "登録されていない外字" in before and PUA not in before

    # admin1 proposes; their own proposal has no 承認 button.
    admin = administrator(new_operator, ui)
    page = admin.page
    page.locator("nav.menu").get_by_role("link", name="外字の登録").click()
    expect(page.get_by_role("heading", name="外字の登録", level=1)).to_be_visible()
    expect(page.locator("#gaiji-registry")).to_contain_text("登録された外字はありません")
    page.get_by_label("符号位置").fill("U+E001")
    page.get_by_label("MJ文字図形名").fill("MJ025760")
    page.get_by_label("字形（IPAmj明朝の文字）").fill(GLYPH)
    page.get_by_label("申請の理由").fill("横浜市からの外字（辻の異体字）の登録")
    page.get_by_role("button", name="申請する").click()
    expect(page.get_by_role("status")).to_contain_text("別の管理者が承認すると登録されます")
    row = page.locator("#gaiji-proposals tbody tr").filter(has_text="U+E001")
    expect(row).to_contain_text("承認待ち")
    expect(row).to_contain_text("U+8FBB U+E0102")  # the sequence's code points, for checking
    expect(row.get_by_role("button", name="承認")).to_have_count(0)
    expect(row).to_contain_text("別の管理者の承認待ち")

    # A malformed proposal is refused with its code and a Japanese reason, the typed values kept.
    page.get_by_label("符号位置").fill("U+8FBB")
    page.get_by_label("MJ文字図形名").fill("MJ025760")
    page.get_by_label("字形（IPAmj明朝の文字）").fill("辻")
    page.get_by_label("申請の理由").fill("誤り")
    page.get_by_role("button", name="申請する").click()
    expect(page.locator("[data-error-code]")).to_have_text("T_GAIJI_INPUT")
    expect(page.get_by_role("alert")).to_contain_text("私用領域")
    expect(page.get_by_label("符号位置")).to_have_value("U+8FBB")

    # admin2 signs in at the same terminal and approves.
    page.get_by_role("button", name="サインアウト").click()
    sign_in_password(admin, ui, "admin2", ADMIN_PASSWORD)
    page.goto(ui.url("/admin/gaiji"))
    row = page.locator("#gaiji-proposals tbody tr").filter(has_text="U+E001")
    row.get_by_role("button", name="承認").click()
    expect(page.get_by_role("status")).to_contain_text("版 1")
    entry = page.locator("#gaiji-registry tr[data-code-point='U+E001']")
    expect(entry).to_contain_text("MJ025760")
    expect(entry.locator(".glyph")).to_have_text(GLYPH)
    expect(page.locator("#gaiji-proposals tbody tr").filter(has_text="U+E001")).to_contain_text(
        "承認（admin2"
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / "terminal-admin-gaiji.png"), full_page=True)

    # The counter's reprint now carries the registered glyph (copied back as 辻 + IVS).
    desk.reload()
    with desk.expect_download() as second:
        desk.get_by_role("button", name="再印刷（PDF）").click()
    pdf = Path(second.value.path()).read_bytes()
    after = library_text(pdf)
    assert GLYPH + "田\u3000花子" in after and "〓" not in after and PUA not in after
    assert render_page(pdf).getbbox() is not None

    events = [r["detail"]["event"] for r in log_rows(ui.db, "function = 'gaiji_admin'")]
    assert events.count("gaiji_propose") == 2 and "gaiji_approve" in events and "gaiji_list" in events
    refused = log_rows(ui.db, "function = 'gaiji_admin' AND outcome = 'rejected'")
    assert [r["detail"]["event"] for r in refused] == ["gaiji_propose"]  # the malformed one, logged
