"""`juki audit checkpoint|verify` (REQUIREMENTS S-15, S-19, S-20): exit 0 on an intact log, 1 on
tampering, findings with stable codes in --json output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from juki.interfaces.cli import app
from juki.store.db import Database
from tests.services.audit.support import append_many

Run = Callable[..., Result]


@pytest.fixture
def juki(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_DATABASE_NAME", raising=False)
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    return run


def test_S15_cli_checkpoint_then_verify_then_detect_tampering(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    """S-15/S-20: the operator's path: checkpoint (cron), verify (auditor), tampering → exit 1."""
    append_many(db, 6)
    made = juki("audit", "checkpoint", "--json")
    assert made.exit_code == 0, made.output
    info = json.loads(made.stdout)
    assert info["tree_size"] == 6
    assert Path(info["file"]) == tmp_path / "data" / "audit" / "checkpoints.jsonl"
    assert (tmp_path / "data" / "audit" / "checkpoint-key.pem").exists()

    ok = juki("audit", "verify", "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] is True and report["rows"] == 6 and report["checkpoints_checked"] == 1

    human = juki("audit", "verify")
    assert human.exit_code == 0 and "OK" in human.output

    with db.connect() as conn:
        conn.execute("DELETE FROM audit.op_log WHERE seq > 4")
        conn.execute(
            "UPDATE audit.chain_head SET last_seq = 4, last_pos = 4, last_hash = (SELECT row_hash FROM audit.op_log WHERE seq = 4)"
        )
        conn.commit()
    bad = juki("audit", "verify", "--json")
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert [f["code"] for f in report["findings"]] == ["A_TRUNCATED"]
    assert "末尾の削除" in report["findings"][0]["message"]

    human = juki("audit", "verify")
    assert human.exit_code == 1 and "A_TRUNCATED" in human.output
    # Redirected: one TSV line per finding with the whole message; on a terminal: a block per
    # finding that fits 80 columns (issue 10 item 13).
    tsv = [line.split("\t") for line in human.stdout.splitlines()]
    assert tsv[0][0] == "コード" and tsv[1][0] == "A_TRUNCATED"
    assert tsv[1][tsv[0].index("内容")] == report["findings"][0]["message"]
    table = juki("audit", "verify", "--format", "table")
    assert table.exit_code == 1 and table.stdout == ""
    assert any(line.startswith("A_TRUNCATED") for line in table.stderr.splitlines())
    assert all(cell_len(line) <= 80 for line in table.stderr.splitlines())  # columns, not characters

    refused = juki("audit", "checkpoint")
    assert refused.exit_code == 1 and "A_TRUNCATED" in refused.output


def test_S19_cli_paths_can_point_elsewhere(juki: Run, db: Database, tmp_path: Path) -> None:
    """The key and the checkpoint file may live on other media than the data directory."""
    append_many(db, 2)
    keys, out = tmp_path / "keys", tmp_path / "worm"
    assert juki("audit", "checkpoint", "--keydir", keys, "--out", out).exit_code == 0
    assert (keys / "checkpoint-key.pem").exists() and (out / "checkpoints.jsonl").exists()
    result = juki("audit", "verify", "--keydir", keys, "--checkpoints", out / "checkpoints.jsonl", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checkpoints_checked"] == 1


def test_hardening_11_S20_cli_verify_exits_1_without_checkpoints(
    juki: Run, db: Database, tmp_path: Path
) -> None:
    """Item 11: `juki audit verify --checkpoints` naming a file that is not there fails (exit 1)."""
    append_many(db, 3)
    result = juki("audit", "verify", "--json", "--checkpoints", str(tmp_path / "none.jsonl"))
    assert result.exit_code == 1
    assert [f["code"] for f in json.loads(result.stdout)["findings"]] == ["A_NO_CHECKPOINT"]
