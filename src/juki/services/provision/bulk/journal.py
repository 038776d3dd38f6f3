"""The operation-log row of a bulk action, whoever acts: an operator's session or the line agent.

An operator's row names the operator and terminal of their live session (migration 0018). The
line-linkage agent has no session: its rows are written as the system ``line`` with the agent
certificate's name as the claimed login (migration 0023) — the certificate, verified by mutual TLS,
is all the server knows of it. No key value or file content goes into a row: job number, counts and
hashes only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from juki.domain.records import FileKind
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.operation_log import record_operation
from juki.services.provision.bulk.jobs import Sender

__all__ = ["LINE_SYSTEM", "log_bulk"]

#: The operation log's system channel of the line-linkage agent.
LINE_SYSTEM = "line"


def log_bulk(
    conn: psycopg.Connection[Any],
    actor: Actor | None,
    sender: Sender | None,
    *,
    function: Function,
    file: FileKind | None,
    outcome: Outcome,
    target: str | None,
    detail: Mapping[str, object],
) -> int:
    """Append the row in the caller's transaction (it stands or falls with the action)."""
    if actor is not None:
        return record_operation(
            conn, actor, function=function, file=file, outcome=outcome, target=target, detail=detail
        )
    return record_operation(
        conn,
        None,
        function=function,
        file=file,
        outcome=outcome,
        target=target,
        detail=detail,
        system=LINE_SYSTEM if sender is not None and sender.peer_name else "console",
        claimed_login=sender.peer_name if sender is not None else None,
    )
