"""Connections to PostgreSQL, one code path for the embedded cluster and an external server.

Each server connects as its own database role (ARCHITECTURE.md §2, REQUIREMENTS S-35..S-37):
`juki_pref` works on File 1, `juki_fuhyo` on File 2 and reads the temporary 個人番号 area. They own
nothing: every schema belongs to a NOLOGIN owner role (`juki_pref_owner`, `juki_fuhyo_owner`,
`juki_term_owner`, `juki_audit`, `juki_bridge`; migration 0012), so a login role has DML only, never
DDL. Migrations and bulk loads run as the administrator. A read-only connection (searches, bulk
provision) can later be pointed at a standby by giving it another URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_dumps

from juki.config import Settings
from juki.store.embedded import EmbeddedCluster, find_binaries

# Every Jsonb value juki writes (inbox, outbox, logs) is serialised by orjson: the standard library's
# encoder was a visible share of the intake's and the simulators' CPU. Same JSON, same jsonb value.
set_json_dumps(orjson.dumps)


class DbRole(StrEnum):
    """Who a connection acts as."""

    ADMIN = "admin"
    PREF = "juki_pref"
    FUHYO = "juki_fuhyo"
    TERM = "juki_term"  # terminals: operators, sessions, rights (never personal data)


@dataclass
class Database:
    """Knows how to reach the database as each role; starts the embedded cluster when needed."""

    settings: Settings
    cluster: EmbeddedCluster | None = None
    _admin_conninfo: str | None = None

    @classmethod
    def open(cls, settings: Settings, *, create: bool = True) -> Database:
        """Resolve the database: the external URL, or the embedded cluster (started if needed)."""
        if settings.database_url:
            return cls(settings=settings, _admin_conninfo=settings.database_url)
        cluster = EmbeddedCluster(settings.data_dir, find_binaries(settings.pg_binaries))
        cluster.start()
        db = cls(settings=settings, cluster=cluster)
        db._admin_conninfo = cluster.conninfo(settings.database_name)
        if create:
            db.ensure_database()
        return db

    @property
    def admin_conninfo(self) -> str:
        assert self._admin_conninfo is not None
        return self._admin_conninfo

    def conninfo(self, role: DbRole = DbRole.ADMIN) -> str:
        if role is DbRole.ADMIN:
            return self.admin_conninfo
        # Same server and database, the role's own user. Passwords, where the server needs them,
        # come from the operator's ~/.pgpass (never from this code).
        params = conninfo_to_dict(self.admin_conninfo)
        params.pop("password", None)
        params["user"] = role.value
        return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})

    def connect(
        self, role: DbRole = DbRole.ADMIN, *, autocommit: bool = False
    ) -> psycopg.Connection[TupleRow]:
        conn: psycopg.Connection[TupleRow] = psycopg.connect(
            self.conninfo(role), autocommit=autocommit, application_name=f"juki:{role.value}"
        )
        return conn

    def ensure_database(self) -> None:
        """Create the database in the embedded cluster if it is not there yet."""
        assert self.cluster is not None
        name = self.settings.database_name
        with psycopg.connect(self.cluster.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
