"""`juki demo` (the README's run command) end to end: population, mTLS intake, relay, national
copies, then the terminal UI with the first administrator's one-time links."""

from __future__ import annotations

import re
import ssl
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from juki.entry import app
from juki.interfaces.common import console
from juki.peers.processes import free_port
from juki.services.search.conditions import SearchConditions
from juki.services.search.matcher import compile_search
from juki.store.db import Database
from juki.synth import generate_changes, make_person
from juki.tools.demo import DEMO_SEED, LINKS_FILE, pick_samples, touched_codes

README = Path(__file__).resolve().parents[2] / "README.md"


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
    # An 80-column terminal: the links must still come out whole, one per line.
    monkeypatch.setattr(console, "width", 80)
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
    assert re.search(rf"^https://localhost:{port}/terminal/bind/\S+$", out, re.M)
    assert re.search(rf"^https://localhost:{port}/enrol/\S+$", out, re.M)
    assert "合成データです。実在の人物ではありません" in out
    _check_links_file(data / LINKS_FILE, port, out)
    assert answers and answers[-1] == -1, answers  # the UI was up and refused an unregistered browser
    with db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pref.outbox WHERE status <> 'sent'").fetchone()
        assert row == (0,)  # every accepted change reached the 全国サーバ simulator
        roles = conn.execute(
            "SELECT array_agg(g.role ORDER BY g.role) FROM term.rights_grants g"
            " JOIN term.operators o ON o.id = g.operator_id WHERE o.login = 'admin1' AND g.bootstrap"
        ).fetchone()
    assert roles == (
        [
            "admin",
            "auditor",
            "fuhyo_operator",
            "pref_operator",
            "provision_operator@kyoiku",  # a newcomer can make a single provision (F1-2, F2-2)
            "provision_operator@zeimu",
        ],
    )
    second = runner.invoke(app, ["demo", "--persons", "1500", "--changes", "120", "--terminal-seconds", "1"])
    assert second.exit_code == 0, second.output
    assert "再実行" in second.output
    assert "admin1 は登録済みです" in second.output
    assert re.search(rf"https://localhost:{port}/terminal/bind/\S+", second.output)


def _check_links_file(path: Path, port: int, out: str) -> None:
    """Issue 10 item 12: the links are also in a file only its owner reads, one link per line."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    links = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert [re.sub(r"/[\w-]{20,}$", "/TOKEN", link) for link in links] == [
        f"https://localhost:{port}/",
        f"https://localhost:{port}/terminal/bind/TOKEN",
        f"https://localhost:{port}/enrol/TOKEN",
    ]
    assert all(link in out.splitlines() for link in links)  # each alone on a line of the output
    assert str(path) in out.splitlines()


def readme_example() -> dict[str, str]:
    """The example person the README tells a newcomer to search for (its demo-sample table row)."""
    block = README.read_text(encoding="utf-8").split("<!-- demo-sample:begin -->")[1]
    row = block.split("<!-- demo-sample:end -->")[0].strip().splitlines()[-1]
    name, kana, birth, address = (c.strip() for c in row.strip("|").split("|"))
    return {"name_kanji": name, "name_kana": kana, "birth_date": birth.split("（")[0], "address": address}


def test_readme_example_person_is_found_after_the_demo_load(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's example person exists: `make run` (20,000 persons, 400 changes) prints it first,
    untouched by its change stream, and a 4情報 search by kana name and birth date finds it in the
    population the demo loaded (here a smaller one: the samples come from the first indexes)."""
    example = readme_example()
    default = pick_samples(
        20_000, touched_codes(list(generate_changes(20_000, DEMO_SEED, 400, invalid_share=0.05)))
    )
    first = next(
        make_person(DEMO_SEED, i).pref_current
        for i in range(1000)
        if make_person(DEMO_SEED, i).pref_current[0] == default[0].juminhyo_code
    )
    assert {example["name_kanji"], example["name_kana"], example["birth_date"], example["address"]} <= set(
        first
    )

    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    ran = CliRunner().invoke(app, ["demo", "--persons", "1500", "--changes", "120", "--no-terminal"])
    assert ran.exit_code == 0, ran.output
    assert example["name_kanji"] in ran.output and example["address"] in ran.output
    query, params = compile_search(
        SearchConditions(name=example["name_kana"], birth_date=example["birth_date"])
    ).query(10)
    with db.connect() as conn:
        found = conn.execute(query, params).fetchall()
    assert [(r[1], r[5]) for r in found] == [(example["name_kanji"], example["address"])]
