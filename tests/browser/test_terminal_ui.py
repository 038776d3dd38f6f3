"""The terminal UI in a real browser (Debian chromium + Playwright, HTTPS on localhost, WebAuthn by
Chromium's virtual authenticator): REQUIREMENTS S-01, S-02, S-03, S-04, S-07, S-15, S-16, S-25.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from juki.services.search.conditions import MINIMUM_RULES
from tests.browser.browser_support import Operator, Terminal
from tests.interfaces.terminal_web_support import (
    AUDITOR_PASSWORD,
    MOVED_ADDRESS,
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    RESIDENT_NAME,
    log_rows,
)


def bind(op: Operator, ui: Terminal, terminal: str = "代表端末") -> None:
    """Open the one-time binding link in this browser and confirm: it becomes the terminal."""
    op.page.goto(ui.url(f"/terminal/bind/{ui.world.binding_tokens[terminal]}"))
    op.page.get_by_role("button", name="この端末を設定する").click()
    expect(op.page.get_by_role("heading", name="端末を設定しました")).to_be_visible()


def enrol(op: Operator, ui: Terminal, login: str) -> None:
    """Register this browser's authenticator for `login` with the enrolment link."""
    op.page.goto(ui.url(f"/enrol/{ui.world.enrolment_tokens[login]}"))
    op.page.get_by_role("button", name="生体認証を登録").click()
    expect(op.page.get_by_role("heading", name="登録しました")).to_be_visible()


def sign_in_webauthn(op: Operator, ui: Terminal, login: str) -> None:
    op.page.goto(ui.url("/signin"))
    op.page.get_by_label("操作者ID").fill(login)
    op.page.get_by_role("button", name="生体認証でサインイン").click()


def sign_in_password(op: Operator, ui: Terminal, login: str, password: str) -> None:
    op.page.goto(ui.url("/signin"))
    op.page.get_by_label("操作者ID").fill(login)
    op.page.get_by_label("パスワード").fill(password)
    op.page.get_by_role("button", name="パスワードでサインイン").click()


def searcher(new_operator: Any, ui: Terminal) -> Operator:
    """kensaku1 (本人確認情報 担当, 生体認証 only) signed in at the 代表端末."""
    op: Operator = new_operator()
    bind(op, ui)
    op.add_authenticator()
    enrol(op, ui, "kensaku1")
    sign_in_webauthn(op, ui, "kensaku1")
    expect(op.page.get_by_role("heading", name="業務メニュー")).to_be_visible()
    return op


def auditor(new_operator: Any, ui: Terminal) -> Operator:
    """kansa1 (監査担当, password allowed) signed in at 業務端末1."""
    op: Operator = new_operator()
    bind(op, ui, "業務端末1")
    sign_in_password(op, ui, "kansa1", AUDITOR_PASSWORD)
    expect(op.page.get_by_role("link", name="操作ログの点検").first).to_be_visible()
    return op


def search_resident(page: Page, ui: Terminal) -> None:
    page.get_by_role("link", name="4情報検索（本人確認情報）").first.click()
    page.get_by_label("氏名（漢字またはかな）").fill(RESIDENT_KANA)
    page.get_by_label("生年月日").fill(RESIDENT_BIRTH)
    page.get_by_role("button", name="検索", exact=True).click()
    expect(page.get_by_role("heading", name="検索結果 1 件")).to_be_visible()


def test_S01_S02_webauthn_registration_and_sign_in(new_operator: Any, terminal_ui: Terminal) -> None:
    """S-01/S-02: the operator registers a platform authenticator with user verification at the
    enrolment link, then signs in with ID + 生体認証 and gets the menu of their role."""
    op = searcher(new_operator, terminal_ui)
    expect(op.page.get_by_role("link", name="4情報検索（本人確認情報）").first).to_be_visible()
    expect(op.page.get_by_text("本人確認情報 担当")).to_be_visible()
    credentials = op.cdp.send("WebAuthn.getCredentials", {"authenticatorId": op.authenticator_id})
    assert len(credentials["credentials"]) == 1
    events = [
        r["detail"]["event"]
        for r in log_rows(terminal_ui.db, "coalesce(operator_login, claimed_login) = 'kensaku1'")
    ]
    assert events[-2:] == ["enrol_webauthn", "sign_in"]


def test_S01_sign_in_without_user_verification_is_refused(new_operator: Any, terminal_ui: Terminal) -> None:
    """S-01: an authenticator that does not verify the user (isUserVerified=false) gets nobody in.
    Asked honestly (userVerification "required") Chromium itself refuses; and when the options are
    tampered with on the way so that the browser does send an assertion without UV, the server
    refuses it with T_WEBAUTHN_UV_REQUIRED and logs the failure."""
    ui = terminal_ui
    newcomer: Operator = new_operator()
    bind(newcomer, ui)
    newcomer.add_authenticator(user_verified=False)
    newcomer.page.goto(ui.url(f"/enrol/{ui.world.enrolment_tokens['shinki1']}"))
    newcomer.page.get_by_role("button", name="生体認証を登録").click()
    expect(newcomer.page.get_by_role("alert")).to_contain_text("NotAllowedError")
    with ui.db.connect() as conn:
        registered = conn.execute(
            "SELECT count(*) FROM term.webauthn_credentials c JOIN term.operators o ON o.id = c.operator_id"
            " WHERE o.login = 'shinki1'"
        ).fetchone()
    assert registered == (0,)

    op: Operator = new_operator()
    bind(op, ui, "業務端末1")
    op.add_authenticator(user_verified=True)
    enrol(op, ui, "kensaku1")
    op.set_user_verified(False)
    sign_in_webauthn(op, ui, "kensaku1")
    expect(op.page.get_by_role("alert")).to_contain_text("NotAllowedError")

    def downgrade(route: Route) -> None:
        """A man in the middle asking the authenticator not to verify the user."""
        response = route.fetch()
        options = response.json()
        options["userVerification"] = "discouraged"
        route.fulfill(response=response, json=options)

    op.page.route("**/webauthn/signin/options", downgrade)
    sign_in_webauthn(op, ui, "kensaku1")
    expect(op.page.get_by_role("alert")).to_contain_text("T_WEBAUTHN_UV_REQUIRED")
    expect(op.page.get_by_role("alert")).to_contain_text("本人確認（生体認証またはPIN）が行われませんでした")
    op.page.goto(ui.url("/"))
    expect(op.page).to_have_url(ui.url("/signin"))  # no session was opened
    refusals = [r["detail"].get("refusal") for r in log_rows(ui.db, "outcome = 'failure'")]
    assert "T_WEBAUTHN_UV_REQUIRED" in refusals


def test_S02_S03_password_sign_in_and_lockout(new_operator: Any, terminal_ui: Terminal) -> None:
    """S-02/S-03: ID + password where the role allows it; three wrong passwords throttle this terminal
    for the ID, and then even the right one is refused there (T_AUTH_THROTTLED; hardening 12)."""
    ui = terminal_ui
    op = auditor(new_operator, ui)
    op.page.get_by_role("button", name="サインアウト").click()
    expect(op.page).to_have_url(ui.url("/signin"))
    for attempt in range(3):
        sign_in_password(op, ui, "kansa1", f"wrong password {attempt}")
        expected = "T_AUTH_THROTTLED" if attempt == 2 else "T_AUTH_FAILED"
        expect(op.page.get_by_role("alert")).to_contain_text(expected)
        expect(op.page.get_by_label("操作者ID")).to_have_value("kansa1")
        expect(op.page.get_by_label("パスワード")).to_have_value("")
    sign_in_password(op, ui, "kansa1", AUDITOR_PASSWORD)
    expect(op.page.get_by_role("alert")).to_contain_text("しばらく受け付けません")
    rows = log_rows(
        ui.db,
        "operator_login IS NULL AND claimed_login = 'kansa1' AND function = 'sign_in' AND outcome = 'failure'",
    )
    assert len(rows) == 4 and rows[2]["detail"].get("throttled") is True


def test_hardening_12_S01_S02_enter_after_the_id_is_not_a_failed_attempt(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Pressing Enter after typing the ID used to submit an empty password that counted as a failure:
    five Enters locked out kensaku1, who has no password at all. Now nothing is submitted, nothing is
    counted, and 生体認証 still signs in."""
    ui = terminal_ui
    op: Operator = new_operator()
    bind(op, ui)
    op.add_authenticator()
    enrol(op, ui, "kensaku1")
    op.page.goto(ui.url("/signin"))
    op.page.get_by_label("操作者ID").fill("kensaku1")
    for _ in range(6):
        op.page.get_by_label("操作者ID").press("Enter")
    expect(op.page).to_have_url(ui.url("/signin"))
    expect(op.page.get_by_label("パスワード")).to_be_focused()  # the browser asks for the password
    rows = log_rows(
        ui.db,
        "coalesce(operator_login, claimed_login) = 'kensaku1' AND function = 'sign_in' AND outcome <> 'allow'",
    )
    assert rows == []
    op.page.get_by_role("button", name="生体認証でサインイン").click()
    expect(op.page.get_by_role("heading", name="業務メニュー")).to_be_visible()


def test_S04_idle_lock_hides_data_and_needs_reauthentication(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-04: after the idle time the screen is replaced by the lock screen — no personal data left in
    the DOM — the server refuses data requests (T_SESSION_LOCKED) and only re-authentication
    (生体認証) unlocks."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    ui.set_idle_lock(3)
    op.page.reload()
    search_resident(op.page, ui)
    expect(op.page.get_by_role("cell", name=RESIDENT_NAME, exact=True)).to_be_visible()
    # Hands off the keyboard and mouse: idle.js locks the screen after 3 s.
    expect(op.page.get_by_role("heading", name="画面ロック中")).to_be_visible(timeout=10_000)
    html = op.page.content()
    for personal in (RESIDENT_NAME, RESIDENT_KANA, ui.world.resident_code, "search-results"):
        assert personal not in html, personal
    assert op.page.locator("main#main, #search-results, nav.menu").count() == 0
    # The server agrees: any page is the lock page now.
    op.page.goto(ui.url("/search/pref"))
    expect(op.page.get_by_role("heading", name="画面ロック中")).to_be_visible()
    expect(op.page.get_by_label("氏名（漢字またはかな）")).to_have_count(0)
    events = [r["detail"].get("event") for r in log_rows(ui.db, "operator_login = 'kensaku1'")]
    assert {"manual_lock", "idle_lock"} & set(events)
    # Re-authenticate with the same authenticator.
    ui.set_idle_lock(600)
    op.page.get_by_role("button", name="生体認証で再認証").click()
    # Issue 10 item 11: back to the page that was open — the search form, without the results.
    expect(op.page).to_have_url(ui.url("/search/pref"))
    expect(op.page.get_by_label("氏名（漢字またはかな）")).to_be_visible()
    expect(op.page.locator("#search-results")).to_have_count(0)
    assert "unlock" in [r["detail"].get("event") for r in log_rows(ui.db, "operator_login = 'kensaku1'")]


def test_S25_search_with_too_few_conditions_shows_the_rule(new_operator: Any, terminal_ui: Terminal) -> None:
    """S-25: a name alone is not enough; the page says what is missing and lists the combinations."""
    op = searcher(new_operator, terminal_ui)
    page = op.page
    page.get_by_role("link", name="4情報検索（本人確認情報）").first.click()
    for rule in MINIMUM_RULES:
        expect(page.locator("#search-rules")).to_contain_text(rule.label)
    page.get_by_label("氏名（漢字またはかな）").fill(RESIDENT_NAME)
    page.get_by_role("button", name="検索", exact=True).click()
    error = page.locator("#search-error")
    expect(error).to_contain_text("T_SEARCH_CONDITIONS")
    expect(error).to_contain_text("だけでは検索できません")
    expect(error).to_contain_text("必要な組み合わせ")
    expect(page.locator("#search-results")).to_have_count(0)
    expect(page.get_by_label("氏名（漢字またはかな）")).to_have_value(RESIDENT_NAME)


def test_S15_S16_search_and_record_view_appear_in_the_log_review(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-15/S-16: a search and a record view at the 代表端末 show up in the auditor's review at the
    業務端末, with operator, terminal, function and target; no personal data in any URL."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    urls: list[str] = []
    op.page.on("request", lambda request: urls.append(request.url))
    search_resident(op.page, ui)
    op.page.get_by_role("button", name=f"{RESIDENT_NAME} の記録を表示").click()
    expect(op.page.get_by_role("heading", name=re.compile("記録の閲覧"))).to_be_visible()
    expect(op.page.locator("#record-current")).to_contain_text(MOVED_ADDRESS)
    expect(op.page.locator("#record-history")).to_contain_text("国外転入等")
    for url in urls:
        for personal in (RESIDENT_NAME, RESIDENT_KANA, RESIDENT_BIRTH, ui.world.resident_code):
            assert personal not in url, url
        assert "%E3%82%AB" not in url  # nor percent-encoded kana

    review = auditor(new_operator, ui)
    page = review.page
    page.get_by_role("link", name="操作ログの点検").first.click()
    page.get_by_label("操作者ID").fill("kensaku1")
    page.get_by_role("button", name="一覧を表示").click()
    listing = page.locator("#log-listing")
    expect(listing.locator('tr[data-function="search"]')).to_have_count(1)
    expect(listing.locator('tr[data-function="view_record"]')).to_have_count(1)
    row = listing.locator('tr[data-function="view_record"]')
    expect(row).to_contain_text("代表端末")
    expect(row).to_contain_text(ui.world.resident_code)
    page.get_by_label("抽出件数").fill("5")
    page.get_by_role("button", name="無作為抽出").click()
    expect(page.locator("#sample-seed")).not_to_be_empty()


def test_S07_operator_without_the_right_is_refused_and_the_refusal_is_logged(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-07: a File 1 operator asking for the File 2 search is refused (T_FORBIDDEN); the auditor
    finds the deny in the log review."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    expect(op.page.get_by_role("link", name="4情報検索（附票本人確認情報）")).to_have_count(0)
    op.page.goto(ui.url("/search/fuhyo"))
    expect(op.page.locator("[data-error-code]")).to_have_text("T_FORBIDDEN")
    expect(op.page.get_by_role("alert")).to_contain_text("この操作を行う権限がありません")

    review = auditor(new_operator, ui)
    page = review.page
    page.get_by_role("link", name="操作ログの点検").first.click()
    page.get_by_label("結果").select_option("deny")
    page.get_by_role("button", name="一覧を表示").click()
    denied = page.locator('#log-listing tr[data-outcome="deny"]')
    expect(denied).to_have_count(1)
    expect(denied).to_contain_text("kensaku1")
    expect(denied).to_contain_text("附票本人確認情報")
    expect(denied).to_contain_text("T_FORBIDDEN")
