"""The J-LIS query page (F1-5) and the consistency check's results (F1-7) in a real browser (Debian
chromium + Playwright, HTTPS, WebAuthn by Chromium's virtual authenticator), the query answered by
the 全国サーバ simulator over real mTLS. Each test also saves a 1280×800 screenshot of its page in
docs/screenshots/ (synthetic persons only).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.domain.records import FileKind
from juki.peers.national import other_prefecture_person
from juki.services.registry.reconciliation import reconcile
from juki.store.db import DbRole
from tests.browser.browser_support import Terminal
from tests.browser.test_terminal_ui import searcher
from tests.factories import csv_bytes, juminhyo, person
from tests.interfaces.terminal_web_support import log_rows
from tests.peers.national_support import Certs, Sim

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def test_F1_5_query_to_the_national_server_by_4_information(
    new_operator: Any, terminal_ui: Terminal, national: Sim, certs: Certs
) -> None:
    sim, running = national
    assert sim.seed_other_prefectures(20, 1) == 20
    web = terminal_ui.app.state.web
    web.settings = dataclasses.replace(web.settings, national_url=running.url, pki_dir=certs.pki.directory)
    op = searcher(new_operator, terminal_ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("link", name="全国サーバへの照会（本人確認情報）").first.click()
    expect(
        page.get_by_role("heading", name="全国サーバへの照会 — 本人確認情報（都道府県サーバ）")
    ).to_be_visible()
    target = other_prefecture_person(1, 3)
    form = page.locator("form[aria-labelledby=by-basic4]")
    form.get_by_label("氏名（かな）").fill("ワタナベ")  # too few conditions: the rule is shown
    form.get_by_role("button", name="照会").click()
    expect(page.locator("#jlis-error")).to_contain_text("生年月日または住所の指定が必要です")
    form = page.locator("form[aria-labelledby=by-basic4]")
    form.get_by_label("氏名（かな）").fill(target["name_kana"])
    form.get_by_label("生年月日").fill(target["birth_date"])
    form.get_by_role("button", name="照会").click()
    expect(page.get_by_role("heading", name="照会結果 1 件")).to_be_visible()
    expect(page.locator("#jlis-results")).to_contain_text(target["name_kanji"])
    assert "?" not in page.url  # the conditions were POSTed
    page.screenshot(path=str(SCREENSHOTS / "terminal-jlis-query.png"))
    rows = log_rows(terminal_ui.db, "function = 'jlis_query'")
    assert [r["outcome"] for r in rows] == ["rejected", "allow"]


def test_F1_7_reconciliation_results_and_differences(new_operator: Any, terminal_ui: Terminal) -> None:
    db = terminal_ui.db
    upload = csv_bytes(
        FileKind.PREF,
        [person(n) for n in range(100, 103)] + [person(7001, address="神奈川県横浜市鶴見区豊岡町9番9号")],
    )
    with db.connect(DbRole.PREF) as conn:
        info = reconcile(conn, FileKind.PREF, "141011", [upload], requested_by="cs-tsurumi")
    op = searcher(new_operator, terminal_ui)
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("link", name="整合性確認の結果（本人確認情報）").first.click()
    expect(page.locator(f'tr[data-run="{info.run_id}"]')).to_contain_text("cs-tsurumi")
    page.get_by_role("button", name=f"実行 {info.run_id} の相違を表示").click()
    table = page.locator("#reconcile-differences")
    expect(table).to_contain_text(juminhyo(100))
    expect(table).to_contain_text("サーバに記録なし")
    assert "?" not in page.url
    page.screenshot(path=str(SCREENSHOTS / "terminal-reconciliation-differences.png"))
    rows = log_rows(db, "function = 'reconciliation_review'")
    assert [(r["outcome"], r["target"]) for r in rows] == [("allow", None), ("allow", f"run:{info.run_id}")]
