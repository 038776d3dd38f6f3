"""The 4情報 search and the record page for all-day clerical work (F1-6; issue 10 items 1–7) in a real
browser (Debian chromium + Playwright, HTTPS, WebAuthn by Chromium's virtual authenticator): the
list kept for the session (Back and 「検索結果へ戻る」 return to it), paging, the direct look-up, the
masked 個人番号 and its logged 表示, the 照会結果票, 異体字 search and 元号コード dates. Screenshots
at 1280×800 of the pages go to docs/screenshots/ (synthetic persons only).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import searcher
from tests.factories import juminhyo, my_number, notification, pref_record
from tests.interfaces.terminal_web_support import (
    MOVED_ADDRESS,
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    RESIDENT_NAME,
    apply_notifications,
    log_rows,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
MANY = 25  # 鈴木　一郎 born in 1970: more than one page of 20
TAKAHASHI = 7101  # 髙橋　花子 (with 髙), born 昭和50年9月26日
DECEASED = 7102  # 佐藤　文子, died


def _people(ui: Terminal) -> None:
    apply_notifications(
        ui.db,
        *(
            notification(
                "pref",
                "overseas_move_in",
                juminhyo(7200 + i),
                record=pref_record(
                    7200 + i,
                    name_kanji="鈴木　一郎",
                    name_kana="スズキ　イチロウ",
                    birth_date=f"1970-05-{i + 1:02d}",
                ),
                change_date="2026-09-01",
            )
            for i in range(MANY)
        ),
        notification(
            "pref",
            "overseas_move_in",
            juminhyo(TAKAHASHI),
            record=pref_record(
                TAKAHASHI,
                name_kanji="髙橋　花子",
                name_kana="タカハシ　ハナコ",
                birth_date="1975-09-26",
                sex="2",
            ),
            change_date="2026-09-01",
        ),
        notification(
            "pref",
            "overseas_move_in",
            juminhyo(DECEASED),
            record=pref_record(DECEASED, name_kanji="佐藤　文子", name_kana="サトウ　フミコ", sex="2"),
            change_date="2026-09-01",
        ),
        notification("pref", "death", juminhyo(DECEASED), change_date="2026-11-20"),
    )


def _watch_urls(op: Operator) -> list[str]:
    """Every URL the browser requests (navigation, redirects, static files)."""
    urls: list[str] = []
    op.page.on("request", lambda request: urls.append(request.url))
    return urls


def _assert_nothing_personal(page: Page, urls: list[str], *personal: str) -> None:
    """No personal value in any requested URL, nor in any link or form target of the page."""
    targets = page.eval_on_selector_all(
        "[href], [action]", "els => els.map(e => e.getAttribute('href') || e.getAttribute('action'))"
    )
    for url in [*urls, *targets]:
        for value in personal:
            assert value not in url, url
        assert "%E3%" not in url and "%E9%" not in url, url  # nor percent-encoded kana or kanji


def _search(page: Page, name: str, birth: str, *, variants: bool = False) -> None:
    page.get_by_label("氏名（漢字またはかな）").fill(name)
    page.get_by_label("生年月日").fill(birth)
    box = page.get_by_label("異体字も検索")
    if variants:
        box.check()
    else:
        box.uncheck()
    page.get_by_role("button", name="検索", exact=True).click()


def _open_search(page: Page) -> None:
    page.get_by_role("link", name="4情報検索（本人確認情報）").first.click()


def test_F1_6_results_in_view_kept_for_back_and_return(new_operator: Any, terminal_ui: Terminal) -> None:
    """Issue 10 item 1 (F1-6): the list is where the eye is (heading in the first 800 px, focused),
    browser Back from a record and 「検索結果へ戻る」 show it again without a new search, and no URL or
    link carries personal data."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    urls = _watch_urls(op)
    _open_search(page)
    _search(page, RESIDENT_KANA, RESIDENT_BIRTH)
    heading = page.get_by_role("heading", name="検索結果 1 件")
    expect(heading).to_be_visible()
    expect(heading).to_be_focused()
    top = page.evaluate("document.getElementById('results-heading').getBoundingClientRect().top + scrollY")
    assert top < 800, top
    assert re.search(r"/search/pref/results/[A-Za-z0-9_-]{22}$", page.url), page.url
    results_url = page.url
    searches = len(log_rows(ui.db, "function = 'search' AND detail ? 'conditions'"))

    page.get_by_role("button", name=f"{RESIDENT_NAME} の記録を表示").click()
    expect(page.locator("#record-current")).to_contain_text(MOVED_ADDRESS)
    page.go_back()  # a GET page: no ERR_CACHE_MISS, the list again
    expect(page.get_by_role("heading", name="検索結果 1 件")).to_be_visible()
    expect(page.get_by_role("cell", name=RESIDENT_NAME, exact=True)).to_be_visible()
    assert page.url == results_url

    page.get_by_role("button", name=f"{RESIDENT_NAME} の記録を表示").click()
    page.get_by_role("link", name="検索結果へ戻る").click()
    expect(page.get_by_role("heading", name="検索結果 1 件")).to_be_visible()
    expect(page.get_by_label("氏名（漢字またはかな）")).to_have_value(RESIDENT_KANA)  # the conditions too
    assert page.url == results_url
    page.screenshot(path=str(SCREENSHOTS / "terminal-search-results.png"))
    _assert_nothing_personal(page, urls, RESIDENT_NAME, RESIDENT_KANA, RESIDENT_BIRTH, ui.world.resident_code)

    # No new search ran: each display is its own row of the list's display, not a search row.
    assert len(log_rows(ui.db, "function = 'search' AND detail ? 'conditions'")) == searches == 1
    assert len(log_rows(ui.db, "function = 'search' AND detail->>'event' = 'search_results'")) == 2


def test_F1_6_paging_and_return_to_the_page(new_operator: Any, terminal_ui: Terminal) -> None:
    """Issue 10 item 1: a list longer than a page is paged by GET links; a record opened from page 2
    returns to page 2."""
    ui = terminal_ui
    _people(ui)
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    _open_search(page)
    _search(page, "スズキ イチロウ", "1970")
    expect(page.get_by_role("heading", name=f"検索結果 {MANY} 件（1～20件目）")).to_be_visible()
    expect(page.locator("#search-results tbody tr")).to_have_count(20)
    page.get_by_role("link", name="次の20件").click()
    expect(page.get_by_role("heading", name=f"検索結果 {MANY} 件（21～25件目）")).to_be_visible()
    expect(page.locator("#search-results tbody tr")).to_have_count(MANY - 20)
    assert page.url.endswith("?page=2")
    page.locator("#search-results tbody tr").first.get_by_role(
        "button", name=re.compile("の記録を表示")
    ).click()
    page.get_by_role("link", name="検索結果へ戻る").click()
    expect(page.get_by_role("heading", name=f"検索結果 {MANY} 件（21～25件目）")).to_be_visible()
    page.get_by_role("link", name="前の20件").click()
    expect(page.locator("#search-results tbody tr")).to_have_count(20)


def test_F1_6_direct_lookup_and_my_number_reveal_is_logged(new_operator: Any, terminal_ui: Terminal) -> None:
    """Issue 10 items 2, 3: the record opens by 住民票コード and by 個人番号 (File 1); the 個人番号 is
    masked until 「表示」, which is its own operation-log row; the number typed is never logged."""
    ui = terminal_ui
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    urls = _watch_urls(op)
    number = my_number(500 + 7001)  # pref_record(n) carries my_number(500 + n)
    _open_search(page)
    page.get_by_label("番号の種類").select_option("juminhyo_code")
    page.get_by_label("番号", exact=True).fill(ui.world.resident_code)
    page.get_by_role("button", name="開く").click()
    expect(page.locator("#record-current")).to_contain_text(MOVED_ADDRESS)
    expect(page.locator("#my-number")).to_contain_text("●●●●")
    assert number not in page.content()
    page.get_by_role("button", name="表示", exact=True).click()
    expect(page.locator("#my-number")).to_contain_text(number)
    expect(page.locator("#my-number-logged")).to_be_visible()

    page.goto(ui.url("/search/pref"))
    page.get_by_label("番号の種類").select_option("my_number")
    page.get_by_label("番号", exact=True).fill(number)
    page.get_by_role("button", name="開く").click()
    expect(page.locator("#record-current")).to_contain_text(MOVED_ADDRESS)
    _assert_nothing_personal(page, urls, number, ui.world.resident_code)

    lookups = log_rows(ui.db, "function = 'lookup'")
    assert [(r["outcome"], r["target"], r["detail"]["by"]) for r in lookups] == [
        ("allow", ui.world.resident_code, "juminhyo_code"),
        ("allow", ui.world.resident_code, "my_number"),
    ]
    reveals = log_rows(ui.db, "function = 'my_number_view'")
    assert [(r["outcome"], r["target"]) for r in reveals] == [("allow", ui.world.resident_code)]
    assert all(number not in str(r) for r in log_rows(ui.db))


def test_F1_6_print_view_is_recorded_as_an_output(new_operator: Any, terminal_ui: Terminal) -> None:
    """Issue 10 items 3, 4: a 消除者's record carries the banner with 消除事由 and 消除日; its
    照会結果票 shows the print date and time, operator, terminal and 取扱注意, and is logged."""
    ui = terminal_ui
    _people(ui)
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    _open_search(page)
    page.get_by_label("氏名（漢字またはかな）").fill("サトウ フミコ")
    page.get_by_label("生年月日").fill("1980")
    page.get_by_label("消除者を含める").check()
    page.get_by_role("button", name="検索", exact=True).click()
    row = page.locator("#search-results tr.ended")
    expect(row).to_contain_text("消除者")
    row.get_by_role("button", name=re.compile("の記録を表示")).click()
    banner = page.locator("#ended-banner")
    expect(banner).to_contain_text("死亡")
    expect(banner).to_contain_text("令和8年11月20日（2026-11-20）")
    expect(page.locator("#record-current")).not_to_contain_text("seion")
    page.screenshot(path=str(SCREENSHOTS / "terminal-record-ended.png"))

    page.get_by_role("button", name="照会結果票を印刷").click()
    expect(page.get_by_role("heading", name="照会結果票")).to_be_visible()
    expect(page.locator(".handle-with-care")).to_have_text("取扱注意")
    meta = page.locator("#print-meta")
    expect(meta).to_contain_text("kensaku1")
    expect(meta).to_contain_text("代表端末")
    expect(meta).to_contain_text(re.compile(r"令和\d+年\d+月\d+日 \d+時\d\d分\d\d秒"))
    page.screenshot(path=str(SCREENSHOTS / "terminal-print-view.png"))
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()  # paper: the sheet only
    expect(page.get_by_role("button", name="印刷する")).to_be_hidden()
    prints = log_rows(ui.db, "function = 'print'")
    assert [(r["outcome"], r["target"], r["detail"]["output"]) for r in prints] == [
        ("allow", juminhyo(DECEASED), "照会結果票")
    ]


def test_F1_6_kanji_variants_only_when_asked_and_era_code_dates(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Issue 10 items 5, 6: 3500926 is 昭和50年9月26日; 高橋 finds 髙橋 only with 「異体字も検索」, and
    the list says which spellings were searched; 0 hits without 消除者 gives the hint."""
    ui = terminal_ui
    _people(ui)
    op = searcher(new_operator, ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    _open_search(page)
    _search(page, "高橋　花子", "3500926")
    expect(page.get_by_role("heading", name="検索結果 0 件")).to_be_visible()
    expect(page.locator("#ended-hint")).to_contain_text("消除者")
    _search(page, "高橋　花子", "3500926", variants=True)
    expect(page.get_by_role("heading", name="検索結果 1 件")).to_be_visible()
    expect(page.get_by_role("cell", name="髙橋　花子", exact=True)).to_be_visible()
    expect(page.locator("#variant-note")).to_contain_text("髙橋花子")
    expect(page.get_by_label("異体字も検索")).to_be_checked()
    _search(page, "高橋　花子", "4310229", variants=True)  # 平成31年2月29日 is not on the calendar
    expect(page.get_by_role("status").filter(has_text="暦にない日付")).to_be_visible()
