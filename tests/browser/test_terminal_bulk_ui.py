"""Bulk provision in a real browser (F1-2b, S-26, S-29): Debian chromium + Playwright over HTTPS, WebAuthn
by Chromium's virtual authenticator. An operator of a requester uploads a request file and downloads
the result; a large request waits for the head of that requester, who approves it on their own screen;
an operator of another requester can neither see nor fetch it. Screenshots in docs/screenshots/."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from juki.services.access import terminals
from juki.services.access.actor import TerminalKind
from juki.store.db import DbRole
from tests.browser.browser_support import Operator, Terminal
from tests.browser.test_terminal_ui import bind, enrol, sign_in_webauthn
from tests.factories import juminhyo
from tests.interfaces.terminal_web_support import RESIDENT_BIRTH, RESIDENT_KANA, grant, log_rows

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
HEADER = "request_ref,key_type,juminhyo_code,my_number,name_kana,birth_date,sex,address"


def _request(tmp_path: Path) -> Path:
    rows = [
        f"A-1,resident_code,{juminhyo(7001)},,,,,",  # 一致
        "A-2,basic4,,,ヨコハマ ジロウ,,,横浜市鶴見区",  # 複数該当 (three of that name in 鶴見区)
        f"A-3,basic4,,,{RESIDENT_KANA},{RESIDENT_BIRTH},,",  # 一致
        "A-4,resident_code,99999999999,,,,,",  # nobody here, no J-LIS configured: 照会先応答なし
    ]
    path = tmp_path / "irai.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def _operator(new_operator: Any, ui: Terminal, login: str, *roles: str) -> Operator:
    """``login`` with ``roles`` (生体認証), at a 代表端末 of their own, on the 一括提供 page."""
    with ui.db.connect(DbRole.TERM, autocommit=True) as conn:
        ui.world.enrolment_tokens[login] = grant(conn, ui.world.settings, ui.world.admin, login, *roles)
        _, token = terminals.register_terminal(
            conn, ui.world.settings, f"端末-{login}", TerminalKind.REPRESENTATIVE, by=None
        )
    ui.world.binding_tokens[f"端末-{login}"] = token
    op: Operator = new_operator()
    op.page.set_viewport_size(VIEWPORT)
    bind(op, ui, f"端末-{login}")
    op.add_authenticator()
    enrol(op, ui, login)
    sign_in_webauthn(op, ui, login)
    op.page.get_by_role("link", name="一括提供（本人確認情報）").first.click()
    expect(op.page.get_by_role("heading", name=re.compile("^一括提供"))).to_be_visible()
    return op


def _upload(op: Operator, path: Path) -> None:
    form = op.page.locator("#bulk-upload")
    form.get_by_label("依頼元・事務").select_option("koan/unten-menkyo")
    form.get_by_label("照会要求ファイル").set_input_files(str(path))
    form.get_by_role("button", name="提出する").click()


def _job_id(op: Operator) -> int:
    return int(op.page.locator("#bulk-jobs tbody tr").first.get_attribute("data-job") or "0")


def test_F1_2b_bulk_upload_and_result_download(
    new_operator: Any, terminal_ui: Terminal, tmp_path: Path
) -> None:
    """F1-2b, S-29: upload at a 代表端末, the job is processed at once, the result downloads with one row
    per request row and only the task's items; the download is recorded and logged."""
    op = _operator(new_operator, terminal_ui, "koan1", "bulk_requester@koan")
    _upload(op, _request(tmp_path))
    expect(op.page.locator(".notice")).to_contain_text("を処理しました")
    job = _job_id(op)
    expect(op.page.locator(f'#bulk-jobs tr[data-job="{job}"] .state')).to_have_text("処理済")
    op.page.screenshot(path=str(SCREENSHOTS / "terminal-bulk-provision.png"))
    with op.page.expect_download() as download:
        op.page.get_by_role("button", name=f"依頼 {job} の照会結果ファイルを受け取る").click()
    body = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["result_code"] for r in rows] == ["P_MATCH", "P_AMBIGUOUS", "P_MATCH", "P_UNAVAILABLE"]
    assert "juminhyo_code" not in rows[0] and rows[0]["name_kanji"]
    assert "?" not in op.page.url
    events = [r["detail"]["event"] for r in log_rows(terminal_ui.db, "function = 'bulk_submit'")]
    assert events == ["bulk_submit", "bulk_process", "bulk_download"]


def test_S26_a_large_request_is_approved_by_the_head_of_its_requester(
    new_operator: Any, terminal_ui: Terminal, tmp_path: Path
) -> None:
    """S-26: above the threshold the job waits (承認待ち); the head of that requester approves it on their
    own screen, the job runs, and the approver is shown and logged."""
    web = terminal_ui.app.state.web
    web.settings = dataclasses.replace(web.settings, bulk_approval_rows=2)
    op = _operator(new_operator, terminal_ui, "koan1", "bulk_requester@koan")
    _upload(op, _request(tmp_path))
    expect(op.page.locator(".notice")).to_contain_text("所属長の承認を待っています")
    job = _job_id(op)
    expect(op.page.locator(f'#bulk-jobs tr[data-job="{job}"] .state')).to_have_text("承認待ち")
    head = _operator(new_operator, terminal_ui, "koanchief", "requester_head@koan")
    waiting = head.page.locator(f'#bulk-waiting tr[data-job="{job}"]')
    expect(waiting).to_contain_text("koan1")
    head.page.screenshot(path=str(SCREENSHOTS / "terminal-bulk-approval.png"))
    waiting.get_by_label("所見").fill("目的を確認")
    waiting.get_by_role("button", name=f"依頼 {job} を承認").click()
    expect(head.page.locator(".notice")).to_contain_text(f"依頼 {job} を承認し、処理しました")
    expect(head.page.locator(f'#bulk-jobs tr[data-job="{job}"]')).to_contain_text("承認 koanchief")
    op.page.reload()
    expect(op.page.locator(f'#bulk-jobs tr[data-job="{job}"] .state')).to_have_text("処理済")
    rows = log_rows(terminal_ui.db, "function = 'bulk_approve'")
    assert [(r["operator_login"], r["detail"]["event"]) for r in rows] == [("koanchief", "bulk_approved")]


def test_F1_2b_an_operator_of_another_requester_cannot_see_or_fetch_the_job(
    new_operator: Any, terminal_ui: Terminal, tmp_path: Path
) -> None:
    """F1-2b: kyoiku's operator does not see koan's job, cannot submit for koan and, forging the form,
    gets "not found" for its result — the attempt is in the operation log as refused."""
    koan = _operator(new_operator, terminal_ui, "koan1", "bulk_requester@koan")
    _upload(koan, _request(tmp_path))
    job = _job_id(koan)
    other = _operator(new_operator, terminal_ui, "kyoiku1", "bulk_requester@kyoiku")
    expect(other.page.locator(f'tr[data-job="{job}"]')).to_have_count(0)
    options = other.page.locator("#bulk-task option").all_text_contents()
    assert options and all(o.startswith("kyoiku") for o in options)
    csrf = other.page.locator("#bulk-upload input[name=csrf_token]").get_attribute("value") or ""
    answer = other.page.request.post(
        terminal_ui.url("/bulk/pref/download"), form={"csrf_token": csrf, "job_id": str(job)}
    )
    assert answer.status == 404 and "T_BULK_JOB_NOT_FOUND" in answer.text()
    answer = other.page.request.post(
        terminal_ui.url("/bulk/pref/submit"),
        multipart={
            "csrf_token": csrf,
            "task": "koan/unten-menkyo",
            "upload": {"name": "x.csv", "mimeType": "text/csv", "buffer": _request(tmp_path).read_bytes()},
        },
    )
    assert answer.status == 403 and "T_FORBIDDEN" in answer.text()
    refused = log_rows(terminal_ui.db, "operator_login = 'kyoiku1' AND outcome <> 'allow'")
    assert {r["function"] for r in refused} == {"bulk_submit"}
