"""A real deployment's servers check the schema, they do not migrate it; JUKI_PKI_DIR is honoured
(issue 13 loose ends; docs/deployment.md steps 4–5).

On JUKI_DATABASE_URL (a real server) `juki migrate`, run as juki_admin, is the only thing that
changes the schema: `juki serve` connects as juki_pref, finds the schema not at its version and
refuses to start with E_READY_MIGRATIONS and a Japanese message naming `juki migrate` — no stack
trace, and nothing applied. The embedded default keeps migrating itself (`make run`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from juki.config import Settings
from juki.entry import app
from juki.interfaces.common import SchemaNotMigrated, open_database
from juki.services.access.pki import Pki
from juki.store.db import DbRole
from juki.store.embedded import EmbeddedCluster
from juki.store.migrate import head

ROOT = Path(__file__).resolve().parents[2]


def test_serve_refuses_an_unmigrated_real_database_and_runs_once_juki_migrate_did(
    cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    name = f"unmigrated_{os.getpid()}"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    url = cluster.conninfo(name)
    env = {
        **os.environ,
        "JUKI_DATABASE_URL": url,
        "JUKI_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "juki.entry", "serve", "--port", "58431"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert refused.returncode == 1, refused.stderr
        assert "E_READY_MIGRATIONS" in refused.stderr and "juki migrate" in refused.stderr
        assert "スキーマ" in refused.stderr and "Traceback" not in refused.stderr
        with psycopg.connect(url) as conn:  # refused before anything: nothing was migrated
            row = conn.execute("SELECT to_regclass('public.juki_schema_migrations')").fetchone()
        assert row == (None,)

        settings = Settings(data_dir=tmp_path / "data", database_url=url, database_name=name)
        with pytest.raises(SchemaNotMigrated):
            open_database(settings, role=DbRole.PREF)
        migrated = CliRunner().invoke(
            app, ["migrate"], env={"JUKI_DATABASE_URL": url, "JUKI_DATA_DIR": str(tmp_path / "data")}
        )
        assert migrated.exit_code == 0, migrated.output
        # Now the server's own role sees the schema current (migration 0050 lets it read the list).
        db = open_database(settings, role=DbRole.PREF)
        with db.connect(DbRole.PREF) as conn:
            row = conn.execute("SELECT max(version) FROM public.juki_schema_migrations").fetchone()
        assert row == (head(),)
    finally:
        with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_juki_pki_dir_is_where_every_command_looks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`Settings.pki_directory` is the one answer: JUKI_PKI_DIR when set, else <data_dir>/pki."""
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_PKI_DIR", raising=False)
    assert Pki().directory == tmp_path / "data" / "pki"
    monkeypatch.setenv("JUKI_PKI_DIR", str(tmp_path / "elsewhere"))
    assert Pki().directory == Settings.from_env().pki_directory == tmp_path / "elsewhere"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "juki").rglob("*.py"))
    assert 'data_dir / "pki"' not in source.replace('self.data_dir / "pki"', "")  # only config.py's default
