"""`juki demo` (the README's run command) end to end: population, mTLS intake, relay, national copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from juki.entry import app
from juki.store.db import Database


def test_demo_shows_notifications_flowing_and_is_idempotent(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 3 done-means: notifications flow from municipalities to the national simulators;
    a second run applies nothing twice (every accepted notification comes back as a duplicate)."""
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--persons", "1500", "--changes", "120"])
    assert first.exit_code == 0, first.output
    out = first.output
    assert "すべて生成時の期待どおりの応答です" in out
    assert "中継（pref）: 送信" in out and "失敗 0" in out
    with db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pref.outbox WHERE status <> 'sent'").fetchone()
    assert row == (0,)  # every accepted change reached the 全国サーバ simulator
    second = runner.invoke(app, ["demo", "--persons", "1500", "--changes", "120"])
    assert second.exit_code == 0, second.output
    assert "再実行" in second.output
