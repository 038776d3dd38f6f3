"""Versioned migrations: fresh install, upgrade from the previous version, tamper detection."""

from __future__ import annotations

import psycopg
import pytest

from juki.store.embedded import EmbeddedCluster
from juki.store.migrate import MigrationError, applied_versions, available, head, migrate


@pytest.fixture
def empty_db(cluster: EmbeddedCluster) -> str:
    name = "mig_empty"
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return cluster.conninfo(name)


def test_upgrade_from_previous_version_keeps_data(empty_db: str) -> None:
    """A database at head-1 with a person in it upgrades to head; the person is still there."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        previous = available()[-2].version
        migrate(conn, target=previous)
        assert max(applied_versions(conn)) == previous
        conn.execute(
            """INSERT INTO pref.identity_current (juminhyo_code, name_kanji, name_kana, birth_date, sex,
                 address, change_reason, change_date, seion_kana, municipality_code, operator_id,
                 terminal_id, notified_on, update_seq, status)
               VALUES ('12345678906', '山田　太郎', 'ヤマダ　タロウ', '1980-01-01', '1', '神奈川県横浜市鶴見区',
                 'birth', '1980-01-01', 'ヤマダタロウ', '141011', 'test', 'test', '1980-01-02', 1, 'present')"""
        )
        applied = migrate(conn)
        assert [m.version for m in applied] == [head()]
        assert max(applied_versions(conn)) == head()
        row = conn.execute("SELECT name_kanji FROM pref.identity_current").fetchone()
        assert row == ("山田　太郎",)
        assert migrate(conn) == []  # idempotent


def test_edited_migration_is_detected(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as conn:
        migrate(conn)
        conn.execute("UPDATE public.juki_schema_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(MigrationError, match="changed"):
            migrate(conn)


def test_migrate_refuses_a_transactional_connection(empty_db: str) -> None:
    with psycopg.connect(empty_db) as conn, pytest.raises(MigrationError):
        migrate(conn)
