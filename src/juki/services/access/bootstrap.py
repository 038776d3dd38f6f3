"""The first setup's one door to a second administrator (issue 10 item 10).

Four eyes (S-12) needs two administrators, and a fresh system has one: the first administrator
cannot approve a grant they applied for, nor one for themselves. `juki admin bootstrap` therefore
issues, beside the first administrator, a **second-administrator grant**: a one-time token
(single use, valid `Settings.one_time_token_seconds`) that lets a signed-in administrator register
exactly one operator *with* the admin role on the terminal's administration page. Two people are
involved — whoever ran the console command (the OS user, in the log) and the administrator who
authenticated at a terminal and redeems the grant — and both are in the operation log.

The door closes for good once two administrator grants have ever existed
(`rights_ledger.second_admin_closed`): issuing or redeeming a grant is refused with
T_BOOTSTRAP_CLOSED from then on, whichever way the second administrator came.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg

from juki.config import Settings
from juki.domain.refusals import Refusal
from juki.services.access import operators, permissions, rights_ledger, tokens
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.terminals import SYSTEM_BOOTSTRAP
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

__all__ = ["SecondAdmin", "check_second_admin_grant", "issue_second_admin_grant", "redeem_second_admin_grant"]

_PURPOSE: tokens.Purpose = "bootstrap_admin"


class SecondAdmin(NamedTuple):
    """The second administrator registered with the bootstrap grant, and their enrolment token."""

    operator: operators.Operator
    grant_id: int
    enrolment_token: str


def issue_second_admin_grant(
    conn: psycopg.Connection[Any], settings: Settings, *, os_user: str | None
) -> str:
    """Issue the one-time second-administrator grant (console only); the token, shown once.

    Refused T_BOOTSTRAP_CLOSED once two administrator grants have existed, and T_OPERATOR_UNKNOWN
    before the first administrator exists (run `juki admin bootstrap` first). A new grant cancels
    an unused older one. Logged on the bootstrap channel with the OS user.
    """

    def body() -> str:
        if rights_ledger.second_admin_closed(conn):
            raise Refusal("T_BOOTSTRAP_CLOSED")
        if not rights_ledger.admin_exists(conn):
            raise Refusal("T_OPERATOR_UNKNOWN", "最初のシステム管理者が登録されていません")
        token = tokens.issue(
            conn,
            _PURPOSE,
            seconds=settings.one_time_token_seconds,
            created_by=f"os:{os_user}" if os_user else "(console)",
        )
        record_operation(
            conn,
            None,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            detail={
                "event": "bootstrap_second_admin_grant",
                "os_user": os_user,
                "valid_seconds": settings.one_time_token_seconds,
            },
            system=SYSTEM_BOOTSTRAP,
            claimed_login=os_user,
        )
        return token

    result: str = guarded(
        conn,
        body,
        actor=None,
        function=Function.RIGHTS_ADMIN,
        event="bootstrap_second_admin_grant",
        system=SYSTEM_BOOTSTRAP,
        claimed_login=os_user,
    )
    return result


def check_second_admin_grant(conn: psycopg.Connection[Any], token: str) -> None:
    """Whether the grant can still be used (for the page): T_ENROLMENT_INVALID or T_BOOTSTRAP_CLOSED."""
    with conn.transaction():
        tokens.peek(conn, token, _PURPOSE)
        if rights_ledger.second_admin_closed(conn):
            raise Refusal("T_BOOTSTRAP_CLOSED")


def redeem_second_admin_grant(
    conn: psycopg.Connection[Any],
    settings: Settings,
    token: str,
    admin: Actor,
    login: str,
    display_name: str,
) -> SecondAdmin:
    """Register the second administrator with the admin role, using the grant up.

    `admin` must be a signed-in administrator (rights_admin and operator_admin). The new operator
    gets an enrolment link like any other; the ledger records the grant as a bootstrap grant by
    `admin`, the operation log names `admin` and the OS user who issued the grant.
    """

    def body() -> SecondAdmin:
        permissions.require(admin, Function.RIGHTS_ADMIN)
        permissions.require(admin, Function.OPERATOR_ADMIN)
        if admin.system is not None:  # an authenticated operator at a terminal, not the console
            raise Refusal("T_FORBIDDEN")
        used = tokens.redeem(conn, token, _PURPOSE)
        issued_by = conn.execute(
            "SELECT created_by FROM term.one_time_tokens WHERE id = %s", (used.id,)
        ).fetchone()
        created, enrolment = operators.create_operator(conn, settings, login, display_name, by=admin)
        grant_id = rights_ledger.grant_second_admin(conn, created.id, admin)
        record_operation(
            conn,
            admin,
            function=Function.RIGHTS_ADMIN,
            file=None,
            outcome=Outcome.ALLOW,
            target=created.login,
            detail={
                "event": "rights_bootstrap_second_admin",
                "operator": created.id,
                "role": permissions.ADMIN_ROLE,
                "grant": grant_id,
                "grant_issued_by": str(issued_by[0]) if issued_by else None,
            },
        )
        return SecondAdmin(operators.get_operator(conn, created.id), grant_id, enrolment)

    result: SecondAdmin = guarded(
        conn,
        body,
        actor=admin,
        function=Function.RIGHTS_ADMIN,
        event="rights_bootstrap_second_admin",
        target=login,
    )
    return result
