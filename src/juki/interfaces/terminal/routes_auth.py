"""Binding a terminal, enrolment, sign-in (password, 生体認証), idle lock and sign-out
(REQUIREMENTS S-01..S-04; ARCHITECTURE.md §4).

* ``/terminal/bind/{token}``: the one page open to an unknown browser. It shows a confirmation; the
  POST redeems the one-time token (a link prefetcher cannot use it up) and stores the terminal
  secret in the ``__Host-juki-terminal`` cookie.
* ``/enrol/{token}``: the operator registers an authenticator (WebAuthn, user verification
  required) and, if one of their roles allows it, sets a password.
* ``/signin``: ID + password, or ID + 生体認証 (webauthn.js calls ``/webauthn/signin/*``).
* ``/session/lock``, ``/session/activity``, ``/session/unlock``, ``/webauthn/unlock/*``: the idle
  lock of S-04 — idle.js locks the screen and tells the server; the server locks on its own too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from juki.domain.refusals import Refusal
from juki.interfaces.terminal.context import Ctx, Requests, TerminalWeb, web_of
from juki.interfaces.terminal.errors import SafeRoute, forget_session
from juki.interfaces.terminal.lock_view import fill_lock_view, return_target, safe_return_path
from juki.interfaces.terminal.render import ShownError, TerminalInfo, View, status_of
from juki.interfaces.terminal.security import (
    SESSION_COOKIE,
    TERMINAL_COOKIE,
    cookie_options,
    csrf_token,
    csrf_valid,
)
from juki.services.access import operators, passwords, sessions, terminals, tokens, webauthn_auth

router = APIRouter(route_class=SafeRoute)

#: The terminal cookie lasts as long as Chromium lets a cookie last (400 days); re-binding renews it.
TERMINAL_COOKIE_SECONDS = 400 * 24 * 3600

Payload = Annotated[dict[str, Any], Body()]
FormText = Annotated[str, Form()]


def _requests(request: Request) -> Requests:
    return Requests(web_of(request))


def _terminal_csrf(web: TerminalWeb, ctx: Ctx) -> str:
    """The token of a page shown without a session (sign-in): derived from the terminal secret."""
    return csrf_token(web.csrf_key, "terminal:" + ctx.terminal_secret)


def _json_ceremony(options_json: str) -> Response:
    return Response(options_json, media_type="application/json")


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    return value if isinstance(value, str) else ""


def _credential(payload: dict[str, Any]) -> dict[str, Any]:
    credential = payload.get("credential")
    if not isinstance(credential, dict):
        raise Refusal("T_WEBAUTHN_FAILED", "認証器の応答がありません")
    return credential


def _signed_in(response: Response, signed: sessions.SignedIn) -> Response:
    response.set_cookie(SESSION_COOKIE, signed.secret, **cookie_options())
    return response


# --- terminal binding --------------------------------------------------------------------------------


def _bind_csrf(web: TerminalWeb, token: str) -> str:
    return csrf_token(web.csrf_key, "bind:" + token)


@router.get("/terminal/bind/{token}")
def bind_page(request: Request, token: str) -> Response:
    web = web_of(request)
    with web.term() as conn:
        tokens.peek(conn, token, "bind_terminal")  # T_ENROLMENT_INVALID: unknown, used or expired
    view = View(csrf=_bind_csrf(web, token))
    return web.renderer.page("bind.html", view, title="端末の登録", token=token)


@router.post("/terminal/bind/{token}")
def bind_post(request: Request, token: str, csrf_token: FormText = "") -> Response:
    web = web_of(request)
    if not csrf_valid(web.csrf_key, "bind:" + token, csrf_token):
        raise Refusal("T_CSRF")
    with web.term() as conn:
        terminal, secret = terminals.bind(conn, token)
    info = TerminalInfo(terminal.id, terminal.name, terminal.kind.value, terminal.bulk_enabled)
    response = web.renderer.page("bound.html", View(terminal=info), title="端末を設定しました")
    response.set_cookie(TERMINAL_COOKIE, secret, **cookie_options(TERMINAL_COOKIE_SECONDS))
    forget_session(response)  # a session of the browser's former terminal identity is not this one's
    return response


# --- enrolment -----------------------------------------------------------------------------------------


def _enrol_page(
    web: TerminalWeb, ctx: Ctx, token: str, *, error: ShownError | None = None, status: int = 200
) -> Response:
    with web.term() as conn:
        operator, password_allowed = operators.enrolment_operator(conn, token)
    return web.renderer.page(
        "enrol.html",
        ctx.view,
        title="認証情報の登録",
        status=status,
        token=token,
        operator_login=operator.login,
        password_allowed=password_allowed,
        min_length=passwords.MIN_LENGTH,
        error=error,
    )


@router.get("/enrol/done")
def enrol_done(request: Request) -> Response:
    ctx = _requests(request).terminal(request)
    return web_of(request).renderer.page(
        "enrolled.html",
        ctx.view,
        title="登録しました",
        message="生体認証（WebAuthn）の認証器を登録しました。",
    )


@router.get("/enrol/{token}")
def enrol_page(request: Request, token: str) -> Response:
    ctx = _requests(request).terminal(request)
    return _enrol_page(web_of(request), ctx, token)


@router.post("/enrol/{token}/password")
def enrol_password(
    request: Request,
    token: str,
    csrf_token: FormText = "",
    password: FormText = "",
    password_again: FormText = "",
) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, csrf_token)
    if password != password_again:
        error = ShownError("T_PASSWORD_MISMATCH", "確認のために入力したパスワードが一致しません")
        return _enrol_page(web, ctx, token, error=error, status=422)
    try:
        with web.term() as conn:
            operator = operators.enrol_password(conn, token, password, terminal_id=ctx.terminal.id)
    except Refusal as refused:
        if refused.code == "T_ENROLMENT_INVALID":
            raise
        return _enrol_page(web, ctx, token, error=ShownError.of(refused), status=status_of(refused.code))
    return web.renderer.page(
        "enrolled.html",
        ctx.view,
        title="登録しました",
        message=f"操作者 {operator.login} のパスワードを設定しました。",
    )


@router.post("/webauthn/register/{token}/options")
def register_options(request: Request, token: str, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        ceremony = webauthn_auth.registration_options(conn, web.settings, token, terminal=ctx.terminal)
    return _json_ceremony(ceremony.options_json)


@router.post("/webauthn/register/{token}/verify")
def register_verify(request: Request, token: str, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        webauthn_auth.finish_registration(
            conn, web.settings, token, _credential(payload), label=ctx.terminal.name, terminal=ctx.terminal
        )
    return JSONResponse({"redirect": "/enrol/done"})


# --- sign-in --------------------------------------------------------------------------------------------


def _signin_page(
    web: TerminalWeb, ctx: Ctx, *, login: str = "", error: ShownError | None = None, status: int = 200
) -> Response:
    view = ctx.view
    view.actor, view.menu, view.idle_seconds = None, [], 0
    view.csrf = _terminal_csrf(web, ctx)
    response = web.renderer.page(
        "signin.html", view, title="サインイン", status=status, login=login, error=error
    )
    if ctx.session_secret:
        forget_session(response)
    return response


@router.get("/signin")
def signin_page(request: Request) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    if ctx.session_secret:
        try:
            req.session(request, touch=False)
            return RedirectResponse("/", status_code=303)
        except Refusal as refused:
            if refused.code == "T_SESSION_LOCKED":
                raise
    return _signin_page(web, ctx)


@router.post("/signin")
def signin_post(
    request: Request, csrf_token: FormText = "", login: FormText = "", password: FormText = ""
) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, csrf_token)
    try:
        with web.term() as conn:
            signed = sessions.sign_in_password(conn, web.settings, ctx.terminal, login.strip(), password)
    except Refusal as refused:
        return _signin_page(
            web, ctx, login=login.strip(), error=ShownError.of(refused), status=status_of(refused.code)
        )
    return _signed_in(RedirectResponse("/", status_code=303), signed)


@router.post("/webauthn/signin/options")
def signin_options(request: Request, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        ceremony = sessions.webauthn_sign_in_options(
            conn, web.settings, ctx.terminal, _text(payload, "login")
        )
    return _json_ceremony(ceremony.options_json)


@router.post("/webauthn/signin/verify")
def signin_verify(request: Request, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        signed = sessions.sign_in_webauthn(
            conn, web.settings, ctx.terminal, _text(payload, "login"), _credential(payload)
        )
    return _signed_in(JSONResponse({"redirect": "/"}), signed)


@router.post("/signout")
def signout(request: Request, csrf_token: FormText = "") -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, csrf_token)
    with web.term() as conn:
        sessions.sign_out(conn, ctx.terminal, ctx.session_secret)
    response = RedirectResponse("/signin", status_code=303)
    forget_session(response)
    return response


# --- idle lock (S-04) -------------------------------------------------------------------------------------


OptionalPayload = Annotated[dict[str, Any] | None, Body()]


@router.post("/session/lock")
def session_lock(request: Request, payload: OptionalPayload = None) -> Response:
    """idle.js locked the screen: lock the session at once. It sends the page's path
    (``return_to``), kept server side for the return after unlocking if it is a safe one."""
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    back = safe_return_path(request.app, (payload or {}).get("return_to"))
    with web.term() as conn:
        sessions.lock(conn, ctx.terminal, ctx.session_secret, return_path=back)
    return Response(status_code=204)


@router.post("/session/leave")
def session_leave(request: Request, csrf_token: FormText = "", return_to: FormText = "") -> Response:
    """The 離席 button (and its key, leave.js): lock now and show the lock page; unlocking returns
    to the page that was open (``return_to``, checked against this application's own pages)."""
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, csrf_token)
    with web.term() as conn:
        sessions.lock(
            conn, ctx.terminal, ctx.session_secret, return_path=safe_return_path(request.app, return_to)
        )
    return RedirectResponse("/lock", status_code=303)


@router.post("/session/activity")
def session_activity(request: Request) -> Response:
    """idle.js heartbeat while the operator types or reads: counts as activity (or answers 401
    T_SESSION_LOCKED when the server had already locked the session)."""
    req = _requests(request)
    req.check_csrf(request, None)
    req.session(request)
    return Response(status_code=204)


@router.get("/lock")
def lock_page(request: Request) -> Response:
    """The lock page of a locked session; an unlocked one goes back to the menu."""
    _requests(request).session(request, touch=False)
    return RedirectResponse("/", status_code=303)


def _unlock_refused(web: TerminalWeb, ctx: Ctx, refused: Refusal, request: Request) -> Response:
    if refused.code in ("T_AUTH_LOCKED", "T_SESSION_ENDED", "T_SESSION_REQUIRED"):
        return _signin_page(web, ctx, error=ShownError.of(refused), status=status_of(refused.code))
    view = ctx.view
    view.menu, view.idle_seconds = [], 0
    fill_lock_view(web, request, view, ctx)
    return web.renderer.page(
        "lock.html", view, title="画面ロック中", status=status_of(refused.code), error=ShownError.of(refused)
    )


@router.post("/session/unlock")
def session_unlock(request: Request, csrf_token: FormText = "", password: FormText = "") -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, csrf_token)
    with web.term() as conn:
        found = sessions.info(conn, ctx.session_secret)
    ctx.view.password_unlock = found is not None and found.auth_method == "password"
    try:
        with web.term() as conn:
            sessions.unlock_password(conn, web.settings, ctx.terminal, ctx.session_secret, password)
    except Refusal as refused:
        return _unlock_refused(web, ctx, refused, request)
    return RedirectResponse(return_target(web, ctx, request.app), status_code=303)


@router.post("/webauthn/unlock/options")
def unlock_options(request: Request, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        ceremony = sessions.unlock_webauthn_options(conn, web.settings, ctx.terminal, ctx.session_secret)
    return _json_ceremony(ceremony.options_json)


@router.post("/webauthn/unlock/verify")
def unlock_verify(request: Request, payload: Payload) -> Response:
    web, req = web_of(request), _requests(request)
    ctx = req.terminal(request)
    req.check_csrf(request, None)
    with web.term() as conn:
        sessions.unlock_webauthn(conn, web.settings, ctx.terminal, ctx.session_secret, _credential(payload))
    return JSONResponse({"redirect": return_target(web, ctx, request.app)})
