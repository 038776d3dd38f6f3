"""The lock screen's facts and where unlocking returns (issue 10 item 11; REQUIREMENTS S-04).

The lock page names whose session is locked (the operator's display name and ID — never anything
about a resident) and when it locked. Unlocking returns to the page that was open: its path is
kept in the session row (`sessions.lock` / `remember_return_path`), never in a URL, and only a
path this application serves with GET — without parameters, or with a file kind as the only one — is
accepted, so the value can neither carry data nor send the browser elsewhere (no open redirect).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from juki.domain.records import FileKind
from juki.interfaces.terminal.context import Ctx, TerminalWeb
from juki.interfaces.terminal.render import View
from juki.services.access import sessions

__all__ = ["fill_lock_view", "return_target", "safe_return_path"]

_FILE_PARAMETER = re.compile(r"\{file(_name)?\}")
_PATH = re.compile(r"^/([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?$")
#: Pages one never returns to after unlocking: the lock and sign-in pages themselves.
_NOT_A_RETURN = frozenset({"/lock", "/signin", "/enrol/done"})


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI keeps those as wrappers holding the
    original router; the terminal's routers are included without a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _concrete(path: str) -> list[str]:
    """The pages a GET route serves that may be returned to: a path without parameters as it is,
    one whose only parameter names the file (``{file_name}``) for each file (the per-file pages);
    any other parameter (a one-time token) is never kept."""
    if "{" not in path:
        return [path]
    parameter = _FILE_PARAMETER.search(path)
    if path.count("{") == 1 and parameter is not None:
        return [path.replace(parameter.group(0), kind.value) for kind in FileKind]
    return []


def _get_pages(app: Any) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(app.state, "return_pages", None)
    if cached is None:
        cached = frozenset(
            page
            for route in _api_routes(app.routes)
            if "GET" in (route.methods or set())
            for page in _concrete(route.path)
        )
        app.state.return_pages = cached
    return cached


def safe_return_path(app: Any, path: object) -> str | None:
    """`path` if it is one of this application's parameterless GET pages, else None."""
    if not isinstance(path, str) or len(path) > 200 or not _PATH.match(path) or path in _NOT_A_RETURN:
        return None
    return path if path in _get_pages(app) else None


def return_target(web: TerminalWeb, ctx: Ctx, app: Any) -> str:
    """Where to go after unlocking: the kept page if it is still a safe one, else the menu."""
    with web.term() as conn:
        kept = sessions.return_path(conn, ctx.terminal, ctx.session_secret)
    return safe_return_path(app, kept) or "/"


def fill_lock_view(web: TerminalWeb, request: Request, view: View, ctx: Ctx | None) -> None:
    """Put whose session is locked, and since when, on the lock page; a GET of a page while locked
    (the server's idle lock) is remembered as the page to return to."""
    if ctx is None or not ctx.session_secret:
        return
    with web.term() as conn:
        found = sessions.info(conn, ctx.session_secret)
        if found is None:
            return
        view.lock_owner = f"{found.display_name}（{found.login}）"
        view.locked_at = found.locked_at
        if request.method == "GET":
            path = safe_return_path(request.app, request.url.path)
            if path is not None:
                sessions.remember_return_path(conn, ctx.terminal, ctx.session_secret, path)
