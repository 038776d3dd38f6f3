"""The operation-log review page in a real browser (Debian chromium + Playwright, HTTPS, WebAuthn by
Chromium's virtual authenticator): who looked at a resident, a repeated-search flag and its rows,
paging, the CSV export (issue 10 items 8, 9; REQUIREMENTS S-15..S-18). Each test saves 1280×800
screenshots of the page in docs/screenshots/ (synthetic persons only).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.search.conditions import SearchConditions
from juki.services.search.service import search
from juki.store.db import DbRole
from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import auditor, search_resident, searcher
from tests.interfaces.terminal_web_support import RESIDENT_BIRTH, RESIDENT_KANA, RESIDENT_NAME, log_rows
from tests.services.audit.support import actor

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def open_review(new_operator: Any, ui: Terminal) -> Operator:
    review = auditor(new_operator, ui)
    review.page.set_viewport_size(VIEWPORT)
    review.page.get_by_role("link", name="操作ログの点検").first.click()
    expect(review.page.get_by_role("heading", name="操作ログの点検")).to_be_visible()
    return review


def test_S17_audit_page_filtered_by_target_shows_who_looked_at_a_resident(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """S-17/S-18 (issue 10 item 8): the auditor types a 住民票コード and sees who looked at that
    resident — the record view and the search that returned them — in Japanese, the code never in
    a URL."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    search_resident(op.page, ui)
    op.page.get_by_role("button", name=f"{RESIDENT_NAME} の記録を表示").click()
    expect(op.page.get_by_role("heading", name=re.compile("記録の閲覧"))).to_be_visible()

    review = open_review(new_operator, ui)
    page = review.page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.get_by_label("住民票コード（対象の住民）").fill(ui.world.resident_code)
    page.get_by_role("button", name="一覧を表示").click()
    listing = page.locator("#log-listing")
    expect(listing.get_by_role("heading")).to_contain_text("該当 2 件")
    viewed = listing.locator('tr[data-function="view_record"]')
    searched = listing.locator('tr[data-function="search"]')
    expect(viewed).to_contain_text("kensaku1")
    expect(viewed).to_contain_text("履歴を含め 2 版を表示")
    expect(searched).to_contain_text("kensaku1")
    expect(searched).to_contain_text(f"表示した住民（1 人）の住民票コード: {ui.world.resident_code}")
    expect(searched).to_contain_text("検索条件: 氏名")
    expect(listing).not_to_contain_text('{"')
    assert all(ui.world.resident_code not in url for url in urls) and "?" not in page.url
    listing.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "terminal-audit-target.png"))


def test_S18_150_searches_are_flagged_and_the_flag_lists_its_rows_paged_and_exported(
    new_operator: Any, terminal_ui: Terminal, tmp_path: Path
) -> None:
    """S-18 (issue 10 items 8, 9): 150 searches of one person by one operator within seconds are a
    repeated-search flag; its button lists exactly those 150 rows (paged by 50); the CSV export of
    that list downloads with a BOM and is itself recorded in the log as the auditor's output."""
    ui = terminal_ui
    db = ui.db
    kensaku = actor(db, "kensaku1", "代表端末", roles=frozenset({"pref_operator"}))
    with db.connect(DbRole.PREF, autocommit=True) as conn:
        for _ in range(150):  # the real search service, as the search page calls it
            result = search(conn, kensaku, SearchConditions(name=RESIDENT_KANA, birth_date=RESIDENT_BIRTH))
            assert [h.juminhyo_code for h in result.hits] == [ui.world.resident_code]

    review = open_review(new_operator, ui)
    page = review.page
    page.get_by_role("button", name="注意すべき操作").click()
    flag = page.locator('#log-patterns tr[data-pattern="repeated_target"]')
    expect(flag).to_have_count(1)
    expect(flag).to_contain_text("kensaku1")
    expect(flag).to_contain_text("150")
    expect(flag).to_contain_text("検索 150 回")
    expect(page.locator("#pattern-settings")).to_contain_text("10分以内に 5 回以上")
    page.locator("#log-patterns").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "terminal-audit-patterns.png"))

    flag.get_by_role("button", name="該当ログを表示").click()
    listing = page.locator("#log-listing")
    expect(listing.get_by_role("heading")).to_have_text("該当 150 件（1 / 3 ページ、古い順）")
    expect(listing.locator('tr[data-function="search"]')).to_have_count(50)
    expect(page.locator("#pattern-scope")).to_contain_text("注意すべき操作の該当ログに絞り込んでいます")
    page.locator("#listing-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "terminal-audit.png"))
    listing.get_by_role("button", name="次へ").click()
    expect(page.locator("#log-listing").get_by_role("heading")).to_have_text(
        "該当 150 件（2 / 3 ページ、古い順）"
    )
    page.locator("#log-listing").get_by_role("button", name="最後へ").click()
    expect(page.locator("#log-listing tr[data-function]")).to_have_count(50)
    expect(page.locator("#page-position")).to_have_text("3 / 3 ページ")

    with page.expect_download() as download:
        page.get_by_role("button", name="CSVで出力").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and re.fullmatch(r"oplog-\d{8}-\d{6}\.csv", saved.name)
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 151 and lines[0].startswith("番号,日時,操作者")
    assert all("kensaku1" in line and "4情報検索" in line for line in lines[1:])
    exported = log_rows(db, "operator_login = 'kansa1' AND detail->>'event' = 'log_export'")
    assert [(r["outcome"], r["detail"]["rows"], r["target"]) for r in exported] == [
        ("allow", 150, ui.world.resident_code)
    ]
    assert all(r["file"] == "-" for r in exported)
