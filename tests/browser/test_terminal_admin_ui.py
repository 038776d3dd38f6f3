"""Administration on screen and the 離席 lock in a real browser (Debian chromium + Playwright, HTTPS,
WebAuthn by Chromium's virtual authenticator): issue 10 items 10 and 11, REQUIREMENTS S-01, S-04,
S-07..S-12. Each test saves a 1280×800 screenshot of the page it adds in docs/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.access import bootstrap
from juki.store.db import DbRole
from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import bind, searcher, sign_in_password, sign_in_webauthn
from tests.interfaces.terminal_web_support import ADMIN_PASSWORD, log_rows

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def administrator(new_operator: Any, ui: Terminal, terminal: str = "業務端末1") -> Operator:
    """admin1 (password) signed in at `terminal`."""
    op: Operator = new_operator()
    op.page.set_viewport_size(VIEWPORT)
    bind(op, ui, terminal)
    sign_in_password(op, ui, "admin1", ADMIN_PASSWORD)
    expect(op.page.get_by_role("heading", name="業務メニュー")).to_be_visible()
    return op


def test_issue10_S07_operator_added_and_enrolled_on_screen(new_operator: Any, terminal_ui: Terminal) -> None:
    """Issue 10 / S-07: the administrator adds an operator on 操作者の管理 and is shown the one-time
    enrolment link; the operator opens it at their terminal, registers 生体認証 and signs in. The
    administrator issues a new link (the old one is void). All of it is in the operation log."""
    ui = terminal_ui
    admin = administrator(new_operator, ui)
    page = admin.page
    page.locator("nav.menu").get_by_role("link", name="操作者の管理").click()
    page.get_by_label("操作者ID").fill("tanaka1")
    page.get_by_label("表示名（氏名）").fill("田中 花子")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("status")).to_contain_text("操作者 tanaka1 を登録しました")
    link = page.locator("#one-time-link-url").inner_text()
    assert link.startswith(ui.origin + "/enrol/")
    expect(page.locator('tr[data-login="tanaka1"]')).to_contain_text("未登録")
    page.screenshot(path=str(SCREENSHOTS / "terminal-admin-operators.png"))

    newcomer: Operator = new_operator()
    bind(newcomer, ui)
    newcomer.add_authenticator()
    newcomer.page.goto(link)
    expect(newcomer.page.get_by_text("操作者 tanaka1 の認証情報を登録します")).to_be_visible()
    newcomer.page.get_by_role("button", name="生体認証を登録").click()
    expect(newcomer.page.get_by_role("heading", name="登録しました")).to_be_visible()
    sign_in_webauthn(newcomer, ui, "tanaka1")
    expect(newcomer.page.get_by_role("heading", name="業務メニュー")).to_be_visible()
    expect(newcomer.page.get_by_text("利用できる業務がありません")).to_be_visible()
    expect(newcomer.page.get_by_role("link", name="操作者の管理")).to_have_count(0)

    page.reload()
    expect(page.locator('tr[data-login="tanaka1"]')).to_contain_text("生体認証 1件")
    page.get_by_role("button", name="tanaka1 の登録用リンクを発行").click()
    again = page.locator("#one-time-link-url").inner_text()
    assert again != link
    newcomer.page.goto(link)
    expect(newcomer.page.locator("[data-error-code]")).to_have_text("T_ENROLMENT_INVALID")
    events = [r["detail"].get("event") for r in log_rows(ui.db, "target = 'tanaka1'")]
    assert {"operator_create", "enrol_webauthn", "sign_in", "operator_enrolment_link"} <= set(events)


def test_issue10_S12_second_administrator_from_the_bootstrap_link(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Issue 10 / S-12: the link `juki admin bootstrap` prints lets the signed-in first administrator
    register exactly one second administrator; a second use is refused."""
    ui = terminal_ui
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        token = bootstrap.issue_second_admin_grant(conn, ui.world.settings, os_user="setup-user")
    admin = administrator(new_operator, ui)
    page = admin.page
    page.goto(ui.url(f"/admin/bootstrap/{token}"))
    page.get_by_label("操作者ID").fill("admin2")
    page.get_by_label("表示名（氏名）").fill("管理 二郎")
    page.screenshot(path=str(SCREENSHOTS / "terminal-admin-second-administrator.png"))
    page.get_by_role("button", name="システム管理者として登録する").click()
    expect(page.get_by_role("status")).to_contain_text("admin2 をシステム管理者として登録しました")
    expect(page.locator("#one-time-link-url")).to_contain_text("/enrol/")
    page.goto(ui.url(f"/admin/bootstrap/{token}"))
    expect(page.locator("[data-error-code]")).to_have_text("T_ENROLMENT_INVALID")
    page.goto(ui.url("/rights/inventory"))
    expect(page.locator("#inventory")).to_contain_text("admin2")


def test_issue10_S07_terminal_added_bound_and_flagged_on_screen(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Issue 10 / S-07, S-29: the administrator registers a 業務端末 on 端末の管理, the new machine's
    browser opens the binding link and becomes that terminal; the bulk flag is switched on screen."""
    ui = terminal_ui
    admin = administrator(new_operator, ui)
    page = admin.page
    page.locator("nav.menu").get_by_role("link", name="端末の管理").click()
    page.get_by_label("端末名").fill("業務端末9")
    page.get_by_label("種別").select_option("business")
    page.get_by_role("button", name="登録する").click()
    link = page.locator("#one-time-link-url").inner_text()
    assert link.startswith(ui.origin + "/terminal/bind/")

    machine: Operator = new_operator()
    machine.page.goto(link)
    machine.page.get_by_role("button", name="この端末を設定する").click()
    expect(machine.page.get_by_role("heading", name="端末を設定しました")).to_be_visible()
    machine.page.goto(ui.url("/signin"))
    expect(machine.page.get_by_role("banner")).to_contain_text("端末: 業務端末9")

    page.goto(ui.url("/admin/terminals"))
    row = page.locator('tr[data-terminal="業務端末9"]')
    expect(row).to_contain_text("登録済み")
    page.get_by_role("button", name="業務端末9 の一括出力を許可").click()
    expect(page.get_by_role("status")).to_contain_text("一括出力を許可しました")
    expect(row).to_contain_text("可")
    row.scroll_into_view_if_needed()  # the screenshot shows the new terminal's row
    page.screenshot(path=str(SCREENSHOTS / "terminal-admin-terminals.png"))
    page.get_by_role("button", name="業務端末9 を廃止").click()
    expect(page.get_by_role("heading", name="端末の廃止の確認")).to_be_visible()
    page.get_by_role("button", name="廃止する").click()
    expect(row).to_contain_text("廃止")
    machine.page.goto(ui.url("/signin"))
    expect(machine.page.locator("[data-error-code]")).to_have_text("T_TERMINAL_UNKNOWN")


def test_issue10_S12_applicant_does_not_see_the_approve_button(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-12: the administrator who applied (here for themselves) sees no 承認 button on their own
    application, only that another administrator decides."""
    ui = terminal_ui
    admin = administrator(new_operator, ui)
    page = admin.page
    page.locator("nav.menu").get_by_role("link", name="権限の申請・承認").click()
    page.get_by_label("役割").select_option("auditor")
    page.get_by_label("申請理由").fill("監査の応援")
    page.get_by_role("button", name="申請する").click()
    expect(page.get_by_role("status")).to_contain_text("申請しました")
    row = page.locator("#pending-applications tbody tr").filter(has_text="監査の応援")
    expect(row).to_contain_text("別の管理者が承認します")
    expect(row.get_by_role("button", name="承認")).to_have_count(0)
    expect(row.get_by_role("button", name="却下")).to_be_visible()


def test_issue10_S09_revocation_asks_for_confirmation_and_tells_the_operator_why(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-09 / issue 10: 取消 on the inventory first shows a confirmation naming the operator, the
    role and the reason; only 取り消す revokes. The operator's next page says which right went and
    why, and the log has the reason."""
    ui = terminal_ui
    searching = searcher(new_operator, ui)
    admin = administrator(new_operator, ui)
    page = admin.page
    page.locator("nav.menu").get_by_role("link", name="権限の棚卸し").click()
    page.get_by_label("取消の理由（kensaku1 の 本人確認情報 担当）").fill("異動のため")
    page.locator("#inventory tr").filter(has_text="kensaku1").get_by_role("button", name="取消").click()
    expect(page.get_by_role("heading", name="権限の取消の確認")).to_be_visible()
    expect(page.locator("#revoke-confirm")).to_contain_text("本人確認情報 担当")
    expect(page.locator("#revoke-reason-shown")).to_have_text("異動のため")
    page.screenshot(path=str(SCREENSHOTS / "terminal-rights-revoke-confirm.png"))
    searching.page.reload()  # not revoked yet
    expect(searching.page.get_by_role("heading", name="業務メニュー")).to_be_visible()
    page.get_by_role("button", name="取り消す").click()
    expect(page.get_by_role("status")).to_contain_text("取り消しました（終了したセッション 1 件）")
    searching.page.reload()
    notice = searching.page.get_by_role("status")
    expect(notice).to_contain_text("本人確認情報 担当")
    expect(notice).to_contain_text("理由: 異動のため")
    expect(searching.page.get_by_role("heading", name="サインイン")).to_be_visible()
    # Signing in again, the first page repeats it once: the right went since the last session.
    searching.page.get_by_label("操作者ID").fill("kensaku1")
    searching.page.get_by_role("button", name="生体認証でサインイン").click()
    expect(searching.page.get_by_role("status")).to_contain_text("前回のサインインの後")
    expect(searching.page.get_by_role("status")).to_contain_text("理由: 異動のため")
    searching.page.reload()
    expect(searching.page.get_by_role("status")).to_have_count(0)
    revoked = [
        r for r in log_rows(ui.db, "function = 'rights_admin'") if r["detail"].get("event") == "rights_revoke"
    ]
    assert len(revoked) == 1 and revoked[0]["target"] == "kensaku1"
    with ui.db.connect() as conn:
        reason = conn.execute("SELECT reason FROM term.rights_ledger WHERE event = 'revoked'").fetchone()
    assert reason == ("異動のため",)


def test_issue11_S04_leave_button_and_key_lock_and_unlock_returns_to_the_page(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Issue 10 item 11 / S-04: the header's 離席 button locks at once; the lock page names whose
    session it is and when it locked; 生体認証 unlocks and returns to the page that was open. The key
    Ctrl+Alt+L does the same."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.locator("nav.menu").get_by_role("link", name="4情報検索（本人確認情報）").click()
    expect(page.get_by_label("氏名（漢字またはかな）")).to_be_visible()
    page.get_by_role("button", name="離席").click()
    expect(page.get_by_role("heading", name="画面ロック中")).to_be_visible()
    expect(page.locator("#lock-owner")).to_have_text("kensaku1 表示名（kensaku1）")
    expect(page.locator("#lock-time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    assert "search" not in page.url
    page.screenshot(path=str(SCREENSHOTS / "terminal-lock.png"))
    page.get_by_role("button", name="生体認証で再認証").click()
    expect(page).to_have_url(ui.url("/search/pref"))
    expect(page.get_by_label("氏名（漢字またはかな）")).to_be_visible()

    page.wait_for_load_state("load")  # leave.js is a deferred script: listening once the page loaded
    page.keyboard.press("Control+Alt+KeyL")
    expect(page.get_by_role("heading", name="画面ロック中")).to_be_visible()
    page.get_by_role("button", name="生体認証で再認証").click()
    expect(page).to_have_url(ui.url("/search/pref"))
    events = [r["detail"].get("event") for r in log_rows(ui.db, "operator_login = 'kensaku1'")]
    assert events.count("manual_lock") == 2 and events.count("unlock") == 2


def test_issue10_S02_enter_on_the_sign_in_page_does_not_count_a_failure(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Issue 10 "done means": Enter in the ID field (and in the empty password field) submits no
    attempt the throttle counts — no failure row for the ID at any terminal, no log row — and the
    browser asks for the password instead."""
    ui = terminal_ui
    op: Operator = new_operator()
    bind(op, ui)
    op.page.goto(ui.url("/signin"))
    op.page.get_by_label("操作者ID").fill("kansa1")
    for _ in range(ui.world.settings.lockout_threshold + 2):
        op.page.get_by_label("操作者ID").press("Enter")
        op.page.get_by_label("パスワード").press("Enter")
    expect(op.page).to_have_url(ui.url("/signin"))
    expect(op.page.get_by_label("パスワード")).to_be_focused()
    with ui.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM term.sign_in_failures").fetchone() == (0,)
    assert log_rows(ui.db, "claimed_login = 'kansa1' AND function = 'sign_in' AND outcome <> 'allow'") == []
