"""`juki provision catalog` (docs/provision.md): show, and the four-eyes change at the console with the
administrators' own passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from juki.config import Settings
from juki.interfaces.cli import app
from juki.services.access import operators
from juki.services.provision.catalog import load_catalog, shipped_text
from juki.store.db import Database
from tests.services.access.support import ADMIN_PASSWORD, Conn, System, log_rows, operator_with_roles


@pytest.fixture
def env(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUKI_DATABASE_URL", db.settings.database_url or "")
    monkeypatch.setenv("JUKI_DATA_DIR", str(db.settings.data_dir))


def test_catalog_show_propose_and_approve_by_another_administrator(
    env: None,
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    settings: Settings,
    system: System,
    tmp_path: Path,
) -> None:
    """S-12 for the catalog at the console: the proposer cannot approve; another administrator, who
    types their own password, can; a wrong password is refused and logged."""
    operator, token = operator_with_roles(conn, settings, system, "admin2", "admin")
    operators.enrol_password(conn, token, "another long passphrase")
    runner = CliRunner()
    shown = runner.invoke(app, ["provision", "catalog", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"version": 1' in shown.stdout and "tokubetsu-shien" in shown.stdout

    new = tmp_path / "catalog.toml"
    new.write_text(shipped_text().replace("神奈川県公安委員会", "神奈川県公安委員会（改）"), encoding="utf-8")
    args = ["provision", "catalog", "propose", str(new), "--reason", "名称変更", "--login", "admin1"]
    proposed = runner.invoke(app, args, input=ADMIN_PASSWORD + "\n")
    assert proposed.exit_code == 0, proposed.output
    own = runner.invoke(
        app, ["provision", "catalog", "approve", "2", "--login", "admin1"], input=ADMIN_PASSWORD + "\n"
    )
    assert own.exit_code == 1 and "T_RIGHTS_SELF_APPROVAL" in own.output
    wrong = runner.invoke(app, ["provision", "catalog", "approve", "2", "--login", "admin2"], input="guess\n")
    assert wrong.exit_code == 1 and "T_AUTH_FAILED" in wrong.output
    assert load_catalog(pref_conn).version == 1
    ok = runner.invoke(
        app, ["provision", "catalog", "approve", "2", "--login", "admin2"], input="another long passphrase\n"
    )
    assert ok.exit_code == 0, ok.output
    koan = load_catalog(pref_conn).requester("koan")
    assert koan is not None and koan.name == "神奈川県公安委員会（改）"
    assert operator.login == "admin2"
    failures = [
        r for r in log_rows(admin_conn, function="sign_in") if r["detail"].get("event") == "console_password"
    ]
    assert [(r["outcome"], r["claimed_login"]) for r in failures] == [("failure", "admin2")]
