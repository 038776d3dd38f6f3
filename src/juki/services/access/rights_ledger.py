"""The rights ledger: who holds which role (REQUIREMENTS S-08..S-12).

Who holds which role is not configuration but the rights ledger in the database (migration 0008):
an application (S-08) is approved or rejected by an administrator other than the applicant and the
person concerned (S-12, four eyes), an approval makes a grant effective at once, and a revocation
(S-09) ends the operator's open sessions in the same transaction. Every change is a ledger row and
an operation-log row, written in the transaction of the change; a refused change leaves only its
operation-log row. The inventory (S-11) lists who holds what, since when, approved by whom. What a
role allows is the permission matrix (`permissions`).

Not to be confused with the update ledger of the registry (services/registry/ledger.py), which
applies change notifications to the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

from juki.domain.refusals import Refusal
from juki.services.access import role_conflicts
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.permissions import ADMIN_ROLE, RoleSpec, matrix, require, role_spec, split_role
from juki.services.access.session_end import end_open_sessions, open_sessions
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "Application",
    "InventoryRow",
    "LedgerEntry",
    "admin_exists",
    "applications",
    "apply",
    "approve",
    "conflicts_of",
    "current_roles",
    "grant_bootstrap_admin",
    "grant_demo_roles",
    "grant_second_admin",
    "inventory",
    "ledger_entries",
    "reject",
    "revoke",
    "second_admin_closed",
]

#: Serialises changes to administrator grants (the last-admin rule, the bootstrap).
_ADMIN_LOCK = 0x4A554B4941444D  # "JUKIADM"


@dataclass(frozen=True)
class Application:
    """An application for a role (S-08) and its decision, if any."""

    id: int
    operator_id: int
    operator_login: str
    role: str
    reason: str
    requested_by_login: str
    applied_at: datetime
    decision: str | None  # 'approved' | 'rejected' | None (pending)
    decided_by_login: str | None
    decided_at: datetime | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InventoryRow:
    """One live grant in the inventory report (S-11): who holds what, since when, approved by whom."""

    grant_id: int
    operator_id: int
    operator_login: str
    display_name: str
    operator_disabled: bool
    role: str
    role_label: str
    effective_at: datetime
    bootstrap: bool  # granted by the first-administrator bootstrap, not by an application
    application_id: int | None
    requested_by_login: str | None
    reason: str | None
    approved_by_login: str | None
    approved_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the append-only rights ledger."""

    seq: int
    at: datetime
    event: str
    operator_login: str
    role: str
    application_id: int | None
    grant_id: int | None
    by_login: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _operator(conn: psycopg.Connection[Any], operator: int | str) -> tuple[int, str, bool]:
    """(id, login, disabled) of an operator given by id or login, or T_OPERATOR_UNKNOWN."""
    column = "id" if isinstance(operator, int) else "login"
    row = conn.execute(
        f"SELECT id, login, disabled_at IS NOT NULL FROM term.operators WHERE {column} = %s",
        (operator,),
    ).fetchone()
    if row is None:
        raise Refusal("T_OPERATOR_UNKNOWN", str(operator))
    return int(row[0]), str(row[1]), bool(row[2])


def _ledger(
    conn: psycopg.Connection[Any],
    event: str,
    *,
    operator_id: int,
    role: str,
    by: Actor | None,
    application_id: int | None = None,
    grant_id: int | None = None,
    reason: str = "",
) -> None:
    conn.execute(
        """INSERT INTO term.rights_ledger (event, operator_id, role, application_id, grant_id,
             by_operator_id, by_login, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            event,
            operator_id,
            role,
            application_id,
            grant_id,
            by.operator_id if by else None,
            by.login if by else "(bootstrap)",
            reason,
        ),
    )


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise Refusal("T_REASON_REQUIRED")
    return text


def _holds(conn: psycopg.Connection[Any], operator_id: int, role: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM term.rights_grants WHERE operator_id = %s AND role = %s AND revoked_at IS NULL",
        (operator_id, role),
    ).fetchone()
    return row is not None


def _pending_roles(conn: psycopg.Connection[Any], operator_id: int) -> set[str]:
    rows = conn.execute(
        """SELECT a.role FROM term.rights_applications a
           LEFT JOIN term.rights_decisions d ON d.application_id = a.id
           WHERE a.operator_id = %s AND d.application_id IS NULL""",
        (operator_id,),
    ).fetchall()
    return {str(r[0]) for r in rows}


def conflicts_of(
    conn: psycopg.Connection[Any],
    operator_id: int,
    role: str,
    rules: role_conflicts.ConflictPolicy | None = None,
    *,
    include_pending: bool = False,
) -> list[str]:
    """The roles the operator holds (and, with `include_pending`, applied for) that conflict with
    `role` under `rules` (default: the shipped policy). For the screens' warnings; never refuses."""
    others = set(current_roles(conn, operator_id)) | (
        _pending_roles(conn, operator_id) if include_pending else set()
    )
    others.discard(role)
    return role_conflicts.conflicting(rules or role_conflicts.policy(), role, others)


def apply(
    conn: psycopg.Connection[Any],
    operator: int | str,
    role: str,
    reason: str,
    by: Actor,
    *,
    conflicts: role_conflicts.ConflictPolicy | None = None,
) -> int:
    """File an application for `role` for `operator` (id or login), by `by` (S-08); its id.

    Any signed-in operator may apply for themselves (a newcomer holds no role yet); applying for a
    colleague needs rights_apply. The control is the approval by an administrator who is neither
    the applicant nor the person concerned, not who fills in the form. A role that conflicts with
    one the operator holds or applied for (`conflicts`, default the shipped role_conflicts.toml) is
    refused (T_RIGHTS_CONFLICT) in refuse mode, and noted in the log row in warn mode.
    """
    rules = conflicts or role_conflicts.policy()

    def body() -> int:
        named_self = operator == by.operator_id or (
            isinstance(operator, str) and operator.strip().lower() == by.login
        )
        if not named_self:  # checked first: no probing of logins without the right
            require(by, Function.RIGHTS_APPLY)
        role_spec(role)
        text = _reason(reason)
        operator_id, login, disabled = _operator(
            conn, operator.strip().lower() if isinstance(operator, str) else operator
        )
        if operator_id != by.operator_id:
            require(by, Function.RIGHTS_APPLY)
        if disabled:
            raise Refusal("T_RIGHTS_STATE", "無効化された操作者です")
        if _holds(conn, operator_id, role):
            raise Refusal("T_RIGHTS_STATE", "この役割は既に付与されています")
        pending = conn.execute(
            """SELECT a.id FROM term.rights_applications a
               LEFT JOIN term.rights_decisions d ON d.application_id = a.id
               WHERE a.operator_id = %s AND a.role = %s AND d.application_id IS NULL""",
            (operator_id, role),
        ).fetchone()
        if pending is not None:
            raise Refusal("T_RIGHTS_STATE", f"承認待ちの申請（番号 {pending[0]}）があります")
        others = (set(current_roles(conn, operator_id)) | _pending_roles(conn, operator_id)) - {role}
        conflicting = role_conflicts.check(rules, role, others)
        row = conn.execute(
            """INSERT INTO term.rights_applications (operator_id, role, reason, requested_by)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (operator_id, role, text, by.operator_id),
        ).fetchone()
        assert row is not None
        application_id = int(row[0])
        _ledger(
            conn,
            "applied",
            operator_id=operator_id,
            role=role,
            by=by,
            application_id=application_id,
            reason=text,
        )
        record_operation(
            conn,
            by,
            function=Function.RIGHTS_APPLY,
            file=None,
            outcome=Outcome.ALLOW,
            target=login,
            detail={"event": "rights_apply", "application": application_id, "role": role}
            | ({"conflicts": conflicting, "conflict_mode": rules.mode} if conflicting else {}),
        )
        return application_id

    return guarded(
        conn, body, actor=by, function=Function.RIGHTS_APPLY, event="rights_apply", target=str(operator)
    )


def _pending_application(
    conn: psycopg.Connection[Any], application_id: int
) -> tuple[int, str, int, str, bool]:
    """(operator id, role, requested_by, login, disabled) of an undecided application, locked."""
    row = conn.execute(
        """SELECT a.operator_id, a.role, a.requested_by, o.login, o.disabled_at IS NOT NULL,
                  d.application_id IS NOT NULL
           FROM term.rights_applications a
           JOIN term.operators o ON o.id = a.operator_id
           LEFT JOIN term.rights_decisions d ON d.application_id = a.id
           WHERE a.id = %s FOR UPDATE OF a""",
        (application_id,),
    ).fetchone()
    if row is None:
        raise Refusal("T_RIGHTS_NOT_FOUND", f"申請番号 {application_id}")
    if row[5]:
        raise Refusal("T_RIGHTS_STATE", f"申請番号 {application_id} は決裁済みです")
    return int(row[0]), str(row[1]), int(row[2]), str(row[3]), bool(row[4])


def approve(
    conn: psycopg.Connection[Any],
    application_id: int,
    admin: Actor,
    note: str = "",
    *,
    conflicts: role_conflicts.ConflictPolicy | None = None,
) -> int:
    """Approve an application: the grant is effective at once (S-08). Returns the grant id.

    Four eyes (S-12): the approving administrator must be neither the person concerned nor the one
    who filed the application. Conflicting roles are checked again against the roles held *now*
    (another grant may have been approved since the application): refused in refuse mode, noted
    in the log row in warn mode.
    """
    rules = conflicts or role_conflicts.policy()

    def body() -> int:
        require(admin, Function.RIGHTS_ADMIN)
        operator_id, role, requested_by, login, disabled = _pending_application(conn, application_id)
        if admin.operator_id in (operator_id, requested_by):
            raise Refusal("T_RIGHTS_SELF_APPROVAL")
        role_spec(role)
        if disabled:
            raise Refusal("T_RIGHTS_STATE", "無効化された操作者です")
        if role == ADMIN_ROLE:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
        if _holds(conn, operator_id, role):
            raise Refusal("T_RIGHTS_STATE", "この役割は既に付与されています")
        conflicting = role_conflicts.check(rules, role, current_roles(conn, operator_id) - {role})
        conn.execute(
            """INSERT INTO term.rights_decisions (application_id, decision, decided_by, note)
               VALUES (%s, 'approved', %s, %s)""",
            (application_id, admin.operator_id, note.strip()),
        )
        row = conn.execute(
            """INSERT INTO term.rights_grants (operator_id, role, application_id)
               VALUES (%s, %s, %s) RETURNING id""",
            (operator_id, role, application_id),
        ).fetchone()
        assert row is not None
        grant_id = int(row[0])
        _ledger(
            conn,
            "approved",
            operator_id=operator_id,
            role=role,
            by=admin,
            application_id=application_id,
            grant_id=grant_id,
            reason=note.strip(),
        )
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=login,
            detail={
                "event": "rights_approve",
                "application": application_id,
                "role": role,
                "grant": grant_id,
            }
            | ({"conflicts": conflicting, "conflict_mode": rules.mode} if conflicting else {}),
        )
        return grant_id

    return guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="rights_approve",
        target=f"application:{application_id}",
    )


def reject(conn: psycopg.Connection[Any], application_id: int, admin: Actor, reason: str) -> None:
    """Reject an application, with the reason recorded in the ledger.

    An administrator may reject (withdraw) an application of their own: rejecting grants nothing,
    so the four-eyes rule of `approve` is not needed here.
    """

    def body() -> None:
        require(admin, Function.RIGHTS_ADMIN)
        text = _reason(reason)
        operator_id, role, _, login, _ = _pending_application(conn, application_id)
        conn.execute(
            """INSERT INTO term.rights_decisions (application_id, decision, decided_by, note)
               VALUES (%s, 'rejected', %s, %s)""",
            (application_id, admin.operator_id, text),
        )
        _ledger(
            conn,
            "rejected",
            operator_id=operator_id,
            role=role,
            by=admin,
            application_id=application_id,
            reason=text,
        )
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=login,
            detail={"event": "rights_reject", "application": application_id, "role": role},
        )

    guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="rights_reject",
        target=f"application:{application_id}",
    )


def revoke(conn: psycopg.Connection[Any], grant_id: int, admin: Actor, reason: str) -> int:
    """Revoke a grant at once (S-09); the operator's open sessions end in the same transaction.

    Returns how many sessions were ended. The last administrator grant cannot be revoked (nobody
    could approve anything any more). Sessions also re-read the ledger on every request
    (`sessions.resolve`), so even a session that somehow stayed open would lose the role.
    """

    def body() -> int:
        require(admin, Function.RIGHTS_ADMIN)
        text = _reason(reason)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
        row = conn.execute(
            """SELECT g.operator_id, g.role, g.revoked_at IS NOT NULL, o.login
               FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
               WHERE g.id = %s FOR UPDATE OF g""",
            (grant_id,),
        ).fetchone()
        if row is None:
            raise Refusal("T_RIGHTS_NOT_FOUND", f"権限番号 {grant_id}")
        operator_id, role, revoked, login = int(row[0]), str(row[1]), bool(row[2]), str(row[3])
        if revoked:
            raise Refusal("T_RIGHTS_STATE", f"権限番号 {grant_id} は取消済みです")
        if role == ADMIN_ROLE:
            others = conn.execute(
                """SELECT count(*) FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
                   WHERE g.role = %s AND g.revoked_at IS NULL AND o.disabled_at IS NULL AND g.id <> %s""",
                (ADMIN_ROLE, grant_id),
            ).fetchone()
            if others is None or int(others[0]) == 0:
                raise Refusal("T_RIGHTS_LAST_ADMIN")
        conn.execute(
            """UPDATE term.rights_grants SET revoked_at = now(), revoked_by = %s, revoke_reason = %s
               WHERE id = %s""",
            (admin.operator_id, text, grant_id),
        )
        # Logged before the sessions end: the administrator may be revoking a right of their own.
        ended = open_sessions(conn, operator_id=operator_id)
        _ledger(conn, "revoked", operator_id=operator_id, role=role, by=admin, grant_id=grant_id, reason=text)
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=login,
            detail={"event": "rights_revoke", "grant": grant_id, "role": role, "sessions_ended": ended},
        )
        return end_open_sessions(conn, reason="rights_revoked", operator_id=operator_id)

    return guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="rights_revoke",
        target=f"grant:{grant_id}",
    )


def admin_exists(conn: psycopg.Connection[Any]) -> bool:
    """Whether an enabled operator holds the admin role (takes the admin lock for the transaction)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
    row = conn.execute(
        """SELECT 1 FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
           WHERE g.role = %s AND g.revoked_at IS NULL AND o.disabled_at IS NULL LIMIT 1""",
        (ADMIN_ROLE,),
    ).fetchone()
    return row is not None


def grant_bootstrap_admin(conn: psycopg.Connection[Any], operator_id: int) -> int:
    """Grant the admin role without an application: only while no administrator exists.

    The first administrator cannot be approved by anybody; the ledger records the grant as a
    bootstrap grant so the inventory shows it for what it is. Runs in the caller's transaction.
    """
    if admin_exists(conn):
        raise Refusal("T_BOOTSTRAP_DONE")
    row = conn.execute(
        """INSERT INTO term.rights_grants (operator_id, role, bootstrap) VALUES (%s, %s, true)
           RETURNING id""",
        (operator_id, ADMIN_ROLE),
    ).fetchone()
    assert row is not None
    grant_id = int(row[0])
    _ledger(
        conn,
        "bootstrap_granted",
        operator_id=operator_id,
        role=ADMIN_ROLE,
        by=None,
        grant_id=grant_id,
        reason="初期管理者の登録",
    )
    return grant_id


def second_admin_closed(conn: psycopg.Connection[Any]) -> bool:
    """Whether the bootstrap door to a second administrator is shut for good: two administrator
    grants have ever existed (revoked ones count — the ledger never forgets them), so from now on
    administrators approve each other (S-12). Takes the admin lock for the transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
    row = conn.execute("SELECT count(*) FROM term.rights_grants WHERE role = %s", (ADMIN_ROLE,)).fetchone()
    return row is not None and int(row[0]) >= 2


def grant_second_admin(conn: psycopg.Connection[Any], operator_id: int, by: Actor) -> int:
    """Grant the admin role to the second administrator without an application (the bootstrap
    grant `juki admin bootstrap` issued), by the first administrator `by`; the grant id.

    With one administrator no application for a second one can be approved by "another
    administrator"; the one-time grant from the console stands in for that approval, and the ledger
    and the inventory show it as a bootstrap grant. T_BOOTSTRAP_CLOSED once two administrator
    grants have ever existed. Runs in the caller's transaction.
    """
    if second_admin_closed(conn):
        raise Refusal("T_BOOTSTRAP_CLOSED")
    row = conn.execute(
        """INSERT INTO term.rights_grants (operator_id, role, bootstrap) VALUES (%s, %s, true)
           RETURNING id""",
        (operator_id, ADMIN_ROLE),
    ).fetchone()
    assert row is not None
    grant_id = int(row[0])
    _ledger(
        conn,
        "bootstrap_granted",
        operator_id=operator_id,
        role=ADMIN_ROLE,
        by=by,
        grant_id=grant_id,
        reason="2人目のシステム管理者（初期設定の一回限りの付与）",
    )
    return grant_id


def grant_demo_roles(conn: psycopg.Connection[Any], operator_id: int, roles: Iterable[str]) -> list[int]:
    """`juki demo` only: give the first administrator the work roles too, as bootstrap grants.

    A demonstration on a fresh system has one administrator and nobody to approve a second role
    (four eyes), yet its user should be able to search the synthetic population and review the log.
    Allowed only while that administrator is the system's one operator, and recorded in the ledger
    and the inventory as bootstrap grants, so a real system never gets here unnoticed. Runs in the
    caller's transaction.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADMIN_LOCK,))
    others = conn.execute("SELECT count(*) FROM term.operators WHERE id <> %s", (operator_id,)).fetchone()
    if others is None or int(others[0]) > 0 or ADMIN_ROLE not in current_roles(conn, operator_id):
        raise Refusal("T_BOOTSTRAP_DONE")
    granted: list[int] = []
    for role in roles:
        role_spec(role)  # T_ROLE_UNKNOWN for a role the matrix does not know
        if role in current_roles(conn, operator_id):
            continue
        row = conn.execute(
            "INSERT INTO term.rights_grants (operator_id, role, bootstrap)"
            " VALUES (%s, %s, true) RETURNING id",
            (operator_id, role),
        ).fetchone()
        assert row is not None
        granted.append(int(row[0]))
        _ledger(
            conn,
            "bootstrap_granted",
            operator_id=operator_id,
            role=role,
            by=None,
            grant_id=int(row[0]),
            reason="デモ環境の初期設定（juki demo）",
        )
    return granted


def current_roles(conn: psycopg.Connection[Any], operator_id: int) -> frozenset[str]:
    """The roles the ledger grants `operator_id` right now (none for a disabled operator)."""
    rows = conn.execute(
        """SELECT g.role FROM term.rights_grants g JOIN term.operators o ON o.id = g.operator_id
           WHERE g.operator_id = %s AND g.revoked_at IS NULL AND o.disabled_at IS NULL""",
        (operator_id,),
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


def inventory(conn: psycopg.Connection[Any]) -> list[InventoryRow]:
    """Every live grant: who holds which role since when, applied for by whom, approved by whom (S-11)."""
    rows = conn.execute(
        """SELECT g.id, o.id, o.login, o.display_name, o.disabled_at IS NOT NULL, g.role, g.effective_at,
                  g.bootstrap, g.application_id, req.login, a.reason, appr.login, d.decided_at
           FROM term.rights_grants g
           JOIN term.operators o ON o.id = g.operator_id
           LEFT JOIN term.rights_applications a ON a.id = g.application_id
           LEFT JOIN term.operators req ON req.id = a.requested_by
           LEFT JOIN term.rights_decisions d ON d.application_id = g.application_id
           LEFT JOIN term.operators appr ON appr.id = d.decided_by
           WHERE g.revoked_at IS NULL
           ORDER BY o.login, g.role"""
    ).fetchall()
    known = matrix().roles
    return [
        InventoryRow(
            grant_id=int(r[0]),
            operator_id=int(r[1]),
            operator_login=str(r[2]),
            display_name=str(r[3]),
            operator_disabled=bool(r[4]),
            role=str(r[5]),
            role_label=_role_label(known, str(r[5])),
            effective_at=r[6],
            bootstrap=bool(r[7]),
            application_id=r[8],
            requested_by_login=r[9],
            reason=r[10],
            approved_by_login=r[11],
            approved_at=r[12],
        )
        for r in rows
    ]


def _role_label(known: Mapping[str, RoleSpec], role: str) -> str:
    """The role's Japanese label; a bound role ("provision_operator@kyoiku") names what it is bound to."""
    base, binding = split_role(role)
    if base not in known:
        return f"（未定義の役割 {role}）"
    return known[base].label if binding is None else f"{known[base].label}（{binding}）"


def applications(conn: psycopg.Connection[Any], *, pending_only: bool = True) -> list[Application]:
    """Applications, oldest first; by default only those waiting for a decision."""
    where = "WHERE d.application_id IS NULL" if pending_only else ""
    rows = conn.execute(
        f"""SELECT a.id, a.operator_id, o.login, a.role, a.reason, req.login, a.applied_at,
                   d.decision, dec.login, d.decided_at, d.note
            FROM term.rights_applications a
            JOIN term.operators o ON o.id = a.operator_id
            JOIN term.operators req ON req.id = a.requested_by
            LEFT JOIN term.rights_decisions d ON d.application_id = a.id
            LEFT JOIN term.operators dec ON dec.id = d.decided_by
            {where}
            ORDER BY a.id"""
    ).fetchall()
    return [Application(*r) for r in rows]


def ledger_entries(conn: psycopg.Connection[Any], operator: int | str | None = None) -> list[LedgerEntry]:
    """The ledger in order, for everybody or one operator (id or login)."""
    sql = """SELECT l.seq, l.at, l.event, o.login, l.role, l.application_id, l.grant_id, l.by_login, l.reason
             FROM term.rights_ledger l JOIN term.operators o ON o.id = l.operator_id"""
    params: tuple[Any, ...] = ()
    if operator is not None:
        sql += " WHERE " + ("o.id = %s" if isinstance(operator, int) else "o.login = %s")
        params = (operator,)
    rows = conn.execute(sql + " ORDER BY l.seq", params).fetchall()
    return [LedgerEntry(*r) for r in rows]
