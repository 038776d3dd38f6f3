"""The terminal pages of the query to J-LIS (F1-5, F2-5) and of the consistency check's results
(F1-7, F2-7), over real HTTPS against the real database and the national simulators (real mTLS):
rights (S-07), one operation-log row per call (S-15), the communication record naming the signed-in
operator (REC-4), J-LIS's minimum conditions (S-25), no personal data in URLs.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.interfaces.terminal import create_terminal_app
from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
from juki.interfaces.tls_server import serve_in_thread
from juki.peers.national import other_prefecture_person
from juki.services.access.pki import Pki
from juki.services.jlis.communication_records import query_log
from juki.services.registry.reconciliation import reconcile
from juki.store.db import Database, DbRole
from tests.factories import csv_bytes, juminhyo, person
from tests.interfaces.terminal_web_support import (
    AUDITOR_PASSWORD,
    World,
    build_world,
    csrf_of,
    grant,
    log_rows,
)
from tests.interfaces.test_terminal_web import (
    ORIGIN,
    Client,
    Served,
    bind,
    enrol_and_sign_in_webauthn,
    sign_in,
)
from tests.peers.national_support import Certs, Sim

SEED = 1
OTHERS = 60  # persons of other prefectures in each simulator


def other(number: int) -> dict[str, Any]:
    return other_prefecture_person(SEED, number)


@pytest.fixture
def world(db: Database) -> World:
    settings = dataclasses.replace(db.settings, webauthn_origin=ORIGIN, webauthn_rp_id="localhost")
    world = build_world(db, settings)
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        world.enrolment_tokens["fuhyo1"] = grant(conn, settings, world.admin, "fuhyo1", "fuhyo_operator")
    return world


@contextmanager
def serve(db: Database, settings: Settings, tmp_path: Path) -> Iterator[Served]:
    pki = Pki(tmp_path / "terminal-pki")
    cert, key = ensure_terminal_certificate(pki)
    app = create_terminal_app(db, settings)
    try:
        with serve_in_thread(app, terminal_server_context(cert, key)) as server:
            yield Served(app, server, pki.ca_cert_path)
    finally:
        app.state.web.close()


@pytest.fixture
def sims(national: Sim, fuhyo_national: Sim) -> tuple[Sim, Sim]:
    for sim, _ in (national, fuhyo_national):
        assert sim.seed_other_prefectures(OTHERS, SEED) == OTHERS
    return national, fuhyo_national


@pytest.fixture
def client(
    db: Database, world: World, sims: tuple[Sim, Sim], certs: Certs, tmp_path: Path
) -> Iterator[Client]:
    """A browser of the terminal application configured like a real installation: the J-LIS URLs
    and the PKI directory holding this server's client certificates come from the settings."""
    (_, national), (_, fuhyo_national) = sims
    settings = dataclasses.replace(
        world.settings,
        national_url=national.url,
        fuhyo_national_url=fuhyo_national.url,
        pki_dir=certs.pki.directory,
    )
    with serve(db, settings, tmp_path) as served:
        client = served.client()
        with client.http:
            yield client


def jlis_query(client: Client, file: str, **fields: str) -> Any:
    page = client.get(f"/jlis/{file}")
    assert page.status_code == 200, page.text
    return client.post(f"/jlis/{file}", data={"csrf_token": csrf_of(page.text), **fields})


def communication_records(db: Database, file: FileKind) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return list(reversed(query_log(conn, file)))


def assert_no_personal_data_in_urls(client: Client, *values: str) -> None:
    for url in client.urls:
        assert not any(value in url for value in values), url


# ------------------------------------------------------------------------------ query to J-LIS


def test_F1_5_query_by_code_my_number_and_basic4_shows_the_provided_items_and_is_logged(
    client: Client, world: World, db: Database
) -> None:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    home = client.get("/")
    assert 'href="/jlis/pref"' in home.text and "全国サーバへの照会（本人確認情報）" in home.text
    assert 'href="/reconcile/pref"' in home.text
    assert "/jlis/fuhyo" not in home.text and "/reconcile/fuhyo" not in home.text
    first, second, third = other(0), other(1), other(2)
    by_code = jlis_query(client, "pref", by="juminhyo_code", juminhyo_code=first["juminhyo_code"])
    assert by_code.status_code == 200, by_code.text
    assert "照会結果 1 件" in by_code.text and first["name_kanji"] in by_code.text
    # the provided items (D1-PS) under their Japanese names
    for label in ("住民票コード", "氏名", "生年月日", "性別", "住所", "個人番号", "異動事由", "異動年月日"):
        assert f'<th scope="col">{label}</th>' in by_code.text, label
    assert first["my_number"] in by_code.text and first["address"] in by_code.text
    by_number = jlis_query(client, "pref", by="my_number", my_number=second["my_number"])
    assert by_number.status_code == 200 and second["name_kanji"] in by_number.text
    assert 'name="my_number" type="password"' in by_number.text  # the 個人番号 is never echoed into a field
    by_basic4 = jlis_query(
        client, "pref", by="basic4", name_kana=third["name_kana"], birth_date=third["birth_date"]
    )
    assert by_basic4.status_code == 200, by_basic4.text
    assert third["name_kanji"] in by_basic4.text
    nobody = jlis_query(client, "pref", by="juminhyo_code", juminhyo_code=juminhyo(9999))
    assert nobody.status_code == 200 and "該当する者はいません" in nobody.text
    # Every form posts; no personal data in any URL requested.
    for page in (by_code.text, by_basic4.text):
        assert all(m == "post" for m in re.findall(r'<form[^>]*method="([a-z]+)"', page))
    assert_no_personal_data_in_urls(
        client, first["juminhyo_code"], second["my_number"], third["birth_date"], "%E3%"
    )
    # One operation-log row each, naming operator and terminal; the 個人番号 is not in the log.
    rows = log_rows(db, "function = 'jlis_query' AND operator_login = 'kensaku1'")
    assert [(r["outcome"], r["terminal_name"], r["file"]) for r in rows] == [
        ("allow", "代表端末", "pref")
    ] * 4
    assert [r["detail"]["by"] for r in rows] == ["juminhyo_code", "my_number", "basic4", "juminhyo_code"]
    assert rows[0]["target"] == first["juminhyo_code"] and rows[0]["detail"]["shown"] == [
        first["juminhyo_code"]
    ]
    assert rows[1]["detail"]["shown"] == [second["juminhyo_code"]]
    assert second["my_number"] not in str(rows) and rows[3]["detail"]["result_count"] == 0
    # The communication records (REC-4) name the signed-in operator, not free text.
    records = communication_records(db, FileKind.PREF)
    assert [(r["operator_id"], r["terminal_id"], r["function"]) for r in records] == [
        ("kensaku1", "代表端末", "F1-5")
    ] * 4
    assert [r["outcome"] for r in records] == ["found", "found", "found", "not_found"]
    assert [r["detail"]["communication_record"] for r in rows] == [r["id"] for r in records]


def test_S25_the_J_LIS_minimum_conditions_and_too_many_are_shown_on_the_form(
    client: Client, world: World, db: Database, sims: tuple[Sim, Sim]
) -> None:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    few = jlis_query(client, "pref", by="basic4", name_kana="ワタナベ　タカシ")
    assert few.status_code == 422 and "T_JLIS_CONDITIONS" in few.text
    assert "生年月日または住所の指定が必要です" in few.text
    assert "ワタナベ　タカシ" in few.text  # the form keeps what was typed…
    assert "jlis-results" not in few.text  # …and shows nobody
    # Two persons share the first kana and the birth year: over a cap of 1, J-LIS answers E_TOO_MANY.
    groups = Counter((other(n)["name_kana"][0], other(n)["birth_date"][:4]) for n in range(OTHERS))
    (kana, year), count = groups.most_common(1)[0]
    assert count >= 2
    sims[0][0].max_matches = 1
    many = jlis_query(client, "pref", by="basic4", name_kana=kana, name_match="prefix", birth_date=year)
    assert many.status_code == 422 and "T_JLIS_TOO_MANY" in many.text and "絞り込んで" in many.text
    assert "jlis-results" not in many.text
    rows = log_rows(db, "function = 'jlis_query'")
    assert [(r["outcome"], r["detail"]["refusal"], r["detail"]["jlis_code"]) for r in rows] == [
        ("rejected", "T_JLIS_CONDITIONS", "E_QUERY_CONDITIONS"),
        ("rejected", "T_JLIS_TOO_MANY", "E_TOO_MANY"),
    ]
    assert rows[0]["detail"]["conditions"] == {
        "name_kana": "ワタナベ　タカシ",
        "name_part": "full",
        "name_match": "exact",
    }
    # The insufficient query never left the server; the one J-LIS refused is recorded as refused.
    records = communication_records(db, FileKind.PREF)
    assert [(r["outcome"], r["error_code"]) for r in records] == [("refused", "E_TOO_MANY")]


def test_F2_5_the_fuhyo_query_has_no_my_number_and_a_forged_one_is_refused(
    client: Client, world: World, db: Database
) -> None:
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world, "fuhyo1")
    page = client.get("/jlis/fuhyo")
    assert page.status_code == 200 and "附票全国サーバへの照会" in page.text
    assert 'name="my_number"' not in page.text  # not offered for File 2…
    forged = client.post(
        "/jlis/fuhyo",
        data={"csrf_token": csrf_of(page.text), "by": "my_number", "my_number": other(0)["my_number"]},
    )
    assert forged.status_code == 422 and "T_JLIS_INPUT" in forged.text  # …and refused when forged
    assert "個人番号で照会できません" in forged.text
    found = jlis_query(client, "fuhyo", by="juminhyo_code", juminhyo_code=other(0)["juminhyo_code"])
    assert found.status_code == 200 and other(0)["name_kanji"] in found.text
    assert "個人番号" not in found.text.split("jlis-results", 1)[1]  # D2-PS has none
    rows = log_rows(db, "function = 'jlis_query' AND operator_login = 'fuhyo1'")
    assert [(r["outcome"], r["file"], r["detail"].get("jlis_code")) for r in rows] == [
        ("rejected", "fuhyo", "E_QUERY_KEY"),
        ("allow", "fuhyo", None),
    ]
    records = communication_records(db, FileKind.FUHYO)
    assert [(r["operator_id"], r["function"], r["outcome"]) for r in records] == [("fuhyo1", "F2-5", "found")]


def test_S07_an_operator_without_the_right_is_refused_and_logged_and_nothing_is_sent(
    client: Client, world: World, db: Database
) -> None:
    bind(client, world)
    home = sign_in(client, "kansa1", AUDITOR_PASSWORD)  # the auditor: no jlis_query, no reconciliation_review
    assert "/jlis/" not in home.text and "/reconcile/" not in home.text
    token = csrf_of(home.text)
    assert client.get("/jlis/pref").status_code == 403
    posted = client.post(
        "/jlis/pref",
        data={"csrf_token": token, "by": "juminhyo_code", "juminhyo_code": other(0)["juminhyo_code"]},
    )
    assert posted.status_code == 403 and "T_FORBIDDEN" in posted.text
    assert other(0)["name_kanji"] not in posted.text
    listing = client.get("/reconcile/pref")
    assert listing.status_code == 403 and "T_FORBIDDEN" in listing.text
    opened = client.post("/reconcile/pref/run", data={"csrf_token": token, "run_id": "1"})
    assert opened.status_code == 403
    rows = log_rows(db, "operator_login = 'kansa1' AND outcome = 'deny'")
    assert [(r["function"], r["file"], r["detail"]["event"]) for r in rows] == [
        ("jlis_query", "pref", "jlis_query_form"),
        ("jlis_query", "pref", "jlis_query"),
        ("reconciliation_review", "pref", "reconciliation_runs"),
        ("reconciliation_review", "pref", "reconciliation_differences"),
    ]
    assert communication_records(db, FileKind.PREF) == []  # refused before anything was sent


def test_an_unconfigured_national_server_is_a_refusal_not_a_500(
    db: Database, world: World, tmp_path: Path
) -> None:
    settings = dataclasses.replace(world.settings, national_url=None, pki_dir=tmp_path / "no-pki")
    with serve(db, settings, tmp_path) as served:
        client = served.client()
        with client.http:
            bind(client, world)
            enrol_and_sign_in_webauthn(client, world)
            page = client.get("/jlis/pref")
            assert page.status_code == 200 and "T_JLIS_NOT_CONFIGURED" in page.text  # said up front
            refused = client.post(
                "/jlis/pref",
                data={"csrf_token": csrf_of(page.text), "by": "juminhyo_code", "juminhyo_code": juminhyo(1)},
            )
    assert refused.status_code == 503 and "T_JLIS_NOT_CONFIGURED" in refused.text
    assert "JUKI_NATIONAL_URL" in refused.text
    rows = log_rows(db, "function = 'jlis_query'")
    assert [(r["outcome"], r["detail"]["refusal"]) for r in rows] == [("error", "T_JLIS_NOT_CONFIGURED")]


# ------------------------------------------------------------------------- reconciliation results


def reconciliation_run(db: Database) -> int:
    """A completed 鶴見区 run: the world's 4 residents missing on the municipal side, 55 persons the
    server does not know (59 differences: two pages)."""
    upload = csv_bytes(FileKind.PREF, [person(n) for n in range(100, 155)])
    with db.connect(DbRole.PREF) as conn:
        info = reconcile(conn, FileKind.PREF, "141011", [upload], requested_by="cs-tsurumi")
    assert info.status == "completed" and info.counts is not None and info.counts["differences"] == 59
    return info.run_id


def test_F1_7_reconciliation_runs_and_differences_page_by_page_with_a_log_row(
    client: Client, world: World, db: Database
) -> None:
    run_id = reconciliation_run(db)
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world)
    runs = client.get("/reconcile/pref")
    assert runs.status_code == 200, runs.text
    assert f'data-run="{run_id}"' in runs.text and "cs-tsurumi" in runs.text
    assert juminhyo(100) not in runs.text  # the list shows no person
    first = client.post("/reconcile/pref/run", data={"csrf_token": csrf_of(runs.text), "run_id": str(run_id)})
    assert first.status_code == 200, first.text
    assert first.text.count("<tr data-kind=") == 50
    assert juminhyo(100) in first.text and "サーバに記録なし" in first.text
    after = re.search(r'name="after" value="(\d+)">\s*<button type="submit" id="next-page"', first.text)
    assert after is not None and after.group(1) == "50"
    second = client.post(
        "/reconcile/pref/run", data={"csrf_token": csrf_of(first.text), "run_id": str(run_id), "after": "50"}
    )
    assert second.status_code == 200 and second.text.count("<tr data-kind=") == 9
    assert world.resident_code in second.text and "市町村に記録なし" in second.text
    assert 'id="next-page"' not in second.text
    missing = client.post(
        "/reconcile/pref/run", data={"csrf_token": csrf_of(second.text), "run_id": "999999"}
    )
    assert missing.status_code == 404 and "T_RECON_RUN_NOT_FOUND" in missing.text
    assert_no_personal_data_in_urls(client, juminhyo(100), world.resident_code)
    rows = log_rows(db, "function = 'reconciliation_review'")
    assert [
        (r["outcome"], r["target"], r["detail"].get("after"), r["detail"].get("result_count")) for r in rows
    ] == [
        ("allow", None, None, 1),
        ("allow", f"run:{run_id}", 0, 50),
        ("allow", f"run:{run_id}", 50, 9),
        ("rejected", "run:999999", None, None),
    ]
    assert all(r["operator_login"] == "kensaku1" and r["file"] == "pref" for r in rows)
