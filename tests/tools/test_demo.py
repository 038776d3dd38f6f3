"""`juki demo` (the README's run command) end to end: population, mTLS intake, relay, national
copies, then the terminal UI with the first administrator's one-time links."""

from __future__ import annotations

import re
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from juki.entry import app
from juki.peers.processes import free_port
from juki.store.db import Database


def _poll(url: str, ca: Path, answers: list[int], stop: threading.Event) -> None:
    """Ask the terminal UI for its front page until it answers (it starts after the network flow)."""
    while not stop.is_set():
        if ca.exists():
            try:
                response = httpx.get(url, verify=ssl.create_default_context(cafile=str(ca)), timeout=2)
            except httpx.HTTPError:
                pass
            else:
                answers.append(response.status_code)
                if "T_TERMINAL_UNKNOWN" in response.text:
                    answers.append(-1)  # marker: the unregistered browser got the terminal page
                return
        time.sleep(0.2)


def test_demo_shows_notifications_flowing_and_is_idempotent(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 3 done-means: notifications flow from municipalities to the national simulators;
    a second run applies nothing twice (every accepted notification comes back as a duplicate).
    Issue 4 done-means: the run command serves the terminal UI and prints the first administrator's
    one-time enrolment path and the link that registers the browser as a terminal."""
    port = free_port()
    data = tmp_path / "data"
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(data))
    monkeypatch.setenv("JUKI_WEBAUTHN_ORIGIN", f"https://localhost:{port}")
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    answers: list[int] = []
    stop = threading.Event()
    poller = threading.Thread(
        target=_poll, args=(f"https://localhost:{port}/", data / "pki" / "ca.crt", answers, stop), daemon=True
    )
    poller.start()
    first = runner.invoke(app, ["demo", "--persons", "1500", "--changes", "120", "--terminal-seconds", "4"])
    stop.set()
    poller.join(5)
    assert first.exit_code == 0, first.output
    out = first.output
    assert "すべて生成時の期待どおりの応答です" in out
    assert "中継（pref）: 送信" in out and "失敗 0" in out
    assert re.search(rf"https://localhost:{port}/terminal/bind/\S+", out)
    assert re.search(rf"https://localhost:{port}/enrol/\S+", out)
    assert answers and answers[-1] == -1, answers  # the UI was up and refused an unregistered browser
    with db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pref.outbox WHERE status <> 'sent'").fetchone()
        assert row == (0,)  # every accepted change reached the 全国サーバ simulator
        roles = conn.execute(
            "SELECT array_agg(g.role ORDER BY g.role) FROM term.rights_grants g"
            " JOIN term.operators o ON o.id = g.operator_id WHERE o.login = 'admin1' AND g.bootstrap"
        ).fetchone()
    assert roles == (["admin", "auditor", "counter", "fuhyo_operator", "pref_operator"],)
    # SIM-6: the resident / counter simulator's requests got the answers they expect, and a
    # correction case went to the 市町村CS simulator and back (F1-3, F1-4).
    assert "住民・窓口シミュレータ（SIM-6）" in out and "期待どおりの照合結果です" in out
    assert "市町村CS（相互TLS）が回答" in out
    assert list((data / "demo" / "forms").glob("disclosure-*.pdf"))
    second = runner.invoke(app, ["demo", "--persons", "1500", "--changes", "120", "--terminal-seconds", "1"])
    assert second.exit_code == 0, second.output
    assert "再実行" in second.output
    assert "admin1 は登録済みです" in second.output
    assert re.search(rf"https://localhost:{port}/terminal/bind/\S+", second.output)
