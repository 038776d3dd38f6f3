"""Single provision (F1-2) in a real browser (Debian chromium + Playwright, HTTPS, WebAuthn by
Chromium's virtual authenticator): an exact match on screen with only the task's items (S-27), a
refusal that is recorded (S-22), and an operator of one requester who cannot act for another. The
first test saves a 1280×800 screenshot of the provision page in docs/screenshots/ (synthetic persons)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from juki.store.db import DbRole
from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import bind, enrol, sign_in_webauthn
from tests.interfaces.terminal_web_support import (
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    RESIDENT_NAME,
    grant,
    log_rows,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def requester_operator(new_operator: Any, ui: Terminal, login: str, requester: str) -> Operator:
    """An operator of `requester` (provision_operator@<requester>), signed in with 生体認証 at the 代表端末."""
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        token = grant(conn, ui.world.settings, ui.world.admin, login, f"provision_operator@{requester}")
    ui.world.enrolment_tokens[login] = token
    op: Operator = new_operator()
    bind(op, ui)
    op.add_authenticator()
    enrol(op, ui, login)
    sign_in_webauthn(op, ui, login)
    expect(op.page.get_by_role("heading", name="業務メニュー")).to_be_visible()
    return op


def open_task(page: Page, task_label: str) -> None:
    page.get_by_role("link", name="個別提供（本人確認情報）").first.click()
    page.get_by_label("事務", exact=True).select_option(label=task_label)
    page.get_by_role("button", name="この事務で依頼を入力").click()


KYOIKU_TASK = "神奈川県教育委員会 — 特別支援学校への就学のため必要な経費の支弁に関する事務"


def records(ui: Terminal) -> list[tuple[Any, ...]]:
    with ui.db.connect() as conn:
        return conn.execute(
            "SELECT requester_code, result_code, operator_login, juminhyo_code, cardinality(items)"
            " FROM pref.provision_record ORDER BY id"
        ).fetchall()


def test_F1_2_S27_single_provision_on_screen_gives_only_the_tasks_items(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    op = requester_operator(new_operator, terminal_ui, "kyoiku1", "kyoiku")
    page = op.page
    page.set_viewport_size(VIEWPORT)
    open_task(page, KYOIKU_TASK)
    form = page.locator("form[aria-labelledby=by-basic4]")
    form.get_by_label("氏名（かな）").fill(RESIDENT_KANA)
    form.get_by_label("生年月日").fill(RESIDENT_BIRTH)
    form.get_by_label("提供方法").select_option(label="画面")
    form.get_by_role("button", name="提供").click()
    result = page.locator("#provision-result")
    expect(result).to_have_attribute("data-result-code", "P_MATCH")
    items = page.locator("#provision-items")
    expect(items).to_contain_text(RESIDENT_NAME)
    expect(items).to_contain_text("個人番号")
    expect(items).not_to_contain_text("住民票コード")
    expect(items).not_to_contain_text(terminal_ui.world.resident_code)
    assert "?" not in page.url.split("/provision/")[1]  # the keys were POSTed
    page.screenshot(path=str(SCREENSHOTS / "terminal-provision.png"))
    assert records(terminal_ui) == [("kyoiku", "P_MATCH", "kyoiku1", terminal_ui.world.resident_code, 7)]
    rows = log_rows(terminal_ui.db, "function = 'provision'")
    assert [(r["outcome"], r["operator_login"]) for r in rows] == [("allow", "kyoiku1")]


def test_S22_a_refusal_is_shown_with_its_code_and_recorded(new_operator: Any, terminal_ui: Terminal) -> None:
    """Three persons share the name and the birth year: several candidates are a refusal (S-27), not a
    list; the refusal is in the provision records and the operation log (S-22)."""
    op = requester_operator(new_operator, terminal_ui, "kyoiku1", "kyoiku")
    page = op.page
    open_task(page, KYOIKU_TASK)
    form = page.locator("form[aria-labelledby=by-basic4]")
    form.get_by_label("氏名（かな）").fill("ヨコハマ　ジロウ")
    form.get_by_label("生年月日").fill("1990")
    form.get_by_role("button", name="提供").click()
    expect(page.locator("#provision-result")).to_have_attribute("data-result-code", "P_AMBIGUOUS")
    expect(page.locator("#provision-refusal")).to_contain_text("複数いるため")
    expect(page.locator("#provision-items")).to_have_count(0)
    assert records(terminal_ui) == [("kyoiku", "P_AMBIGUOUS", "kyoiku1", None, 0)]
    rows = log_rows(terminal_ui.db, "function = 'provision'")
    assert [(r["outcome"], r["detail"]["result"]) for r in rows] == [("rejected", "P_AMBIGUOUS")]


def test_an_operator_of_one_requester_cannot_act_for_another(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """kyoiku1 sees only the board of education's tasks; a form altered to name the public-safety
    commission's task is refused (P_NOT_PERMITTED) and recorded, and nothing is given."""
    op = requester_operator(new_operator, terminal_ui, "kyoiku1", "kyoiku")
    page = op.page
    page.get_by_role("link", name="個別提供（本人確認情報）").first.click()
    options = page.get_by_label("事務", exact=True).locator("option").all_inner_texts()
    assert options and all(o.startswith("神奈川県教育委員会") for o in options)
    open_task(page, KYOIKU_TASK)
    form = page.locator("form[aria-labelledby=by-basic4]")
    form.locator("input[name=task]").evaluate("(el) => { el.value = 'koan:unten-menkyo'; }")
    form.get_by_label("氏名（かな）").fill(RESIDENT_KANA)
    form.get_by_label("生年月日").fill(RESIDENT_BIRTH)
    form.get_by_role("button", name="提供").click()
    expect(page.locator("#provision-result")).to_have_attribute("data-result-code", "P_NOT_PERMITTED")
    expect(page.locator("#provision-items")).to_have_count(0)
    assert records(terminal_ui) == [("koan", "P_NOT_PERMITTED", "kyoiku1", None, 0)]
    rows = log_rows(terminal_ui.db, "function = 'provision'")
    assert [(r["outcome"], r["detail"]["reason"]) for r in rows] == [("deny", "requester")]
    # The other requester's page address does not help either: its tasks are not offered.
    page.goto(terminal_ui.url("/provision/pref?task=koan:unten-menkyo"))
    expect(page.locator("#request-heading")).to_have_count(0)
