"""Communication records of the queries to J-LIS (REQUIREMENTS REC-4): ``<file>.jlis_query_log``.

Every query writes a row over the file's own DB role connection *before* it is sent (outcome
``sent``), completed afterwards with the outcome (found / not_found / refused / error), the number of
hits, the HTTP status and the server's code. No personal data: the keys are kept as a hash
(HMAC-SHA-256 when a key is configured, else SHA-256 with a domain prefix), the answer as a count.

Who asked is a :class:`Requester`: the signed-in operator's :class:`~juki.services.access.actor.Actor`
when there is one, else the free text a caller without an authenticated operator passes (the CLI's
``--operator`` / ``--terminal``, defaulting to ``cli:<user>`` / ``cli:<host>``; until a later issue
signs CLI users in) or the server itself (``system`` at ``server``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson
import psycopg
from psycopg import sql

from juki.domain.records import FileKind
from juki.files import file_spec
from juki.services.access.actor import Actor

__all__ = ["QueryKind", "Requester", "finish", "keys_digest", "query_log", "start"]

_HASH_DOMAIN: Final = b"juki/jlis-query/v1\n"


class QueryKind(StrEnum):
    JUMINHYO_CODE = "juminhyo_code"
    MY_NUMBER = "my_number"
    BASIC4 = "basic4"


@dataclass(frozen=True)
class Requester:
    """Who asks: an operator who signed in (``actor``), or free text naming the one who did not."""

    actor: Actor | None = None
    operator: str = "system"  # used only without an actor
    terminal: str = "server"  # used only without an actor

    @property
    def operator_id(self) -> str:
        return self.actor.login if self.actor is not None else self.operator

    @property
    def terminal_id(self) -> str:
        return self.actor.terminal_name if self.actor is not None else self.terminal


def keys_digest(kind: QueryKind, keys: Mapping[str, Any], hash_key: bytes | None = None) -> bytes:
    """The hash kept instead of the keys: HMAC-SHA-256 with ``hash_key``, else SHA-256 (domain-separated).

    Over the *normalised* keys, so the same person asked twice in different spellings gives the same hash
    and an auditor holding the keys (and the HMAC key) can find the record.
    """
    message = _HASH_DOMAIN + orjson.dumps({"kind": kind.value, "keys": keys}, option=orjson.OPT_SORT_KEYS)
    if hash_key:
        return hmac.new(hash_key, message, hashlib.sha256).digest()
    return hashlib.sha256(message).digest()


def start(
    conn: psycopg.Connection[Any],
    file: FileKind,
    *,
    peer: str,
    kind: QueryKind,
    digest: bytes,
    requester: Requester,
    function: str,
) -> int:
    """The row of a query about to be sent (outcome ``sent``); its id."""
    row = conn.execute(
        sql.SQL(
            """INSERT INTO {} (peer, kind, keys_sha256, operator_id, terminal_id, function)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"""
        ).format(sql.SQL(file_spec(file).jlis_query_log)),
        (peer, kind.value, digest, requester.operator_id, requester.terminal_id, function),
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish(
    conn: psycopg.Connection[Any],
    file: FileKind,
    log_id: int,
    outcome: str,
    hits: int,
    status: int | None,
    error_code: str | None,
) -> None:
    """Complete row ``log_id`` with how the query ended."""
    conn.execute(
        sql.SQL(
            """UPDATE {} SET finished_at = clock_timestamp(), outcome = %s, hit_count = %s,
                      http_status = %s, error_code = %s
                WHERE id = %s"""
        ).format(sql.SQL(file_spec(file).jlis_query_log)),
        (outcome, hits, status, error_code, log_id),
    )


def query_log(conn: psycopg.Connection[Any], file: FileKind | str, limit: int = 100) -> list[dict[str, Any]]:
    """The newest communication records of ``file`` (newest first)."""
    rows = conn.execute(
        sql.SQL(
            """SELECT id, started_at, finished_at, peer, kind, encode(keys_sha256, 'hex') AS keys_sha256,
                      operator_id, terminal_id, function, outcome, hit_count, http_status, error_code
                 FROM {} ORDER BY id DESC LIMIT %s"""
        ).format(sql.SQL(file_spec(file).jlis_query_log)),
        (limit,),
    )
    names = [c.name for c in rows.description or []]
    return [dict(zip(names, r, strict=True)) for r in rows.fetchall()]
