"""The statistics page and its exports (F1-8, REC-10) over real HTTPS against the real database:
rights (S-07), one operation-log row per view and per export (S-15), CSV in UTF-8 with BOM and in
Shift_JIS, XLSX that openpyxl reads back with the same figures, charts as inline SVG under the
strict CSP, and a refused date that is a Japanese page, never a 500."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from juki.config import Settings
from juki.interfaces.terminal.labels import JST
from juki.store.db import Database, DbRole
from tests.interfaces.terminal_web_support import World, build_world, csrf_of, grant, log_rows
from tests.interfaces.test_terminal_jlis_reconcile import serve
from tests.interfaces.test_terminal_web import (
    ORIGIN,
    Client,
    assert_hardened,
    bind,
    enrol_and_sign_in_webauthn,
)


@pytest.fixture
def settings(db: Database) -> Settings:
    return dataclasses.replace(db.settings, webauthn_origin=ORIGIN, webauthn_rp_id="localhost")


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    world = build_world(db, settings)
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        world.enrolment_tokens["tokei1"] = grant(conn, settings, world.admin, "tokei1", "statistics")
    return world


@pytest.fixture
def client(db: Database, world: World, tmp_path: Path) -> Iterator[Client]:
    with serve(db, world.settings, tmp_path) as served:
        client = served.client()
        with client.http:
            yield client


def signed_in(client: Client, world: World, login: str) -> Client:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world, login)
    return client


def test_F1_8_REC_10_statistics_page_with_charts_and_tables_is_logged(
    client: Client, world: World, db: Database
) -> None:
    """F1-8 / REC-10: the page shows the tables and their SVG charts for the as-of date, and its
    view is one operation-log row naming the date; the menu offers it to the statistics role."""
    signed_in(client, world, "tokei1")
    home = client.get("/")
    assert 'href="/statistics/pref"' in home.text and 'href="/statistics/fuhyo"' in home.text
    page = client.get("/statistics/pref", params={"as_of": "2026-10-15"})
    assert page.status_code == 200, page.text
    assert_hardened(page)
    assert page.text.count("<svg") == 4 and "<script>" not in page.text and "style=" not in page.text
    for key in (
        "population_by_municipality",
        "population_by_age",
        "movements_by_reason",
        "updates_by_municipality_day",
        "rejections_by_code",
        "jlis_queries",
    ):
        assert f'id="{key}"' in page.text, key
    # build_world's File 1 residents: four persons in 鶴見区, all present on 2026-10-15
    assert "横浜市鶴見区" in page.text and "横浜市（計）" in page.text
    rows = log_rows(db, "function = 'statistics'")
    assert [(r["operator_login"], r["outcome"], r["target"], r["detail"]["output"]) for r in rows] == [
        ("tokei1", "allow", "as_of:2026-10-15", "page")
    ]
    before = client.get("/statistics/pref", params={"as_of": "2026-08-31"})
    assert "該当なし" not in before.text.split('id="population_by_age"')[0]  # tables are there
    fuhyo = client.get("/statistics/fuhyo")
    assert fuhyo.status_code == 200 and "国外転出者のみ" in fuhyo.text


def _export(client: Client, file: str, as_of: str, output: str) -> bytes:
    page = client.get(f"/statistics/{file}", params={"as_of": as_of})
    response = client.post(
        f"/statistics/{file}/export",
        data={"csrf_token": csrf_of(page.text), "as_of": as_of, "output": output},
    )
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def test_F1_8_exports_csv_utf8_bom_shift_jis_and_xlsx_with_the_same_figures(
    client: Client, world: World, db: Database
) -> None:
    """F1-8: export as CSV (UTF-8 with BOM; Shift_JIS for Excel) and XLSX, each logged with its form."""
    signed_in(client, world, "tokei1")
    utf8 = _export(client, "pref", "2026-10-15", "csv_utf8")
    assert utf8.startswith(b"\xef\xbb\xbf")
    sjis = _export(client, "pref", "2026-10-15", "csv_sjis")
    text = sjis.decode("cp932")
    assert text.replace("～", "〜") == utf8.decode("utf-8-sig")  # WAVE DASH written as Windows does
    rows = list(csv.reader(io.StringIO(utf8.decode("utf-8-sig"))))
    total = next(r for r in rows if r and r[0] == "140007")
    assert total[2:] == ["4", "0", "4"]  # build_world: four men (pref_record's default sex) in 鶴見区
    book = load_workbook(io.BytesIO(_export(client, "pref", "2026-10-15", "xlsx")))
    assert book.sheetnames[0] == "表紙" and len(book.sheetnames) > 5
    first = book["表1"]
    values = [[c.value for c in row] for row in first.iter_rows()]
    assert next(v for v in values if v[0] == "140007")[2:] == [4, 0, 4]
    outputs = [r["detail"]["output"] for r in log_rows(db, "function = 'statistics' AND outcome = 'allow'")]
    assert [o for o in outputs if o != "page"] == ["csv_utf8", "csv_sjis", "xlsx"]


def test_F1_8_statistics_need_the_right_and_a_refusal_is_logged(
    client: Client, world: World, db: Database
) -> None:
    """F1-8 / S-07: a file's operator without the statistics role is refused (logged as deny);
    a bad date or format is a Japanese refusal page, never a 500."""
    signed_in(client, world, "kensaku1")
    refused = client.get("/statistics/pref")
    assert refused.status_code == 403 and "T_FORBIDDEN" in refused.text
    assert [r["outcome"] for r in log_rows(db, "function = 'statistics'")] == ["deny"]


def test_F1_8_a_bad_as_of_date_or_format_is_refused_with_its_code(
    client: Client, world: World, db: Database
) -> None:
    """F1-8: dates after today or malformed, and unknown export formats, get their T_ code; a
    refused date is logged as rejected."""
    signed_in(client, world, "tokei1")
    tomorrow = datetime.now(JST).date().replace(year=datetime.now(JST).year + 1).isoformat()
    for value in ("2026-02-30", tomorrow, "yesterday"):
        page = client.get("/statistics/pref", params={"as_of": value})
        assert page.status_code == 422 and "T_STATS_DATE" in page.text, value
    page = client.get("/statistics/pref")
    bad = client.post(
        "/statistics/pref/export", data={"csrf_token": csrf_of(page.text), "as_of": "", "output": "pdf"}
    )
    assert bad.status_code == 422 and "T_STATS_FORMAT" in bad.text
    refusals = [
        r["detail"]["refusal"] for r in log_rows(db, "function = 'statistics' AND outcome = 'rejected'")
    ]
    assert refusals == ["T_STATS_DATE"] * 3
