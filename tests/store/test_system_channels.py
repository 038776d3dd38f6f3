"""The operation log's system channels are data (migration 0039; S-15, S-16).

Four features each taught `audit_api.append_system` one more channel by re-creating the function with
its own list, so the last migration silently refused the other three. Every channel the code writes
through must be accepted, by the roles that write it, and a channel with a peer pattern must name its
peer that way.
"""

from __future__ import annotations

import psycopg
import pytest

from juki.store.db import Database
from tests.services.audit.support import connect_as

#: channel → a claimed login it writes (the code's own callers: services and tools)
CHANNELS = {
    "console": "admin1",
    "bench": None,
    "line": "line:koan-agent",
    "cs-api": "cs:141003",
    "bootstrap": "root",
    "scheduler": None,
}
APPEND = "SELECT audit_api.append_system(%s, %s, 'rights_admin', '-', 'allow', 'test', '{}'::jsonb)"


@pytest.mark.parametrize("role", ("juki_pref", "juki_fuhyo", "juki_term"))
def test_S16_every_system_channel_the_code_uses_is_accepted(db: Database, role: str) -> None:
    with connect_as(db, role) as conn:
        for channel, login in CHANNELS.items():
            row = conn.execute(APPEND, (channel, login)).fetchone()
            assert row is not None and int(row[0]) > 0, channel
    with db.connect() as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM audit.system_channels").fetchall()}
    assert names == set(CHANNELS)


def test_S16_unknown_channels_and_unnamed_municipalities_are_refused(db: Database) -> None:
    with connect_as(db, "juki_term") as conn:
        for channel, login in (("operator", "x"), ("cs-api", "admin1"), ("cs-api", None)):
            with pytest.raises(psycopg.Error, match="append_system"):
                conn.execute(APPEND, (channel, login))
            conn.rollback()
