"""Rendering the terminal's Japanese pages (Jinja2, autoescaped) and its error pages.

Every page gets a `View`: who is at the terminal, the CSRF token for its forms, the menu the
operator's rights allow and whether the idle lock runs. Error pages show the stable refusal code
and its Japanese message — never a stack trace (ARCHITECTURE.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from juki.domain.errors import ErrorSpec
from juki.domain.refusals import Refusal
from juki.interfaces.terminal.labels import register_filters
from juki.services.access.actor import Actor, TerminalKind

#: Codes of the web layer itself (not operator refusals of a service): a page that does not exist
#: and an unexpected failure. Kept here because only this layer produces them.
WEB_ERRORS: Final[dict[str, ErrorSpec]] = {
    "T_NOT_FOUND": ErrorSpec("T_NOT_FOUND", "指定された画面はありません", "no such page"),
    "T_METHOD": ErrorSpec("T_METHOD", "この画面はこの方法では開けません", "method not allowed"),
    "T_BAD_REQUEST": ErrorSpec("T_BAD_REQUEST", "要求の形式が正しくありません", "malformed request"),
    "T_INTERNAL": ErrorSpec(
        "T_INTERNAL",
        "処理中に予期しないエラーが発生しました。時間をおいて再度操作し、解決しない場合は管理者に連絡してください",
        "unexpected error",
    ),
}

#: HTTP status of each refusal code's page.
STATUS: Final[dict[str, int]] = {
    "T_AUTH_FAILED": 401,
    "T_AUTH_LOCKED": 403,
    "T_AUTH_THROTTLED": 429,
    "T_PASSWORD_EMPTY": 422,
    "T_PASSWORD_NOT_ALLOWED": 403,
    "T_WEBAUTHN_FAILED": 401,
    "T_WEBAUTHN_UV_REQUIRED": 401,
    "T_SESSION_REQUIRED": 401,
    "T_SESSION_LOCKED": 401,
    "T_SESSION_ENDED": 401,
    "T_ENROLMENT_INVALID": 404,
    "T_TERMINAL_UNKNOWN": 403,
    "T_FORBIDDEN": 403,
    "T_CSRF": 403,
    "T_SEARCH_CONDITIONS": 422,
    "T_SEARCH_TOO_MANY": 422,
    "T_SEARCH_INPUT": 422,
    "T_RECORD_NOT_FOUND": 404,
    "T_JLIS_CONDITIONS": 422,
    "T_JLIS_TOO_MANY": 422,
    "T_JLIS_INPUT": 422,
    "T_JLIS_NOT_CONFIGURED": 503,
    "T_JLIS_UNAVAILABLE": 503,
    "T_JLIS_REFUSED": 502,
    "T_RECON_RUN_NOT_FOUND": 404,
    "T_RESULT_SET_EXPIRED": 404,
    "T_BULK_TERMINAL": 403,
    "T_BULK_FILE": 422,
    "T_BULK_SELF_APPROVAL": 403,
    "T_BULK_STATE": 409,
    "T_BULK_JOB_NOT_FOUND": 404,
    "T_MEDIA": 422,
    "T_NOT_FOUND": 404,
    "T_METHOD": 405,
    "T_BAD_REQUEST": 400,
    "T_INTERNAL": 500,
    "T_STATS_DATE": 422,
    "T_STATS_FORMAT": 422,
}

KIND_LABELS: Final[dict[str, str]] = {
    TerminalKind.REPRESENTATIVE.value: "代表端末",
    TerminalKind.BUSINESS.value: "業務端末",
}


@dataclass(frozen=True)
class MenuItem:
    href: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class TerminalInfo:
    """What a page shows of the terminal it is displayed on."""

    id: int
    name: str
    kind: str
    bulk_enabled: bool = False


@dataclass
class View:
    """The per-request frame of a page."""

    terminal: TerminalInfo | None = None
    actor: Actor | None = None
    csrf: str = ""
    menu: list[MenuItem] = field(default_factory=list)
    idle_seconds: int = 0
    notices: list[str] = field(default_factory=list)
    password_unlock: bool = False  # the lock screen offers a password (password sessions only)
    here: str = "/"  # the path of this page (the 離席 button's return path, checked again on use)
    lock_owner: str = ""  # the lock screen: whose session is locked (display name and ID)
    locked_at: datetime | None = None  # the lock screen: since when

    @property
    def terminal_kind_label(self) -> str:
        return KIND_LABELS.get(self.terminal.kind, self.terminal.kind) if self.terminal else ""


@dataclass(frozen=True)
class ShownError:
    """An error as a page shows it."""

    code: str
    message: str

    @classmethod
    def of(cls, refusal: Refusal) -> ShownError:
        return cls(refusal.code, refusal.message_ja)

    @classmethod
    def web(cls, code: str) -> ShownError:
        return cls(code, WEB_ERRORS[code].message_ja)


def status_of(code: str) -> int:
    return STATUS.get(code, 400)


class Renderer:
    """The Jinja2 environment of the package templates (autoescape on for every .html)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("juki.interfaces.terminal", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        register_filters(self.env)

    def page(
        self, template: str, view: View, *, title: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(view=view, title=title, **context)
        return HTMLResponse(html, status_code=status)

    def error(
        self, view: View, error: ShownError, *, status: int | None = None, back: str | None = None
    ) -> HTMLResponse:
        title = "エラー" if error.code == "T_INTERNAL" else "操作できません"
        return self.page(
            "error.html", view, title=title, status=status or status_of(error.code), error=error, back=back
        )


def wants_json(request: Request) -> bool:
    """The WebAuthn and idle-lock calls speak JSON; pages speak HTML."""
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith(
        ("/webauthn/", "/session/activity", "/session/lock")
    )
