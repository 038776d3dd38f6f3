"""Every failure as a Japanese page (or, for the JSON calls of webauthn.js / idle.js, a JSON
object) with its stable code — never a stack trace (ARCHITECTURE.md §4).

* `Refusal` (a service said no): its code and message; a session that is locked answers the lock
  page (S-04), one that is missing sends the browser to the sign-in page, one that ended shows the
  sign-in page with the reason and forgets the session cookie.
* Framework errors (unknown path, wrong method, a malformed request): T_NOT_FOUND, T_METHOD,
  T_BAD_REQUEST.
* `OfficesNotConfigured` (no issuer or counters for the prefecture: a configuration gap, not a bug):
  E_OFFICES_NOT_CONFIGURED with its message, status 503, no traceback.
* Anything else: `SafeRoute` catches it inside the application — so the answer still passes the
  security-header middleware — logs the traceback on the server, and answers T_INTERNAL.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from juki.domain.offices import OfficesNotConfigured
from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Ctx, Requests
from juki.interfaces.terminal.lock_view import fill_lock_view
from juki.interfaces.terminal.render import Renderer, ShownError, View, status_of, wants_json
from juki.interfaces.terminal.security import SESSION_COOKIE, cookie_options, csrf_token
from juki.services.access import sessions

log = logging.getLogger("juki.terminal")


def _view(request: Request) -> View:
    ctx: Ctx | None = getattr(request.state, "ctx", None)
    if ctx is None:
        return View()
    # The frame of the page the error replaces: a signed-in operator keeps the menu and the idle
    # lock (S-04) on an error page too.
    return ctx.view


def forget_session(response: Response) -> None:
    """Remove the session cookie (sign-out, ended session)."""
    options = cookie_options()
    response.delete_cookie(
        SESSION_COOKIE,
        path=options["path"],
        secure=options["secure"],
        httponly=options["httponly"],
        samesite=options["samesite"],
    )


#: What to do when a one-time link no longer works (issue 10 item 12): the page names the command
#: that issues a new one, so an operator who clicked an old or used link is not left at a dead end.
RENEWAL_HINTS = {
    "/terminal/bind/": "新しい端末登録リンクは、サーバで管理者が `juki terminal rebind <端末名>` を"
    "実行すると発行されます（デモでは、もう一度 `make run` を実行すると表示されます）",
    "/enrol/": "新しい登録用リンクは、サーバで管理者が `juki operator enrol-link <操作者ID>` を"
    "実行すると発行されます（デモの初期管理者なら `.venv/bin/juki operator enrol-link admin1`）",
    "/webauthn/register/": "新しい登録用リンクは、サーバで管理者が `juki operator enrol-link <操作者ID>` を"
    "実行すると発行されます",
}


def renewal_hint(path: str) -> str | None:
    """How to get a new one-time link for a page under ``path`` (None: not a one-time link's page)."""
    return next((hint for prefix, hint in RENEWAL_HINTS.items() if path.startswith(prefix)), None)


def refusal_response(renderer: Renderer, request: Request, refusal: Refusal) -> Response:
    """The answer to a refusal, by its code."""
    shown = ShownError.of(refusal)
    if refusal.code == "T_ENROLMENT_INVALID":
        hint = renewal_hint(request.url.path)
        if hint:
            shown = ShownError(shown.code, f"{shown.message}。{hint}")
    status = status_of(refusal.code)
    if wants_json(request):
        return JSONResponse({"code": shown.code, "message": shown.message}, status_code=status)
    view = _view(request)
    if refusal.code == "T_SESSION_REQUIRED":
        return RedirectResponse("/signin", status_code=303)
    ctx: Ctx | None = getattr(request.state, "ctx", None)
    if refusal.code == "T_SESSION_LOCKED":
        view.menu, view.idle_seconds = [], 0
        fill_lock_view(request.app.state.web, request, view, ctx)
        return renderer.page("lock.html", view, title="画面ロック中", status=status, error=None)
    if refusal.code == "T_SESSION_ENDED":
        view.actor, view.menu, view.idle_seconds = None, [], 0
        if ctx is not None:  # the form must carry the token of the terminal, the session is gone
            web = request.app.state.web
            view.csrf = csrf_token(web.csrf_key, "terminal:" + ctx.terminal_secret)
            # Ended by somebody else (a revoked right, …): the operator is told why (issue 10).
            with web.term() as conn:
                notice = sessions.end_notice(conn, ctx.session_secret)
            if notice:
                view.notices.append(notice)
        response = renderer.page(
            "signin.html", view, title="サインイン", status=status, error=shown, login=""
        )
        forget_session(response)
        return response
    return renderer.error(view, shown, status=status, back="/" if view.actor else None)


def _framed_view(request: Request) -> View:
    """The frame of a not-found or wrong-method page: the router answered before any route resolved
    the terminal and session, so resolve them here (without counting as activity) to keep the
    header and menu; an unknown terminal or no session just gets the bare frame."""
    view = _view(request)
    if view.terminal is not None:
        return view
    # The terminal (if known) is in request.state.ctx even when the session is refused.
    with contextlib.suppress(Refusal):
        Requests(request.app.state.web).session(request, touch=False)
    return _view(request)


def web_error_response(renderer: Renderer, request: Request, code: str) -> Response:
    shown = ShownError.web(code)
    if wants_json(request):
        return JSONResponse({"code": shown.code, "message": shown.message}, status_code=status_of(code))
    if code in ("T_NOT_FOUND", "T_METHOD"):
        view = _framed_view(request)
        return renderer.error(view, shown, back="/" if view.terminal is not None else None)
    return renderer.error(_view(request), shown)


def offices_response(renderer: Renderer, request: Request, missing: OfficesNotConfigured) -> Response:
    """The answer when a form would name offices the prefecture has not configured: the operator
    reads the code and what to set; the administrator finds it in the server log."""
    log.warning("terminal request %s %s: %s", request.method, request.url.path, missing)
    shown = ShownError(missing.code, missing.message)
    if wants_json(request):
        return JSONResponse({"code": shown.code, "message": shown.message}, status_code=503)
    view = _view(request)
    return renderer.error(view, shown, status=503, back="/" if view.actor else None)


class SafeRoute(APIRoute):
    """An APIRoute whose unexpected exceptions become the T_INTERNAL page inside the app."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def safe_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (Refusal, StarletteHTTPException, RequestValidationError):
                raise
            except OfficesNotConfigured as missing:
                return offices_response(request.app.state.web.renderer, request, missing)
            except Exception:
                log.exception("terminal request %s %s failed", request.method, request.url.path)
                renderer: Renderer = request.app.state.web.renderer
                return web_error_response(renderer, request, "T_INTERNAL")

        return safe_handler


def install_error_handlers(app: FastAPI, renderer: Renderer) -> None:
    async def on_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        return refusal_response(renderer, request, exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "T_NOT_FOUND", 405: "T_METHOD"}.get(exc.status_code, "T_BAD_REQUEST")
        return web_error_response(renderer, request, code)

    async def on_validation(request: Request, exc: Exception) -> Response:
        return web_error_response(renderer, request, "T_BAD_REQUEST")

    app.add_exception_handler(Refusal, on_refusal)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
