"""The statistics page (F1-8, REC-10) in a real browser (Debian chromium + Playwright, HTTPS,
WebAuthn by Chromium's virtual authenticator) over a synthetic population loaded by the ordinary
loader: the charts render as SVG under the strict CSP (no console error, no CSP violation), the
as-of date form works, and a 1280×800 screenshot is saved in docs/screenshots/ for the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from juki.domain.records import FileKind
from juki.services.registry.load import load_population
from juki.store.db import Database, DbRole
from juki.synth import write_population
from tests.browser.browser_support import Terminal
from tests.browser.test_terminal_ui import bind, enrol, sign_in_webauthn
from tests.interfaces.terminal_web_support import grant, log_rows

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def populated(db: Database, tmp_path: Path) -> Database:
    """3,000 synthetic persons (with their history), loaded before the terminal's own residents."""
    write_population(tmp_path / "population", 3000, 5)
    load_population(
        {k: db.admin_conninfo for k in FileKind},
        tmp_path / "population",
        rejects_dir=tmp_path / "rejects",
        workers_per_file=0,
    )
    return db


def test_F1_8_REC_10_statistics_page_in_the_browser(
    populated: Database, new_operator: Any, terminal_ui: Terminal
) -> None:
    ui = terminal_ui
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        ui.world.enrolment_tokens["tokei1"] = grant(
            conn, ui.world.settings, ui.world.admin, "tokei1", "statistics"
        )
    op = new_operator()
    problems: list[str] = []
    # Chromium asks every site for /favicon.ico (the terminal has none): not a problem of the page.
    op.page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and "404" not in m.text else None,
    )
    op.page.on(
        "response",
        lambda r: problems.append(r.url) if r.status >= 400 and "favicon" not in r.url else None,
    )
    bind(op, ui)
    op.add_authenticator()
    enrol(op, ui, "tokei1")
    sign_in_webauthn(op, ui, "tokei1")
    page = op.page
    page.set_viewport_size(VIEWPORT)
    page.get_by_role("link", name="統計（本人確認情報）").first.click()
    expect(page.get_by_role("heading", name="統計 — 本人確認情報（都道府県サーバ）")).to_be_visible()
    page.get_by_label("基準日").fill("2026-09-30")
    page.get_by_role("button", name="集計").click()
    expect(page.locator("#population_by_age")).to_contain_text("100歳以上")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator('#chart-pyramid rect:not([width="0"])').first).to_be_visible()
    total = page.locator("#population_by_municipality tr.sum").last
    expect(total).to_contain_text("神奈川県（合計）")
    page.locator("h1").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "terminal-statistics.png"))
    assert not problems, problems  # no CSP violation, no script error
    rows = log_rows(ui.db, "function = 'statistics'")
    assert [r["target"] for r in rows][-1] == "as_of:2026-09-30"
