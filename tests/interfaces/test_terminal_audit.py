"""The audit page at the HTTP level (httpx over real HTTPS, the real database): the target filter in
a POSTed form, Japanese details, paging, the CSV export and its log row (issue 10 item 8;
REQUIREMENTS S-15..S-18). The browser flows are in tests/browser/test_terminal_audit_ui.py."""

from __future__ import annotations

import csv
import io
import re

from juki.services.access.actor import Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.store.db import Database
from tests.interfaces import test_terminal_web as web
from tests.interfaces.terminal_web_support import AUDITOR_PASSWORD, RESIDENT_BIRTH, World, csrf_of, log_rows
from tests.interfaces.test_terminal_web import (
    Client,
    Served,
    bind,
    enrol_and_sign_in_webauthn,
    search_pref,
    sign_in,
)
from tests.services.audit.support import actor

# The served application and its world, as the terminal's other HTTP tests have them.
settings = web.settings
world = web.world
served = web.served
client = web.client


def _searched_and_viewed(client: Client, world: World) -> None:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    found = search_pref(client, name="カナガワ タロウ", birth_date=RESIDENT_BIRTH)
    assert "検索結果 1 件" in found.text
    viewed = client.post(
        "/record",
        data={"csrf_token": csrf_of(found.text), "file": "pref", "juminhyo_code": world.resident_code},
    )
    assert viewed.status_code == 200


def test_S17_target_filter_is_posted_and_lists_views_and_searches_in_japanese(
    client: Client, world: World, served: Served, db: Database
) -> None:
    """S-17 (issue 10 item 8): the auditor asks who looked at a resident — a POSTed 住民票コード,
    never in a URL — and gets the record view and the search that returned the person, with the
    details as Japanese sentences rather than JSON; the review row names the person as its target."""
    _searched_and_viewed(client, world)
    auditor = served.client()
    with auditor.http:
        bind(auditor, world, "業務端末1")
        home = sign_in(auditor, "kansa1", AUDITOR_PASSWORD)
        page = auditor.post(
            "/audit", data={"csrf_token": csrf_of(home.text), "action": "list", "target": world.resident_code}
        )
        bad = auditor.post("/audit", data={"csrf_token": csrf_of(home.text), "target": "123"})
        assert all(world.resident_code not in url for url in auditor.urls)
    assert page.status_code == 200, page.text
    assert (
        page.text.count('data-function="search"') == 1 and page.text.count('data-function="view_record"') == 1
    )
    assert "該当 2 件" in page.text
    assert "検索条件: 氏名「カナガワ タロウ」（氏名・完全一致）" in page.text
    assert f"表示した住民（1 人）の住民票コード: {world.resident_code}" in page.text
    assert "履歴を含め 2 版を表示" in page.text
    listing = page.text[page.text.index('id="log-listing"') :]
    assert '{"' not in listing and "result_count" not in listing
    assert bad.status_code == 422 and "T_SEARCH_INPUT" in bad.text and "11桁" in bad.text
    review = log_rows(db, "operator_login = 'kansa1' AND detail->>'event' = 'log_list'")
    assert review[-1]["target"] == world.resident_code


def test_S17_listing_is_paged_on_the_server_with_the_filters_carried_in_the_form(
    client: Client, world: World, db: Database
) -> None:
    """Issue 10 item 8: 120 rows are three pages of 50; the page buttons POST the filters along."""
    who = actor(db, "bulk-op", "T-9")
    with db.connect() as conn:
        for i in range(120):
            record_operation(
                conn, who, function=Function.VIEW_RECORD, file=None, outcome=Outcome.ALLOW, target=f"{i:011d}"
            )
        conn.commit()
    bind(client, world, "業務端末1")
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)
    token = csrf_of(home.text)
    first = client.post("/audit", data={"csrf_token": token, "action": "list", "operator": "bulk-op"})
    assert (
        "該当 120 件（1 / 3 ページ、新しい順）" in first.text and first.text.count("<tr data-function=") == 50
    )
    pager = first.text[first.text.index('class="actions pager"') :]
    assert '<input type="hidden" name="operator" value="bulk-op">' in pager
    last = client.post(
        "/audit", data={"csrf_token": token, "operator": "bulk-op", "page": "3", "sort": "oldest"}
    )
    assert "該当 120 件（3 / 3 ページ、古い順）" in last.text and last.text.count("<tr data-function=") == 20
    assert re.search(r"<td>00000000119</td>", last.text)
    too_far = client.post("/audit", data={"csrf_token": token, "page": "999999"})
    assert too_far.status_code == 422 and "T_SEARCH_INPUT" in too_far.text


def test_S17_csv_export_opens_in_excel_and_is_logged_as_the_auditors_output(
    client: Client, world: World, served: Served, db: Database
) -> None:
    """Issue 10 item 8: the filtered list as CSV — UTF-8 with a BOM, Japanese columns and details,
    every shown person — and the export is itself a log row (event log_export, the row count)."""
    _searched_and_viewed(client, world)
    auditor = served.client()
    with auditor.http:
        bind(auditor, world, "業務端末1")
        home = sign_in(auditor, "kansa1", AUDITOR_PASSWORD)
        exported = auditor.post(
            "/audit",
            data={"csrf_token": csrf_of(home.text), "action": "export", "target": world.resident_code},
        )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="oplog-\d{8}-\d{6}\.csv"', exported.headers["content-disposition"]
    )
    assert exported.headers["cache-control"] == "no-store"
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["番号", "日時", "操作者", "端末", "機能", "ファイル", "結果", "対象", "詳細"]
    assert [(r[2], r[4], r[6]) for r in rows[1:]] == [
        ("kensaku1", "記録の閲覧", "実行"),
        ("kensaku1", "4情報検索", "実行"),
    ]
    assert world.resident_code in rows[2][8] and "{" not in rows[2][8]
    logged = log_rows(db, "operator_login = 'kansa1' AND detail->>'event' = 'log_export'")
    assert len(logged) == 1 and logged[0]["outcome"] == "allow"
    assert logged[0]["detail"]["rows"] == 2 and logged[0]["detail"]["format"] == "csv"
    assert logged[0]["target"] == world.resident_code
