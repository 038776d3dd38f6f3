"""`juki admin|operator|terminal|rights …` driven in-process against a real PostgreSQL
(REQUIREMENTS S-08, S-09, S-11, S-12)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from juki.entry import app
from juki.store.db import Database

Run = Callable[..., Result]


@pytest.fixture
def juki(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUKI_WEBAUTHN_ORIGIN", "https://terminal.example:8444")
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    yield run


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_S08_S11_S12_bootstrap_operators_rights_and_inventory_from_the_console(juki: Run) -> None:
    """S-08/S-11: bootstrap once, register an operator, list applications and the inventory from the
    CLI with --json output (rights decisions are taken on the terminal UI only: hardening 13)."""
    boot = ok_json(juki("admin", "bootstrap", "admin1", "--json"))
    assert boot["bootstrapped"] and boot["enrolment_url"].startswith("https://terminal.example:8444/enrol/")
    assert boot["binding_url"].endswith("/terminal/bind/" + boot["binding_token"])
    again = juki("admin", "bootstrap", "admin9")
    assert again.exit_code == 1 and "T_BOOTSTRAP_DONE" in again.output
    assert ok_json(juki("admin", "bootstrap", "admin9", "--if-needed", "--json")) == {"bootstrapped": False}

    added = ok_json(juki("operator", "add", "Tanaka", "--name", "田中 花子", "--json"))
    assert added["login"] == "tanaka" and added["enrolment_token"] in added["enrolment_url"]
    inventory = ok_json(juki("rights", "inventory", "--json"))
    assert [(r["operator_login"], r["role"], r["approved_by_login"], r["bootstrap"]) for r in inventory] == [
        ("admin1", "admin", None, True),
    ]
    assert ok_json(juki("rights", "applications", "--json")) == []
    operators = ok_json(juki("operator", "list", "--json"))
    assert {o["login"]: o["roles"] for o in operators} == {"admin1": ["admin"], "tanaka": []}
    roles = ok_json(juki("rights", "roles", "--json"))
    assert roles["bulk_terminal_functions"] == ["output"]
    assert {r["role"] for r in roles["roles"]} >= {
        "admin",
        "pref_operator",
        "fuhyo_operator",
        "auditor",
        "bulk_output",
    }
    assert juki("rights", "inventory").exit_code == 0  # the human table renders too


def test_terminal_commands(juki: Run) -> None:
    """Terminals: add (with a binding link), list, rebind, retire; refusals exit 1 with their code."""
    added = ok_json(juki("terminal", "add", "業務端末-1", "--kind", "business", "--bulk", "--json"))
    assert added["bulk_enabled"] and added["kind"] == "business" and "/terminal/bind/" in added["binding_url"]
    duplicate = juki("terminal", "add", "業務端末-1", "--kind", "business")
    assert duplicate.exit_code == 1 and "T_TERMINAL_EXISTS" in duplicate.output
    assert (
        ok_json(juki("terminal", "rebind", "業務端末-1", "--json"))["binding_token"] != added["binding_token"]
    )
    assert [t["name"] for t in ok_json(juki("terminal", "list", "--json"))] == ["業務端末-1"]
    assert juki("terminal", "retire", "業務端末-1").exit_code == 0
    assert ok_json(juki("terminal", "list", "--json")) == []
    assert len(ok_json(juki("terminal", "list", "--all", "--json"))) == 1
    assert juki("terminal", "list").exit_code == 0
    assert juki("operator", "enrol-link", "nobody").exit_code == 1


def test_hardening_13_S12_S15_the_console_takes_no_rights_decision_and_shows_no_personal_data(
    juki: Run,
) -> None:
    """`juki rights approve 8 --as admin2` recorded an approver nobody had authenticated (S-12 was
    nominal), and `juki query` printed personal data under a free-text operator with no operation-log
    row (S-15): those commands are gone from the console."""
    assert ok_json(juki("admin", "bootstrap", "admin1", "--json"))["bootstrapped"]
    for command in (
        ("rights", "apply", "admin1", "auditor", "--reason", "兼務", "--as", "admin1"),
        ("rights", "approve", "1", "--as", "admin1"),
        ("rights", "reject", "1", "--as", "admin1", "--reason", "x"),
        ("rights", "revoke", "1", "--as", "admin1", "--reason", "x"),
        ("query", "code", "12345678901"),
    ):
        refused = juki(*command)
        assert refused.exit_code == 2 and "No such command" in refused.output, command
    assert ok_json(juki("rights", "applications", "--json")) == []


def test_S12_bootstrap_prints_the_one_time_second_administrator_link(juki: Run, db: Database) -> None:
    """Issue 10 / S-12: `juki admin bootstrap` also prints the second-administrator link (logged on
    the bootstrap channel with the OS user); `juki admin second-admin-link` re-issues it, voiding the
    older one."""
    boot = ok_json(juki("admin", "bootstrap", "admin1", "--json"))
    first = boot["second_admin_url"]
    assert first.startswith("https://terminal.example:8444/admin/bootstrap/")
    again = ok_json(juki("admin", "second-admin-link", "--json"))["second_admin_url"]
    assert again != first and again.startswith("https://terminal.example:8444/admin/bootstrap/")
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT actor_kind, claimed_login FROM audit.op_log"
            " WHERE detail->>'event' IN ('rights_bootstrap', 'bootstrap_second_admin_grant') ORDER BY seq"
        ).fetchall()
        valid = conn.execute(
            "SELECT count(*) FROM term.one_time_tokens WHERE purpose = 'bootstrap_admin' AND expires_at > now()"
        ).fetchone()
    assert [r[0] for r in rows] == ["system:bootstrap"] * 3 and all(r[1] for r in rows)
    assert valid == (1,)
