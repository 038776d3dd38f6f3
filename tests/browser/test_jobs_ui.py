"""The jobs page in a real browser (issue 13 item 2): each job's last run, a failed and a missed
job flagged, the backup register and the retention table; administrators only. Saves a 1280×800
screenshot to docs/screenshots/terminal-jobs.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.operations.runner import run_job
from tests.browser.browser_support import Terminal
from tests.browser.test_terminal_ui import auditor, bind, sign_in_password
from tests.interfaces.terminal_web_support import ADMIN_PASSWORD
from tests.services.operations.support import with_keys

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_jobs_page_shows_runs_flags_backups_and_retention_to_administrators_only(
    new_operator: Any, terminal_ui: Terminal
) -> None:
    """Q-09, S-46, REC-9: every run is visible with its outcome; a failed run (no age recipient:
    E_BACKUP_NO_RECIPIENT) and a job that never ran are flagged; the auditor is refused."""
    ui = terminal_ui
    db = ui.db
    settings = ui.world.settings
    failed = run_job(db, settings, "backup", trigger="schedule")
    assert failed.error_code == "E_BACKUP_NO_RECIPIENT"
    for name in ("audit_checkpoint", "retention_purge", "my_number_purge", "crl_renewal"):
        assert run_job(db, settings, name, trigger="schedule").outcome == "succeeded"
    with_keys(db)
    assert run_job(db, settings, "backup", trigger="manual").outcome == "succeeded"
    # reconciliation_requests has never run: missed

    admin = new_operator()
    admin.page.set_viewport_size({"width": 1280, "height": 800})
    bind(admin, ui, "代表端末")
    sign_in_password(admin, ui, "admin1", ADMIN_PASSWORD)
    admin.page.get_by_role("link", name="定期処理・バックアップ").first.click()
    page = admin.page
    expect(page.get_by_role("heading", name="定期処理", exact=True)).to_be_visible()
    expect(page.locator('#jobs tr[data-job="audit_checkpoint"] [data-flag]')).to_have_text("正常")
    backup_row = page.locator('#jobs tr[data-job="backup"]')
    expect(backup_row).to_contain_text("成功")
    expect(backup_row.locator("[data-flag]")).to_have_text("正常")
    expect(page.locator('#jobs tr[data-job="reconciliation_requests"] [data-flag]')).to_have_text("実行漏れ")
    expect(page.get_by_text("実行漏れまたは失敗した定期処理が 1 件あります")).to_be_visible()
    expect(page.locator("#job-runs")).to_contain_text("E_BACKUP_NO_RECIPIENT")
    expect(page.locator("#backups")).to_contain_text("全体")
    expect(page.locator("#backups")).to_contain_text("操作ログ")
    expect(page.locator("#retention")).to_contain_text("150年")
    expect(page.get_by_text("媒体の週次点検が記録されていないか")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "terminal-jobs.png"))

    other = auditor(new_operator, ui)
    other.page.goto(ui.url("/jobs"))
    expect(other.page.locator("[data-error-code]").first).to_have_text("T_FORBIDDEN")
