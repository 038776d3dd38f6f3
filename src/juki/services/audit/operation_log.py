"""The operation log: one hash-chained row per operation by an operator (REQUIREMENTS S-15, S-16, S-20).

Services call `record_operation` **inside the transaction of the operation itself**, so a committed
operation always has its row and a rolled-back one never does (docs/terminals.md, "The
operation-log pattern"). The row is written by `audit_api.append(...)`, a SECURITY DEFINER function
owned by the NOLOGIN role `juki_audit` (migrations 0009, 0015): the server roles can append but
never update or delete. An append takes no lock another transaction could be holding: the row is
inserted unsealed and put into the hash chain by a sealer that only ever *tries* its lock
(migration 0015), so a stalled transaction cannot hold up anybody else's operation.

`canonical_bytes` is the Python twin of the SQL function `audit.canonical_bytes`: the verifier
(`services/audit/checkpoints.py`) recomputes every row hash from the row's content with it, so the two must
agree byte for byte (a test pins that down).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access.actor import Actor, Function, Outcome, scope_text

__all__ = [
    "GENESIS_HASH",
    "LogEntry",
    "canonical_bytes",
    "record_operation",
    "row_hash",
]

#: prev_hash of the first row.
GENESIS_HASH = bytes(32)
#: Version tag at the start of the canonical bytes of format 1 (migration 0009 header).
CANONICAL_TAG = "juki-oplog-v1;"
#: Format 2 (migration 0018): format 1's fields, then claimed_login and actor_kind.
CANONICAL_TAG_V2 = "juki-oplog-v2;"
#: SQLSTATE of audit_api.append for a session secret that names no live session (migration 0018).
SQLSTATE_NO_LIVE_SESSION = "JKS01"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

#: The columns a verifier reads, in this order; detail comes back as PostgreSQL's canonical jsonb text.
ROW_COLUMNS = (
    "seq, at, operator_id, operator_login, terminal_id, terminal_name, session_id, "
    "function, file, outcome, target, detail::text, prev_hash, row_hash, chain_pos, "
    "format, claimed_login, actor_kind"
)


@dataclass(frozen=True)
class LogEntry:
    """One operation as recorded: a row of audit.op_log, for the verifier (which rehashes the
    content with ``detail_text``, PostgreSQL's canonical jsonb text) and for the review (which reads
    ``detail``)."""

    seq: int
    at: datetime
    operator_id: int | None
    operator_login: str | None
    terminal_id: int | None
    terminal_name: str | None
    session_id: str | None
    function: str
    file: str
    outcome: str
    target: str | None
    detail_text: str | None
    prev_hash: bytes | None  # None (with row_hash, chain_pos) until the row is sealed into the chain
    row_hash: bytes | None
    chain_pos: int | None = None  # place in the hash chain: 1, 2, … in sealing order
    format: int = 2  # canonical format the row is hashed in: 1 before migration 0018, then 2
    claimed_login: str | None = None  # the login typed by somebody not signed in, or --as at the console
    actor_kind: str | None = None  # format 2: 'session', 'unauthenticated' or 'system:<name>'

    @classmethod
    def from_db(cls, row: Sequence[Any]) -> LogEntry:
        """Build from a tuple selected with `ROW_COLUMNS`."""
        return cls(
            int(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            None if row[12] is None else bytes(row[12]),
            None if row[13] is None else bytes(row[13]),
            None if row[14] is None else int(row[14]),
            int(row[15]),
            row[16],
            row[17],
        )

    @property
    def detail(self) -> dict[str, Any] | None:
        """The detail as recorded (the jsonb parsed)."""
        parsed: dict[str, Any] | None = None if self.detail_text is None else json.loads(self.detail_text)
        return parsed

    @property
    def who(self) -> str | None:
        """Whom the row is about, for grouping in the review: the operator of the session, else
        the claimed login marked as such (never to be mistaken for a signed-in operator)."""
        if self.operator_login is not None:
            return self.operator_login
        return None if self.claimed_login is None else f"claimed:{self.claimed_login}"

    def canonical(self) -> bytes:
        return canonical_bytes(
            format=self.format,
            seq=self.seq,
            at=self.at,
            operator_id=self.operator_id,
            operator_login=self.operator_login,
            terminal_id=self.terminal_id,
            terminal_name=self.terminal_name,
            session_id=self.session_id,
            function=self.function,
            file=self.file,
            outcome=self.outcome,
            target=self.target,
            detail_text=self.detail_text,
            claimed_login=self.claimed_login,
            actor_kind=self.actor_kind,
        )

    def expected_hash(self) -> bytes:
        """The row hash recomputed from the content and the stored prev_hash (of a sealed row)."""
        if self.prev_hash is None:
            raise ValueError(f"row {self.seq} is not sealed into the chain yet")
        return row_hash(self.prev_hash, self.canonical())


def _enc(value: str | int | None) -> str:
    if value is None:
        return "N;"
    text = str(value)
    return f"S{len(text.encode('utf-8'))}:{text};"


def epoch_micros(at: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (no float rounding)."""
    if at.tzinfo is None:
        raise ValueError("the log time must be timezone-aware")
    return (at - _EPOCH) // _MICRO


def canonical_bytes(
    *,
    format: int = 1,
    seq: int,
    at: datetime,
    operator_id: int | None,
    operator_login: str | None,
    terminal_id: int | None,
    terminal_name: str | None,
    session_id: str | None,
    function: str,
    file: str,
    outcome: str,
    target: str | None,
    detail_text: str | None,
    claimed_login: str | None = None,
    actor_kind: str | None = None,
) -> bytes:
    """The canonical bytes of one row in its format: v1 (migration 0009's header) or v2 (0018: v1's
    fields, then claimed_login and actor_kind, under another tag).

    Each field is length-prefixed ('S<octets>:<text>;', NULL as 'N;') so no choice of content can
    make two different rows encode alike; the time is integer microseconds so the server's TimeZone
    and DateStyle do not matter; detail is PostgreSQL's jsonb text, which is canonical.
    """
    if format not in (1, 2):
        raise ValueError(f"unknown operation-log format {format}")
    if format == 1 and (claimed_login is not None or actor_kind is not None):
        raise ValueError("format 1 rows have no claimed_login or actor_kind")
    parts: list[str] = [
        CANONICAL_TAG if format == 1 else CANONICAL_TAG_V2,
        _enc(seq),
        _enc(epoch_micros(at)),
        _enc(operator_id),
        _enc(operator_login),
        _enc(terminal_id),
        _enc(terminal_name),
        _enc(session_id),
        _enc(function),
        _enc(file),
        _enc(outcome),
        _enc(target),
        _enc(detail_text),
    ]
    if format == 2:
        parts += [_enc(claimed_login), _enc(actor_kind)]
    return "".join(parts).encode("utf-8")


def row_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    """sha256(prev_hash || canonical bytes): the chain link."""
    return hashlib.sha256(prev_hash + canonical).digest()


def _detail(detail: Mapping[str, object] | None) -> Jsonb | None:
    if detail is None:
        return None
    # Round-trip through json first so a value json cannot represent fails here, with a clear
    # message, rather than inside the database function.
    return Jsonb(json.loads(json.dumps(dict(detail), ensure_ascii=False, default=str)))


def record_operation(
    conn: psycopg.Connection[Any],
    actor: Actor | None,
    *,
    function: Function | str,
    file: FileKind | None,
    outcome: Outcome,
    target: str | None = None,
    detail: Mapping[str, object] | None = None,
    claimed_login: str | None = None,
    terminal_id: int | None = None,
    system: str | None = None,
) -> int:
    """Append one row to the operation log in the caller's current transaction; return its seq.

    Never commits: the row stands or falls with the operation it describes. The append never waits
    for another transaction (migration 0015); the seq it returns identifies the row (numbers of
    rolled-back appends are skipped). Commit promptly all the same: a transaction that sealed
    holds the sealing lock until it ends, and rows appended meanwhile wait unsealed.

    Who the row names is decided by the database, not here (migration 0018):
    * an `Actor` of a live session: its session secret goes to audit_api.append, which takes the
      operator and terminal from the session; an unknown or ended session is T_SESSION_ENDED;
    * an `Actor` of a system channel (`actor.system`, the console's `--as`): audit_api.append_system,
      the actor's login as claimed only;
    * no actor, `system` given: audit_api.append_system (the console without `--as`);
    * no actor: audit_api.append_unauthenticated at `terminal_id` (if known), `claimed_login` being
      the login typed by somebody who is not signed in.
    """
    common = (str(function), scope_text(file), str(outcome), target, _detail(detail))
    if actor is not None and (claimed_login is not None or terminal_id is not None or system is not None):
        raise ValueError("record_operation: an actor's row names nobody else")
    try:
        if actor is not None and actor.session_secret is not None:
            row = conn.execute(
                "SELECT audit_api.append(%s, %s, %s, %s, %s, %s)", (actor.session_secret, *common)
            )
        elif actor is not None:
            if actor.system is None:
                raise ValueError(
                    "record_operation: the actor has neither a live session nor a system channel"
                )
            row = conn.execute(
                "SELECT audit_api.append_system(%s, %s, %s, %s, %s, %s, %s)",
                (actor.system, actor.login, *common),
            )
        elif system is not None:
            row = conn.execute(
                "SELECT audit_api.append_system(%s, %s, %s, %s, %s, %s, %s)", (system, claimed_login, *common)
            )
        else:
            row = conn.execute(
                "SELECT audit_api.append_unauthenticated(%s, %s, %s, %s, %s, %s, %s)",
                (terminal_id, claimed_login, *common),
            )
        found = row.fetchone()
    except psycopg.Error as error:
        if error.sqlstate == SQLSTATE_NO_LIVE_SESSION:
            raise Refusal("T_SESSION_ENDED") from error
        raise
    assert found is not None
    return int(found[0])
