"""`juki provision media …` and `juki provision bulk …` (REC-6, S-30, S-23): the register at the console."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest
from typer.testing import CliRunner, Result

from juki.interfaces.cli import app
from juki.store.db import Database


@pytest.fixture
def juki(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_DATABASE_NAME", raising=False)
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    yield run


def test_rec6_s30_the_media_register_from_the_console(juki: object, db: Database, tmp_path: Path) -> None:
    """REC-6, S-30: register, list, dispose; the console cannot set a recipient (the catalog's four eyes
    do); every change is in the operation log; `bulk list` answers with no job yet."""
    run = juki  # type: ignore[assignment]
    ok = run("provision", "media", "register", "--label", "USB-01", "--serial", "SN0001", "--holder", "田中")
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "data" / "media" / "SN0001" / ".juki-medium").read_text().strip() == "SN0001"
    again = run(
        "provision", "media", "register", "--label", "USB-02", "--serial", "SN0001", "--holder", "田中"
    )
    assert again.exit_code == 1 and "既に登録" in again.output
    assert run("provision", "media", "dispose", "USB-01", "--status", "lost").exit_code == 0
    listed = json.loads(run("provision", "media", "list", "--json").stdout)
    assert [(m["label"], m["status"]) for m in listed] == [("USB-01", "lost")]
    # A recipient is set only through the four-eyes catalog (decision 90): no console command sets one.
    key = str(pyrage.x25519.Identity.generate().to_public())
    assert run("provision", "media", "recipient", "koan", key).exit_code != 0
    assert json.loads(run("provision", "media", "recipients", "--json").stdout) == {}
    assert json.loads(run("provision", "bulk", "list", "--json").stdout) == []
    with db.connect() as conn:
        events = [
            r[0]
            for r in conn.execute(
                "SELECT detail->>'event' FROM audit.op_log WHERE function = 'media_output' ORDER BY seq"
            )
        ]
    assert events == ["media_register", "media_lost"]
