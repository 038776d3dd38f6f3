"""The terminal web application: `create_terminal_app(database, settings)`.

Server-rendered Japanese pages (Jinja2) for operators at 代表端末 and 業務端末 (ARCHITECTURE.md §4):
sign-in with 生体認証 (WebAuthn, user verification required) or ID + password where the role allows
it, the 4情報 search and record view of File 1 and File 2, the query to J-LIS (F1-5, F2-5), the
results of the consistency check (F1-7, F2-7), the operation-log review, and the
access-rights pages. Everything the security model asks of a web UI is here in one place:
`security.SecurityHeadersMiddleware` (no-store, strict CSP, …) wraps every response, cookies are
``__Host-`` Secure HttpOnly SameSite=Strict, every POST carries a CSRF token, personal data only
ever travels in POST bodies, and the idle lock is enforced by the server (sessions.resolve).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from juki.config import Settings
from juki.interfaces.terminal import (
    routes_admin,
    routes_audit,
    routes_auth,
    routes_bulk,
    routes_cases,
    routes_disclosure,
    routes_gaiji,
    routes_jlis,
    routes_jobs,
    routes_provision,
    routes_reconcile,
    routes_record,
    routes_rights,
    routes_statistics,
    routes_work,
)
from juki.interfaces.terminal.context import TerminalWeb, terminal_pools
from juki.interfaces.terminal.errors import install_error_handlers
from juki.interfaces.terminal.render import Renderer
from juki.interfaces.terminal.security import SecurityHeadersMiddleware, new_csrf_key
from juki.services.search.conditions import DEFAULT_SEARCH_CAP
from juki.store.db import Database


def create_terminal_app(
    database: Database,
    settings: Settings | None = None,
    *,
    csrf_key: bytes | None = None,
    search_cap: int | None = None,
) -> FastAPI:
    """The terminal UI over ``database``; serve it over HTTPS at ``settings.webauthn_origin``.

    ``settings`` defaults to the database's. ``csrf_key`` defaults to a random key per process (a
    restart makes open forms answer T_CSRF). Its pooled connections are in ``app.state.web``:
    call ``app.state.web.close()`` when the server stops. ``search_cap`` (more hits than this: "narrow the
    conditions") defaults to ``settings.search_cap`` where the settings have one, else the search
    service's default.
    """
    settings = settings or database.settings
    app = FastAPI(
        title="juki terminal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # a browser UI, not an API: nothing to describe to the world
    )
    renderer = Renderer()
    # Every page names the prefecture it serves: in a consolidation centre an operator may have two
    # prefectures' terminals open side by side (issue 14).
    renderer.env.globals["prefecture_name"] = settings.lg_table.prefecture().name
    app.state.web = TerminalWeb(
        db=database,
        settings=settings,
        pools=terminal_pools(database),
        renderer=renderer,
        csrf_key=csrf_key or new_csrf_key(),
        search_cap=search_cap or int(getattr(settings, "search_cap", DEFAULT_SEARCH_CAP)),
    )
    install_error_handlers(app, renderer)
    for module in (
        routes_auth,
        routes_work,
        routes_jlis,
        routes_reconcile,
        routes_audit,
        routes_rights,
        routes_record,
        routes_bulk,
        routes_jobs,
        routes_admin,
    ):
        app.include_router(module.router)
    app.include_router(routes_statistics.router)
    for module in (routes_provision,):
        app.include_router(module.router)
    app.include_router(routes_disclosure.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_gaiji.router)
    app.mount("/static", StaticFiles(packages=[("juki.interfaces.terminal", "static")]), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    return app
