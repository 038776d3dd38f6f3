"""The embedded PostgreSQL launcher (ARCHITECTURE.md §2)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from juki.config import Settings
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster, find_binaries, system_bindir, wheel_bindir


def _server_version(cluster: EmbeddedCluster) -> str:
    with psycopg.connect(cluster.conninfo("postgres")) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])


def test_wheel_binaries_work_even_where_system_binaries_exist(tmp_path: Path) -> None:
    """JUKI_PG_BINARIES=wheel forces the pgserver wheel's PostgreSQL, so a fresh machine with only
    Python (no system PostgreSQL) is covered by the same launcher."""
    wheel = wheel_bindir()
    assert wheel is not None, "the pgserver wheel is a declared dependency"
    binaries = find_binaries("wheel")
    assert binaries.source == "wheel" and binaries.bindir == wheel
    cluster = EmbeddedCluster(tmp_path / "data", binaries)
    try:
        cluster.start()
        version = _server_version(cluster)
        system = system_bindir()
        if system is not None:  # prove it is really not the system server we talked to
            assert not str(system).startswith(str(wheel))
        assert version.split(".")[0] == "16", version  # pgserver 0.1.4 ships PostgreSQL 16
    finally:
        cluster.stop()
    assert not cluster.is_running()


def test_start_is_idempotent_and_stop_is_clean(tmp_path: Path) -> None:
    """Starting twice reuses the running cluster; stopping twice is harmless; data survives."""
    settings = Settings(data_dir=tmp_path / "d", database_name="juki")
    db = Database.open(settings)
    assert db.cluster is not None
    pid = db.cluster.postmaster_pid()
    again = Database.open(settings)  # e.g. a second `juki` command while the first runs
    assert again.cluster is not None and again.cluster.postmaster_pid() == pid
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE survivor (x int)")
        conn.execute("INSERT INTO survivor VALUES (42)")
    db.cluster.stop()
    db.cluster.stop()
    assert not db.cluster.is_running()
    reopened = Database.open(settings)
    with reopened.connect() as conn:
        row = conn.execute("SELECT x FROM survivor").fetchone()
        assert row == (42,)
    assert reopened.cluster is not None
    reopened.cluster.stop()


def test_embedded_cluster_listens_on_no_tcp_port(tmp_path: Path) -> None:
    """Unix socket only: listen_addresses is empty and the socket directory is private (0700)."""
    db = Database.open(Settings(data_dir=tmp_path / "d"))
    try:
        with db.connect() as conn:
            row = conn.execute("SHOW listen_addresses").fetchone()
            assert row == ("",)
        assert db.cluster is not None
        assert db.cluster.socket_dir.stat().st_mode & 0o777 == 0o700
    finally:
        assert db.cluster is not None
        db.cluster.stop()


def test_role_connections_use_their_own_user(db: Database) -> None:
    with db.connect(DbRole.FUHYO) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("juki_fuhyo",)
    with db.connect(DbRole.PREF) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("juki_pref",)


def test_unknown_binaries_mode_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="JUKI_PG_BINARIES"):
        find_binaries("docker")
