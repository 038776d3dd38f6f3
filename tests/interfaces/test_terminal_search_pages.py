"""The search and record pages at the HTTP level (F1-6; issue 10 items 1–4, 7): the search answers
with a redirect to an opaque result id, no link, form target or redirect of any page carries
personal data, the record page is built for clerks, and not-found / wrong-method pages keep the
header and a way back.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from juki.domain.records import FileKind
from juki.files import file_spec
from juki.interfaces.terminal import create_terminal_app
from juki.interfaces.terminal.routes_work import lookup_keys
from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
from juki.interfaces.tls_server import serve_in_thread
from juki.services.access.pki import Pki
from juki.store.db import Database, DbRole
from tests.interfaces.terminal_web_support import (
    MOVED_ADDRESS,
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    RESIDENT_NAME,
    World,
    build_world,
    csrf_of,
    grant,
)
from tests.interfaces.test_terminal_web import (
    ORIGIN,
    Client,
    Served,
    bind,
    enrol_and_sign_in_webauthn,
)


@pytest.fixture
def world(db: Database) -> World:
    world = build_world(
        db, dataclasses.replace(db.settings, webauthn_origin=ORIGIN, webauthn_rp_id="localhost")
    )
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        world.enrolment_tokens["fuhyo1"] = grant(
            conn, world.settings, world.admin, "fuhyo1", "fuhyo_operator"
        )
    return world


@pytest.fixture
def served(db: Database, world: World, tmp_path: Path) -> Iterator[Served]:
    pki = Pki(tmp_path / "pki")
    cert, key = ensure_terminal_certificate(pki)
    app = create_terminal_app(db, world.settings)
    try:
        with serve_in_thread(app, terminal_server_context(cert, key)) as server:
            yield Served(app, server, pki.ca_cert_path)
    finally:
        app.state.web.close()


@pytest.fixture
def client(served: Served) -> Iterator[Client]:
    client = served.client()
    with client.http:
        yield client


_TARGETS = re.compile(r'(?:href|action)="([^"]*)"')


def _personal(world: World) -> list[str]:
    return [RESIDENT_NAME, RESIDENT_KANA, RESIDENT_BIRTH, world.resident_code, "カナガワ", "神奈川　太郎"]


def _no_personal_targets(page: str, world: World) -> None:
    targets = _TARGETS.findall(page)
    assert targets, "the page has links or forms"
    for target in targets:
        for value in _personal(world):
            assert value not in target, target
        assert "%" not in target, target  # nothing percent-encoded either


def _signed_in(client: Client, world: World) -> None:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)


def test_F1_6_search_redirects_to_an_opaque_result_id(client: Client, world: World) -> None:
    """Issue 10 item 1: POST-redirect-GET; the redirect names an opaque id only, and every page on the
    way (results, record, 個人番号 表示, 照会結果票, look-up) has no personal data in any link."""
    _signed_in(client, world)
    form = client.get("/search/pref")
    posted = client.http.post(
        "/search/pref",
        data={"csrf_token": csrf_of(form.text), "name": RESIDENT_KANA, "birth_date": RESIDENT_BIRTH},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert re.fullmatch(r"/search/pref/results/[A-Za-z0-9_-]{22}", location), location
    results = client.get(location)
    assert results.status_code == 200 and "検索結果 1 件" in results.text
    token = csrf_of(results.text)
    set_id = location.rsplit("/", 1)[1]
    fields = {"csrf_token": token, "file": "pref", "juminhyo_code": world.resident_code}
    back = {"result_set": set_id, "page": "1"}
    record = client.post("/record", data={**fields, **back})
    reveal = client.post("/record/my-number", data={**fields, **back})
    printed = client.post("/record/print", data={**fields, **back})
    looked_up = client.post(
        "/search/pref/lookup", data={"csrf_token": token, "by": "juminhyo_code", "key": world.resident_code}
    )
    for page in (results, record, reveal, printed, looked_up):
        assert page.status_code == 200, page.text
        _no_personal_targets(page.text, world)
    assert f'href="{location}"' in record.text  # 「検索結果へ戻る」 is the kept list
    for url in client.urls:
        assert not any(value in url for value in _personal(world)), url
    # Another browser (another session) cannot open the list by its id.
    assert client.get("/search/pref/results/" + "A" * 22).status_code == 404


def test_F1_6_record_page_is_built_for_clerks(client: Client, world: World) -> None:
    """Issue 10 item 3: grouped Japanese labels, no column names or derived keys in view, one date
    style (和暦 with 西暦) including timestamps, history dated by when each version took effect,
    municipality names, and the 個人番号 masked."""
    _signed_in(client, world)
    token = csrf_of(client.get("/search/pref").text)
    record = client.post(
        "/record", data={"csrf_token": token, "file": "pref", "juminhyo_code": world.resident_code}
    )
    text = record.text
    main = text[text.index('id="record-current"') : text.index('id="record-details"')]
    for column in ("seion_kana", "name_kanji", "retention_flag", "deleted_flag", "gaiji_flag"):
        assert column not in main
    assert "清音化" not in main  # the derived key only under 詳細項目
    assert "基本4情報" in main and "141011（横浜市鶴見区）" in main
    assert re.search(r"令和\d+年\d+月\d+日 \d+時\d\d分\d\d秒（\d{4}-\d\d-\d\d \d\d:\d\d:\d\d）", main)
    assert "昭和60年3月4日（1985-03-04）" in main
    assert "●●●●●●●●●●●●" in main and "my_number" not in main
    history = text[text.index('id="record-history"') :]
    assert "令和8年10月1日（2026-10-01）" in history and "令和8年9月1日（2026-09-01）" in history
    assert "異動年月日（効力発生）" in history and "superseded" not in history
    assert MOVED_ADDRESS in history


def test_F1_6_layout_labels_and_no_requirement_ids(client: Client, world: World) -> None:
    """Issue 10 item 7: カナ over katakana, no "(S-25)" for operators, names, 性別 and 状態 kept on
    one line, the header names the terminal's kind once."""
    _signed_in(client, world)
    form = client.get("/search/pref")
    assert not re.search(r"[（(][SFDR]\d*-\d+[)）]", form.text)
    results = client.post(
        "/search/pref",
        data={"csrf_token": csrf_of(form.text), "name": RESIDENT_KANA, "birth_date": RESIDENT_BIRTH},
    )
    head = results.text[results.text.index("<thead>") : results.text.index("</thead>")]
    assert ">カナ<" in head and "ふりがな" not in head
    assert f'<td class="nowrap">{RESIDENT_NAME}</td>' in results.text
    assert "代表端末（代表端末）" not in results.text and "端末: 代表端末" in results.text


def test_F1_6_lookup_offers_my_number_only_where_the_file_holds_it() -> None:
    """Issue 10 item 2: the 個人番号 look-up follows FileSpec.holds_my_number."""
    assert [k for k, _ in lookup_keys(file_spec(FileKind.PREF))] == ["juminhyo_code", "my_number"]
    assert [k for k, _ in lookup_keys(file_spec(FileKind.FUHYO))] == ["juminhyo_code"]


def test_not_found_and_wrong_method_keep_the_header_and_a_way_back(
    client: Client, world: World, served: Served
) -> None:
    """Issue 10 item 7: a mistyped address or a GET of a POST-only page still shows who is signed in
    at which terminal, the menu and a link back."""
    _signed_in(client, world)
    for response in (client.get("/no-such-page"), client.get("/record/print")):
        assert response.status_code in (404, 405)
        assert "操作者: kensaku1" in response.text and 'nav class="menu"' in response.text
        assert '<a href="/">業務メニューへ戻る</a>' in response.text
    stranger = served.client()  # a browser that is no registered terminal: the bare frame, no link in
    with stranger.http:
        anonymous = stranger.get("/no-such-page")
    assert (
        anonymous.status_code == 404
        and "操作者" not in anonymous.text
        and "業務メニューへ戻る" not in anonymous.text
    )


def test_F2_6_file_2_record_and_lookup_without_my_number(client: Client, world: World) -> None:
    """Issue 10 items 2, 3 for File 2 (F2-6): the look-up offers the 住民票コード only (the file holds
    no 個人番号), and the record page groups File 2's own items with their labels."""
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world, "fuhyo1")
    form = client.get("/search/fuhyo")
    select = form.text[
        form.text.index('id="lookup-by"') : form.text.index("</select>", form.text.index('id="lookup-by"'))
    ]
    assert "住民票コード" in select and "個人番号" not in select
    assert 'href="/jlis/fuhyo"' in form.text  # the J-LIS query is one link away
    record = client.post(
        "/search/fuhyo/lookup",
        data={"csrf_token": csrf_of(form.text), "by": "juminhyo_code", "key": world.fuhyo_code},
    )
    assert record.status_code == 200, record.text
    main = record.text[record.text.index('id="record-current"') :]
    assert "附票管理市町村コード" in main and "141011（横浜市鶴見区）" in main
    assert "個人番号" not in main and "my-number" not in main
    refused = client.post(
        "/search/fuhyo/lookup",
        data={"csrf_token": csrf_of(form.text), "by": "my_number", "key": "123456789018"},
    )
    assert refused.status_code == 422 and "個人番号がありません" in refused.text
    assert "123456789018" not in refused.text  # the number typed is not echoed
