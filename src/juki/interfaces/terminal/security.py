"""Response hardening and CSRF protection of the terminal web application (ARCHITECTURE.md §4, §5).

Why each header is there:

* ``Cache-Control: no-store`` on *every* response: a page showing a person must never be kept by the
  browser (disk cache, back/forward cache) where the next user of a shared 代表端末 could find it.
* A strict Content-Security-Policy with no inline script or style: an injected string can never run,
  and the policy is checkable by a test (there is nothing ``'unsafe-inline'`` to forget).
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``.

CSRF: a synchronizer token per session. The token is an HMAC of the secret that identifies the
request's context (the session cookie once signed in, the terminal cookie before) under a key only
the server knows, so it needs no storage, changes with every session, and cannot be computed by a
page that cannot read the HttpOnly cookies. Every POST carries it (form field ``csrf_token`` or
header ``X-CSRF-Token`` for the WebAuthn JSON calls) and is refused with T_CSRF otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)

#: Cookie names. ``__Host-`` makes the browser insist on Secure, Path=/ and no Domain, so neither a
#: sibling host nor a plain-HTTP page can set or shadow them.
TERMINAL_COOKIE: Final = "__Host-juki-terminal"
SESSION_COOKIE: Final = "__Host-juki-session"

CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response.

    Pure ASGI rather than ``BaseHTTPMiddleware`` so that every response — error pages, static
    files, responses of exception handlers — passes through it, and any header of the same name
    the application set is replaced rather than duplicated.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in SECURITY_HEADERS}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_csrf_key() -> bytes:
    """A random key for CSRF tokens; a restart invalidates open forms (they answer T_CSRF)."""
    return secrets.token_bytes(32)


def csrf_token(key: bytes, context_secret: str) -> str:
    """The synchronizer token for a session (or, before sign-in, a terminal) secret."""
    return hmac.new(key, b"juki-csrf\x00" + context_secret.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, context_secret: str, presented: str | None) -> bool:
    """Constant-time check of a presented token."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(key, context_secret), presented)


def cookie_options(max_age: int | None = None) -> dict[str, Any]:
    """The attributes every cookie of the application gets (``__Host-`` needs Secure and Path=/)."""
    options: dict[str, Any] = {"secure": True, "httponly": True, "samesite": "strict", "path": "/"}
    if max_age is not None:
        options["max_age"] = max_age
    return options
