"""Who is asking: the terminal, the session and its Actor, and the CSRF check of each request.

Every request but the binding one must come from a registered terminal: the browser presents the
terminal secret it received at binding (``__Host-juki-terminal``), and `terminals.resolve_terminal`
finds the terminal it belongs to (T_TERMINAL_UNKNOWN otherwise). A signed-in request also presents
its session secret (``__Host-juki-session``); `sessions.resolve` turns it into the request's Actor
with the roles the rights ledger grants *now*, refuses an ended session, and locks (S-04) a session
idle for longer than the limit — the server enforces the idle lock on its own, whatever the page's
script did.

The services never see HTTP: this module is the only place cookies become an Actor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg
from fastapi import Request
from psycopg_pool import ConnectionPool

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import all_files, file_spec
from juki.interfaces.terminal.render import MenuItem, Renderer, TerminalInfo, View
from juki.interfaces.terminal.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    TERMINAL_COOKIE,
    csrf_token,
    csrf_valid,
)
from juki.services.access import permissions, sessions, terminals
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.access.terminals import Terminal
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation
from juki.store.db import Database, DbRole

T = TypeVar("T")


#: Connections a role's pool opens at most; a request beyond waits for one to come back.
MAX_CONNECTIONS_PER_ROLE = 8


def terminal_pools(db: Database) -> dict[DbRole, ConnectionPool[psycopg.Connection[Any]]]:
    """A pool of autocommit connections per role: juki_term for sign-in and rights, and each file's
    own role for its searches (S-35..S-37 hold for the terminal too).

    The terminal services expect autocommit connections (services/audit/guard.py: each
    ``transaction()`` block is then a real transaction, and a refusal's log row is committed before
    the refusal is raised). The pool checks a connection with a round trip before handing it out,
    so a PostgreSQL restart costs no request, and drops one returned broken or inside a
    transaction. No connection is opened before the first request needs one.
    """
    roles = [DbRole.TERM, *(spec.db_role for spec in all_files())]
    return {
        role: ConnectionPool(
            db.conninfo(role),
            kwargs={"autocommit": True, "application_name": f"juki:{role.value}"},
            min_size=0,
            max_size=MAX_CONNECTIONS_PER_ROLE,
            check=ConnectionPool.check_connection,
            name=f"terminal:{role.value}",
            open=True,
        )
        for role in roles
    }


@dataclass
class TerminalWeb:
    """What every request handler needs: the database, settings, templates and the CSRF key."""

    db: Database
    settings: Settings
    pools: dict[DbRole, ConnectionPool[psycopg.Connection[Any]]]
    renderer: Renderer
    csrf_key: bytes
    search_cap: int

    @contextmanager
    def term(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection as juki_term (terminals, sessions, rights; reads the operation log)."""
        with self.pools[DbRole.TERM].connection() as conn:
            yield conn

    @contextmanager
    def file_connection(self, file: FileKind) -> Iterator[psycopg.Connection[Any]]:
        """A connection as the role owning ``file`` (File 1: juki_pref, File 2: juki_fuhyo)."""
        with self.pools[file_spec(file).db_role].connection() as conn:
            yield conn

    def close(self) -> None:
        """Close the pools (when the server stops)."""
        for pool in self.pools.values():
            pool.close()


@dataclass
class Ctx:
    """One request's terminal, and session when signed in."""

    terminal: Terminal
    terminal_secret: str
    session_secret: str | None = None
    actor: Actor | None = None
    auth_method: str | None = None
    view: View = field(default_factory=View)

    @property
    def signed_in(self) -> Actor:
        assert self.actor is not None
        return self.actor


def web_of(request: Request) -> TerminalWeb:
    """The application's shared state, as every route reads it."""
    web: TerminalWeb = request.app.state.web
    return web


def file_of(value: str, *, refusal: str = "T_SEARCH_INPUT") -> FileKind:
    """The file a path names ("pref" / "fuhyo"); anything else is the page's input refusal, never a 500."""
    try:
        return FileKind(value)
    except ValueError:
        raise Refusal(refusal, "本人確認情報／附票本人確認情報のいずれかを指定してください") from None


def _info(terminal: Terminal) -> TerminalInfo:
    return TerminalInfo(terminal.id, terminal.name, terminal.kind.value, terminal.bulk_enabled)


def csrf_context(request: Request) -> str:
    """The secret a request's CSRF token is derived from: the session once signed in, else the
    terminal. Changing either (sign-in, sign-out, re-binding) invalidates open forms."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session:" + session
    return "terminal:" + (request.cookies.get(TERMINAL_COOKIE) or "")


def menu_for(actor: Actor) -> list[MenuItem]:
    """The functions the operator's current roles allow (deny by default: nothing else is offered)."""
    items: list[MenuItem] = [MenuItem("/", "業務メニュー")]
    for spec in all_files():
        if permissions.allows(actor, Function.SEARCH, spec.kind):
            items.append(
                MenuItem(f"/search/{spec.kind.value}", f"4情報検索（{spec.label}）", spec.server_label)
            )
    for spec in all_files():
        if permissions.allows(actor, Function.JLIS_QUERY, spec.kind):
            items.append(
                MenuItem(
                    f"/jlis/{spec.kind.value}",
                    f"{spec.national_label}への照会（{spec.label}）",
                    f"{spec.server_label}から{spec.national_label}へ",
                )
            )
    for spec in all_files():
        if permissions.allows(actor, Function.RECONCILIATION_REVIEW, spec.kind):
            items.append(
                MenuItem(
                    f"/reconcile/{spec.kind.value}",
                    f"整合性確認の結果（{spec.label}）",
                    f"市町村CSとの整合性確認（{spec.server_label}）",
                )
            )
    for spec in all_files():
        if permissions.allows(actor, Function.PROVISION, spec.kind):
            items.append(
                MenuItem(
                    f"/provision/{spec.kind.value}",
                    f"個別提供（{spec.label}）",
                    "依頼元の事務による提供・移転",
                )
            )
    for spec in all_files():
        if permissions.allows(actor, Function.STATISTICS, spec.kind):
            items.append(MenuItem(f"/statistics/{spec.kind.value}", f"統計（{spec.label}）", "市町村課"))
    for spec in all_files():  # bulk provision (F1-2b): the requester's own operators and heads
        if permissions.allows(actor, Function.BULK_SUBMIT, spec.kind) or permissions.allows(
            actor, Function.BULK_APPROVE, spec.kind
        ):
            items.append(
                MenuItem(f"/bulk/{spec.kind.value}", f"一括提供（{spec.label}）", "照会要求ファイル・承認")
            )
    if permissions.allows(actor, Function.LOG_REVIEW, None):
        items.append(MenuItem("/audit", "操作ログの点検", "監査"))
    if any(permissions.allows(actor, Function.DISCLOSURE, spec.kind) for spec in all_files()):
        items.append(MenuItem("/disclosure", "開示請求（窓口）", "本人確認情報・提供状況の開示"))
    if any(permissions.allows(actor, Function.CORRECTION_REQUEST, spec.kind) for spec in all_files()):
        items.append(MenuItem("/corrections", "訂正等の申出", "市町村への調査と回答"))
    if permissions.allows(actor, Function.INQUIRY_LOG, None):
        items.append(MenuItem("/inquiries", "問合せ記録", "窓口・電話・郵便の問合せ"))
    # Every operator may apply for a right for themselves; administrators decide here too.
    items.append(MenuItem("/rights", "権限の申請・承認"))
    if permissions.allows(actor, Function.RIGHTS_INVENTORY, None):
        items.append(MenuItem("/rights/inventory", "権限の棚卸し"))
    if permissions.allows(actor, Function.JOBS_ADMIN, None):
        items.append(MenuItem("/jobs", "定期処理・バックアップ", "運用"))
    # Administration (issue 10): only for administrators; the own password only where a role allows one.
    if permissions.allows(actor, Function.OPERATOR_ADMIN, None):
        items.append(MenuItem("/admin/operators", "操作者の管理", "登録・登録用リンク・ロック解除・無効化"))
    if permissions.allows(actor, Function.TERMINAL_ADMIN, None):
        items.append(MenuItem("/admin/terminals", "端末の管理", "登録・端末登録リンク・一括出力・廃止"))
    if permissions.allows(actor, Function.GAIJI_ADMIN, None):
        items.append(MenuItem("/admin/gaiji", "外字の登録", "符号位置とMJ字形・申請と承認"))
    if permissions.password_allowed(actor.roles):
        items.append(MenuItem("/account/password", "パスワードの変更"))
    return items


class Requests:
    """Resolution of the terminal and session of a request, remembered in ``request.state.ctx`` so
    an error page can still show the header of the terminal it is displayed on."""

    def __init__(self, web: TerminalWeb) -> None:
        self.web = web

    def terminal(self, request: Request) -> Ctx:
        """The registered terminal of the request, or T_TERMINAL_UNKNOWN."""
        secret = request.cookies.get(TERMINAL_COOKIE)
        with self.web.term() as conn:
            terminal = terminals.resolve_terminal(conn, secret)
        assert secret is not None
        ctx = Ctx(
            terminal=terminal, terminal_secret=secret, session_secret=request.cookies.get(SESSION_COOKIE)
        )
        ctx.view = View(terminal=_info(terminal), csrf=csrf_token(self.web.csrf_key, csrf_context(request)))
        request.state.ctx = ctx
        return ctx

    def session(self, request: Request, *, touch: bool = True) -> Ctx:
        """The signed-in session of the request (T_SESSION_REQUIRED / _ENDED / _LOCKED otherwise)."""
        ctx = self.terminal(request)
        with self.web.term() as conn:
            info = sessions.info(conn, ctx.session_secret)
            ctx.auth_method = info.auth_method if info is not None else None
            # Set before resolving: the lock page of a locked session needs it (and idle.js's lock
            # screen, rendered into every page, names whose session it is).
            ctx.view.password_unlock = ctx.auth_method == "password"
            ctx.view.lock_owner = f"{info.display_name}（{info.login}）" if info is not None else ""
            ctx.actor = sessions.resolve(
                conn, self.web.settings, ctx.terminal, ctx.session_secret, touch=touch
            )
            # A right revoked since the operator's last session: told once, on this first page.
            notice = sessions.take_notice(conn, info) if info is not None else None
            if notice:
                ctx.view.notices.append(notice)
        ctx.view.actor = ctx.actor
        ctx.view.here = request.url.path
        ctx.view.menu = menu_for(ctx.actor)
        ctx.view.idle_seconds = self.web.settings.idle_lock_seconds
        return ctx

    def check_csrf(self, request: Request, presented: str | None) -> None:
        """The synchronizer token of a POST (form field or header): T_CSRF if it is missing or wrong.

        Defence in depth, when the browser says where the request comes from: Sec-Fetch-Site must
        be same-origin, and Origin the application's own. (With ``Referrer-Policy: no-referrer``
        Chromium sends ``Origin: null`` for form posts, so "null" tells nothing and the token
        decides.)
        """
        token = presented or request.headers.get(CSRF_HEADER)
        if not csrf_valid(self.web.csrf_key, csrf_context(request), token):
            raise Refusal("T_CSRF")
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise Refusal("T_CSRF", "送信元が違います")
        origin = request.headers.get("origin")
        if origin not in (None, "null") and origin != self.web.settings.webauthn_origin:
            raise Refusal("T_CSRF", "送信元が違います")


def page_session(request: Request) -> tuple[TerminalWeb, Ctx]:
    """The shared state and signed-in session of a page's GET (no form, so no CSRF token)."""
    web = web_of(request)
    return web, Requests(web).session(request)


def posted_session(request: Request, csrf_token: str) -> tuple[TerminalWeb, Ctx]:
    """The shared state and signed-in session of a form POST whose CSRF token is valid.

    Every page's POST opens the same way, in this order: the session first (so a signed-out or
    locked terminal gets the session refusal, not T_CSRF, and the error page has its header),
    then the token. One place keeps that order the same for every page.
    """
    web = web_of(request)
    req = Requests(web)
    ctx = req.session(request)
    req.check_csrf(request, csrf_token)
    return web, ctx


def require_logged(
    web: TerminalWeb, actor: Actor, function: Function, file: FileKind | None = None, *, event: str
) -> None:
    """Refuse (T_FORBIDDEN) a page the operator's roles do not allow, with the deny in the log.

    Used for pages that only show a form (a search form, the review form): the refusal is logged
    like any other (S-15), so repeated attempts show up in the review (repeated_deny).
    """
    if permissions.allows(actor, function, file):
        return

    def body() -> None:
        raise Refusal("T_FORBIDDEN")

    with web.term() as conn:
        guarded(conn, body, actor=actor, function=function, event=event, file=file)


def logged_use(
    conn: psycopg.Connection[Any],
    actor: Actor,
    function: Function,
    *,
    event: str,
    body: Callable[[], T],
    detail: dict[str, object] | None = None,
    file: FileKind | None = None,
    target: str | None = None,
) -> T:
    """Run a read-only use of a function (the log review, the inventory) under the operation-log
    pattern: a deny is logged and committed, an allow is logged in the transaction of the use.
    `detail` is read after `body` ran, so the body may add what it learned (an export's row count).
    `target` names the person the use was about (the review filtered by a 住民票コード)."""

    def run() -> T:
        permissions.require(actor, function, file)
        result = body()
        record_operation(
            conn,
            actor,
            function=function,
            file=file,
            outcome=Outcome.ALLOW,
            target=target,
            detail={"event": event, **(detail or {})},
        )
        return result

    return guarded(conn, run, actor=actor, function=function, event=event, file=file, target=target)
