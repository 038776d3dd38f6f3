"""Helpers of the browser tests (their fixtures are in conftest.py): the served terminal UI and an
operator's browser context."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import BrowserContext, CDPSession, Page

from juki.interfaces.tls_server import RunningServer
from juki.store.db import Database
from tests.interfaces.terminal_web_support import World


@dataclass
class Terminal:
    """The terminal UI served over HTTPS for one test."""

    server: RunningServer
    app: Any
    db: Database
    world: World

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.server.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def set_idle_lock(self, seconds: int) -> None:
        """Change the idle-lock time of the running application (server and idle.js alike)."""
        web = self.app.state.web
        web.settings = dataclasses.replace(web.settings, idle_lock_seconds=seconds)


@dataclass
class Operator:
    """A browser context (its own cookies) with a page and a CDP session for WebAuthn."""

    context: BrowserContext
    page: Page
    cdp: CDPSession
    authenticator_id: str | None = None

    def add_authenticator(self, *, user_verified: bool = True) -> str:
        """A virtual platform authenticator with user verification (biometrics) — or one that
        reports the user as *not* verified."""
        self.cdp.send("WebAuthn.enable")
        result = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": user_verified,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        self.authenticator_id = str(result["authenticatorId"])
        return self.authenticator_id

    def set_user_verified(self, verified: bool) -> None:
        assert self.authenticator_id is not None
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.authenticator_id, "isUserVerified": verified}
        )
