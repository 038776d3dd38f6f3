"""The terminal prints the configured prefecture's offices (issue 14 item 1, Q-08) over real HTTPS:
JUKI_OFFICES_FILE's entry names the issuer of the counter's signed form (F1-3) and of the provision
paper (F1-2), an example entry carries the 【県で確認のうえ確定】 marker, and a prefecture without an
entry is answered E_OFFICES_NOT_CONFIGURED before anything is issued or provided."""

# ruff: noqa: F811 — the fixtures imported below are shadowed by the tests' parameters on purpose.
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from juki.config import Settings
from juki.domain import offices as offices_module
from juki.store.db import Database, DbRole
from tests.interfaces.forms.pdf_support import library_text
from tests.interfaces.terminal_web_support import (
    MOVED_ADDRESS,
    RESIDENT_BIRTH,
    RESIDENT_KANA,
    RESIDENT_NAME,
    World,
    csrf_of,
    grant,
)

# The served application and its fixtures are test_terminal_web's (as in test_terminal_provision).
from tests.interfaces.test_terminal_web import (  # noqa: F401
    ORIGIN,
    Client,
    bind,
    client,
    enrol_and_sign_in_webauthn,
    served,
    sign_in,
    world,
)

#: The operator's entry for 14 (JUKI_OFFICES_FILE): it replaces the shipped one whole.
OVERRIDE = """
[14]
issuer = "神奈川県知事職務代理者"
disclosure_office = "神奈川県テスト局開示窓口課"
staff_department = "神奈川県テスト局市町村担当課"
contact = "お問い合わせ先　神奈川県テスト局市町村担当課　000-000-0000"
example = true
"""


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """test_terminal_web's settings with JUKI_OFFICES_FILE pointing at :data:`OVERRIDE`."""
    offices_file = tmp_path / "offices.toml"
    offices_file.write_text(OVERRIDE, encoding="utf-8")
    return dataclasses.replace(
        db.settings,
        webauthn_origin=ORIGIN,
        webauthn_rp_id="localhost",
        offices_file=offices_file,
    )


def _unconfigure(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave the prefecture without an entry: an empty JUKI_OFFICES_FILE (read on each form, no restart)
    and no shipped entry."""
    assert settings.offices_file is not None
    settings.offices_file.write_text("", encoding="utf-8")
    monkeypatch.setattr(offices_module, "packaged_offices", dict)


def _signed_in(client: Client, world: World, db: Database, login: str, role: str) -> None:
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        world.enrolment_tokens[login] = grant(conn, world.settings, world.admin, login, role)
    bind(client, world)
    enrol_and_sign_in_webauthn(client, world, login)


def test_F1_3_Q_08_counter_form_names_the_configured_issuer_and_refuses_without_offices(
    client: Client, world: World, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in(client, world, db, "madoguchi1", "counter")
    home = client.get("/disclosure")
    assert home.status_code == 200
    # the counter offers the configured prefecture's counters, not the shipped ones
    assert "神奈川県テスト局開示窓口課" in home.text and "情報公開広聴課" not in home.text
    registered = client.post(
        "/disclosure",
        data={
            "csrf_token": csrf_of(home.text),
            "file_pref": "1",
            "kind": "disclosure",
            "office": "神奈川県テスト局市町村担当課",
            "channel": "counter",
            "requester_kind": "self",
            "identity_document": "個人番号カード",
            "name": RESIDENT_NAME,
            "birth_date": RESIDENT_BIRTH,
            "address": MOVED_ADDRESS,
        },
    )
    assert registered.status_code == 200, registered.text
    found = re.search(r"/disclosure/pref/(\d+)$", str(registered.url))
    assert found, registered.url
    path = f"/disclosure/pref/{found.group(1)}"
    matched = client.post(f"{path}/match", data={"csrf_token": csrf_of(registered.text)})
    assert matched.status_code == 200 and "照合済" in matched.text
    csrf = csrf_of(matched.text)

    _unconfigure(settings, monkeypatch)
    refused = client.post(f"{path}/issue", data={"csrf_token": csrf})
    assert refused.status_code == 503 and "E_OFFICES_NOT_CONFIGURED" in refused.text
    assert "神奈川県" in refused.text  # the message names the prefecture whose entry is missing
    with db.connect() as conn:
        row = conn.execute(
            "SELECT status, issue_number FROM pref.disclosure_request WHERE id = %s", [int(found.group(1))]
        ).fetchone()
    assert row == ("matched", None)  # nothing issued or numbered

    monkeypatch.undo()
    assert settings.offices_file is not None
    settings.offices_file.write_text(OVERRIDE, encoding="utf-8")
    issued = client.post(f"{path}/issue", data={"csrf_token": csrf})
    assert issued.status_code == 200 and issued.headers["content-type"] == "application/pdf"
    text = library_text(issued.content).replace("\n", "")
    assert "神奈川県知事職務代理者" in text and "県で確認のうえ確定" in text
    assert "神奈川県テスト局市町村担当課" in text and "情報公開広聴課" not in text


def test_F1_2_Q_08_provision_paper_names_the_configured_issuer_and_refuses_without_offices(
    client: Client, world: World, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signed_in(client, world, db, "kyoiku1", "provision_operator@kyoiku")
    page = client.get("/provision/pref?task=kyoiku:tokubetsu-shien")
    assert page.status_code == 200
    ask = {
        "csrf_token": csrf_of(page.text),
        "task": "kyoiku:tokubetsu-shien",
        "key_type": "basic4",
        "method": "paper",
        "name_kana": RESIDENT_KANA,
        "birth_date": RESIDENT_BIRTH,
    }
    paper = client.post("/provision/pref", data=ask)
    assert paper.status_code == 200 and paper.headers["content-type"] == "application/pdf"
    text = library_text(paper.content).replace("\n", "")
    assert "神奈川県知事職務代理者" in text and "県で確認のうえ確定" in text

    _unconfigure(settings, monkeypatch)
    refused = client.post("/provision/pref", data=ask)
    assert refused.status_code == 503 and "E_OFFICES_NOT_CONFIGURED" in refused.text
    with db.connect() as conn:
        rows = conn.execute("SELECT method FROM pref.provision_record").fetchall()
    assert rows == [("paper",)]  # the refused paper was neither provided nor recorded
