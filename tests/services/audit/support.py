"""Helpers of the operation-log tests (here, in tests/store and tests/interfaces): actors, bulk
appends, and the superuser attacker's tools."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from juki.domain.records import FileKind
from juki.services.access import tokens
from juki.services.access.actor import Actor, Function, Outcome, TerminalKind
from juki.services.audit.operation_log import GENESIS_HASH, ROW_COLUMNS, LogEntry, record_operation, row_hash
from juki.store.db import Database


def actor(
    target: Database | psycopg.Connection[Any],
    login: str = "yamada",
    terminal: str = "T-001",
    *,
    roles: frozenset[str] = frozenset({"clerk"}),
) -> Actor:
    """An operator signed in at a terminal, for real: the operator, terminal and a live session are
    rows of the term schema (made if missing), because the log takes who acts from the session
    (migration 0018). Given a Database, the rows are committed at once (so a connection of any role
    can log with the actor); given a connection, they are part of its transaction."""
    if isinstance(target, Database):
        with target.connect() as conn:
            made = actor(conn, login, terminal, roles=roles)
            conn.commit()
        return made
    conn = target
    found = conn.execute("SELECT id FROM term.operators WHERE login = %s", (login,)).fetchone()
    if found is None:
        found = conn.execute(
            """INSERT INTO term.operators (login, display_name, webauthn_user_handle, created_by)
               VALUES (%s, %s, %s, 'test') RETURNING id""",
            (login, login, secrets.token_bytes(32)),
        ).fetchone()
    place = conn.execute("SELECT id FROM term.terminals WHERE name = %s", (terminal,)).fetchone()
    if place is None:
        place = conn.execute(
            """INSERT INTO term.terminals (name, kind, registered_by) VALUES (%s, 'business', 'test')
               RETURNING id""",
            (terminal,),
        ).fetchone()
    assert found is not None and place is not None
    secret = tokens.new_secret()
    session = conn.execute(
        """INSERT INTO term.sessions (secret_hash, operator_id, terminal_id, auth_method)
           VALUES (%s, %s, %s, 'password') RETURNING id""",
        (tokens.digest(secret), found[0], place[0]),
    ).fetchone()
    assert session is not None
    return Actor(
        operator_id=int(found[0]),
        login=login,
        roles=roles,
        terminal_id=int(place[0]),
        terminal_name=terminal,
        terminal_kind=TerminalKind.BUSINESS,
        bulk_enabled=False,
        session_id=str(session[0]),
        session_secret=secret,
    )


def append_many(db: Database, n: int, who: Actor | None = None) -> list[int]:
    """n search operations by one operator, committed; returns their seqs."""
    who = who or actor(db)
    with db.connect() as conn:
        seqs = [
            record_operation(
                conn,
                who,
                function=Function.SEARCH,
                file=FileKind.PREF,
                outcome=Outcome.ALLOW,
                target=f"{i:011d}",
                detail={"i": i, "conditions": {"name": "山田　太郎", "birth": "1980-01-01"}},
            )
            for i in range(n)
        ]
        conn.commit()
    return seqs


def connect_as(db: Database, role: str) -> psycopg.Connection[Any]:
    """A connection as the given database role (juki_term included, whatever DbRole knows)."""
    params = conninfo_to_dict(db.admin_conninfo)
    params.pop("password", None)
    params["user"] = role
    return psycopg.connect(make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}))


def rows(conn: psycopg.Connection[Any]) -> list[LogEntry]:
    """Every row, sealed ones in chain order, then the unsealed ones."""
    return [
        LogEntry.from_db(r)
        for r in conn.execute(f"SELECT {ROW_COLUMNS} FROM audit.op_log ORDER BY chain_pos NULLS LAST, seq")
    ]


def rehash_everything(conn: psycopg.Connection[Any]) -> None:
    """What a superuser covering their tracks does: renumber the chain 1..n, recompute every hash of
    the chain from the content and rewrite the chain head, so the chain alone looks intact."""
    prev = GENESIS_HASH
    last_seq = 0
    sealed = [r for r in rows(conn) if r.chain_pos is not None]
    for number, row in enumerate(sealed, start=1):
        new_hash = row_hash(prev, row.canonical())
        conn.execute(
            "UPDATE audit.op_log SET chain_pos = %s, prev_hash = %s, row_hash = %s WHERE seq = %s",
            (number, prev, new_hash, row.seq),
        )
        prev, last_seq = new_hash, row.seq
    conn.execute(
        "UPDATE audit.chain_head SET last_pos = %s, last_seq = %s, last_hash = %s",
        (len(sealed), last_seq, prev),
    )
