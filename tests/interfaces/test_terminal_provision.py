"""The provision page over real HTTPS (F1-2, F2-2): paper is an A4 PDF from the forms module, media a CSV
of the task's items, File 2 offers no paper, an unknown file is a coded refusal, no 5xx."""

# ruff: noqa: F811 — the fixtures imported below are shadowed by the tests' parameters on purpose.
from __future__ import annotations

import csv
import io

from juki.store.db import Database, DbRole
from tests.interfaces.terminal_web_support import (
    ADMIN_PASSWORD,
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    World,
    csrf_of,
    grant,
)

# The served application and its fixtures are test_terminal_web's; importing them makes pytest use
# them here (the test parameters then shadow the imported names, which is the point).
from tests.interfaces.test_terminal_web import (  # noqa: F401
    Client,
    bind,
    client,
    enrol_and_sign_in_webauthn,
    served,
    settings,
    sign_in,
    world,
)

TASK = "kyoiku:tokubetsu-shien"


def _operator(client: Client, world: World, db: Database) -> str:
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        world.enrolment_tokens["kyoiku1"] = grant(
            conn, world.settings, world.admin, "kyoiku1", "provision_operator@kyoiku"
        )
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world, "kyoiku1")
    page = client.get(f"/provision/pref?task={TASK}")
    assert page.status_code == 200 and "4情報で依頼" in page.text
    return csrf_of(page.text)


def _ask(client: Client, csrf: str, method: str) -> object:
    return client.post(
        "/provision/pref",
        data={
            "csrf_token": csrf,
            "task": TASK,
            "key_type": "basic4",
            "method": method,
            "name_kana": RESIDENT_KANA,
            "birth_date": RESIDENT_BIRTH,
        },
    )


def test_F1_2_paper_is_a_pdf_and_media_a_csv_of_the_tasks_items(
    client: Client, world: World, db: Database
) -> None:
    csrf = _operator(client, world, db)
    paper = _ask(client, csrf, "paper")
    assert paper.status_code == 200 and paper.headers["content-type"] == "application/pdf"  # type: ignore[attr-defined]
    assert paper.content.startswith(b"%PDF")  # type: ignore[attr-defined]
    assert "no-store" in paper.headers["cache-control"]  # type: ignore[attr-defined]
    media = _ask(client, csrf, "media")  # the 代表端末 may write media (S-29)
    assert media.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(media.content.decode("utf-8-sig"))))  # type: ignore[attr-defined]
    assert rows[0] == [
        "依頼元",
        "事務",
        "結果コード",
        "結果",
        "氏名",
        "生年月日",
        "性別",
        "住所",
        "個人番号",
        "異動事由",
        "異動年月日",
    ]
    assert rows[1][2] == "P_MATCH" and world.resident_code not in ",".join(rows[1])
    with db.connect() as conn:
        methods = conn.execute("SELECT method, result_code FROM pref.provision_record ORDER BY id").fetchall()
    assert methods == [("paper", "P_MATCH"), ("media", "P_MATCH")]


def test_F2_2_file_2_offers_no_paper_and_bad_input_is_a_coded_page(
    client: Client, world: World, db: Database
) -> None:
    csrf = _operator(client, world, db)
    page = client.get("/provision/fuhyo?task=koan:unten-menkyo")
    assert page.status_code == 200 and "4情報で依頼" not in page.text  # not kyoiku's task, not offered
    forged = client.post(
        "/provision/fuhyo",
        data={
            "csrf_token": csrf,
            "task": TASK,
            "key_type": "basic4",
            "method": "paper",
            "name_kana": RESIDENT_KANA,
            "birth_date": RESIDENT_BIRTH,
        },
    )
    assert forged.status_code == 422 and "P_NOT_PERMITTED" in forged.text
    unknown = client.get("/provision/other")
    assert unknown.status_code == 400 and "T_PROVISION_INPUT" in unknown.text


def test_the_rights_page_offers_the_provision_role_once_per_requester(client: Client, world: World) -> None:
    """docs/provision.md §3: an application names the requester (provision_operator@<code>); the bare,
    unbound role is not offered (it would allow nothing)."""
    bind(client, world)
    sign_in(client, "admin1", ADMIN_PASSWORD)
    page = client.get("/rights")
    assert page.status_code == 200
    assert 'value="provision_operator@kyoiku"' in page.text and "神奈川県教育委員会" in page.text
    assert 'value="provision_operator"' not in page.text
