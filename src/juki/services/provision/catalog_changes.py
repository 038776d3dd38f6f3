"""Changes of the provision catalog: proposal by one administrator, approval by another (REQUIREMENTS
S-12's four eyes applied to A-15's authorisation table; docs/provision.md).

Which organ may receive which items for which task is a rights decision, so it follows the rights
ledger's shape: an administrator proposes a whole new version of the catalog (validated at once),
another administrator approves or rejects it, and an approval takes effect immediately. Proposals
and decisions are append-only rows (migration 0020), and every step — refused ones included — is a
row of the operation log (function ``rights_admin``). A proposal records the version in force when
it was made; it cannot be approved once another version was approved since (it would silently undo
that change), so it is proposed again from the newer version.

Connections: juki_term (the terminal's and the console's role for administration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.permissions import require
from juki.services.audit.guard import Attempt, guarded
from juki.services.audit.operation_log import record_operation
from juki.services.provision.catalog import CatalogError, current_version, parse_toml

__all__ = ["Proposal", "approve", "console_administrator", "proposals", "propose", "reject"]

#: Serialises catalog decisions, so two approvals cannot both pass the "base is current" check.
_CATALOG_LOCK = 0x4A554B4943415441  # "JUKICATA"


@dataclass(frozen=True)
class Proposal:
    id: int
    reason: str
    base_version: int | None
    proposed_by_login: str
    proposed_at: datetime
    decision: str | None
    decided_by_login: str | None
    decided_at: datetime | None
    note: str | None
    tasks: int
    requesters: int


def console_administrator(
    conn: psycopg.Connection[Any], settings: Settings, login: str, password: str
) -> Actor:
    """The console actor of an administrator who typed their password at the prompt.

    Hardening 13 took decisions away from the console because `--as LOGIN` named an approver nobody
    had checked. A catalog decision at the console (`juki provision catalog approve`) therefore
    needs the administrator's own password, verified like a sign-in (one Argon2 verification, the
    same answer for an unknown ID); a failure is an operation-log row. The four-eyes rule then
    compares authenticated operators.
    """
    attempt = Attempt(operator_login=login)

    def body() -> Actor:
        found = operators.check_password(conn, settings, 0, login, password, attempt)
        return operators.console_actor(conn, found.login)

    return guarded(
        conn,
        body,
        actor=None,
        function=Function.SIGN_IN,
        event="console_password",
        system="console",
        claimed_login=login,
        attempt=attempt,
    )


def _reason(text: str) -> str:
    if not text.strip():
        raise Refusal("T_REASON_REQUIRED")
    return text.strip()


def propose(conn: psycopg.Connection[Any], toml_text: str, reason: str, by: Actor) -> int:
    """File a new version of the catalog (the whole text, as provision_catalog.toml); its id."""

    def body() -> int:
        require(by, Function.RIGHTS_ADMIN)
        text = _reason(reason)
        try:
            content = parse_toml(toml_text)
        except CatalogError as exc:
            raise Refusal("T_CATALOG_INVALID", str(exc)) from None
        base = current_version(conn)
        row = conn.execute(
            """INSERT INTO provision.catalog_proposals (content, reason, base_version, proposed_by,
                 proposed_by_login) VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (Jsonb(content), text, base, by.operator_id, by.login),
        ).fetchone()
        assert row is not None
        record_operation(
            conn,
            by,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=f"catalog:{row[0]}",
            detail={
                "event": "catalog_propose",
                "proposal": int(row[0]),
                "base_version": base,
                "tasks": len(content["tasks"]),
            },
        )
        return int(row[0])

    return guarded(
        conn, body, actor=by, function=Function.RIGHTS_ADMIN, event="catalog_propose", target="catalog"
    )


def _pending(conn: psycopg.Connection[Any], proposal_id: int) -> tuple[int | None, int | None]:
    """(proposer's operator id, base version) of an undecided proposal."""
    row = conn.execute(
        """SELECT p.proposed_by, p.base_version, d.proposal_id IS NOT NULL
           FROM provision.catalog_proposals p
           LEFT JOIN provision.catalog_decisions d ON d.proposal_id = p.id WHERE p.id = %s""",
        (proposal_id,),
    ).fetchone()
    if row is None:
        raise Refusal("T_CATALOG_NOT_FOUND", f"変更案番号 {proposal_id}")
    if row[2]:
        raise Refusal("T_CATALOG_STATE", f"変更案番号 {proposal_id} は決裁済みです")
    return row[0], row[1]


def approve(conn: psycopg.Connection[Any], proposal_id: int, admin: Actor, note: str = "") -> int:
    """Approve a proposal: it is the catalog in force from now on. Four eyes: the approver did not
    propose it. Returns the version now in force (the proposal's id)."""

    def body() -> int:
        require(admin, Function.RIGHTS_ADMIN)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CATALOG_LOCK,))
        proposer, base = _pending(conn, proposal_id)
        if proposer == admin.operator_id:
            raise Refusal("T_RIGHTS_SELF_APPROVAL")
        if base != current_version(conn):
            raise Refusal("T_CATALOG_STATE", f"基にした版 {base} は最新ではありません")
        conn.execute(
            """INSERT INTO provision.catalog_decisions (proposal_id, decision, decided_by,
                 decided_by_login, note) VALUES (%s, 'approved', %s, %s, %s)""",
            (proposal_id, admin.operator_id, admin.login, note.strip()),
        )
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=f"catalog:{proposal_id}",
            detail={"event": "catalog_approve", "proposal": proposal_id, "replaces": base},
        )
        return proposal_id

    return guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="catalog_approve",
        target=f"catalog:{proposal_id}",
    )


def reject(conn: psycopg.Connection[Any], proposal_id: int, admin: Actor, reason: str) -> None:
    """Reject (or withdraw) a proposal; rejecting changes nothing, so the proposer may do it."""

    def body() -> None:
        require(admin, Function.RIGHTS_ADMIN)
        text = _reason(reason)
        _pending(conn, proposal_id)
        conn.execute(
            """INSERT INTO provision.catalog_decisions (proposal_id, decision, decided_by,
                 decided_by_login, note) VALUES (%s, 'rejected', %s, %s, %s)""",
            (proposal_id, admin.operator_id, admin.login, text),
        )
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=f"catalog:{proposal_id}",
            detail={"event": "catalog_reject", "proposal": proposal_id},
        )

    guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="catalog_reject",
        target=f"catalog:{proposal_id}",
    )


def proposals(conn: psycopg.Connection[Any], *, pending_only: bool = False) -> list[Proposal]:
    """Every proposal (or only the undecided ones), oldest first. No personal data."""
    where = "WHERE d.proposal_id IS NULL" if pending_only else ""
    rows = conn.execute(
        f"""SELECT p.id, p.reason, p.base_version, p.proposed_by_login, p.proposed_at, d.decision,
                   d.decided_by_login, d.decided_at, d.note, p.content::text
            FROM provision.catalog_proposals p
            LEFT JOIN provision.catalog_decisions d ON d.proposal_id = p.id {where} ORDER BY p.id"""
    ).fetchall()
    out: list[Proposal] = []
    for r in rows:
        content = json.loads(r[9])
        out.append(
            Proposal(
                id=int(r[0]),
                reason=str(r[1]),
                base_version=r[2],
                proposed_by_login=str(r[3]),
                proposed_at=r[4],
                decision=r[5],
                decided_by_login=r[6],
                decided_at=r[7],
                note=r[8],
                tasks=len(content["tasks"]),
                requesters=len(content["requesters"]),
            )
        )
    return out
