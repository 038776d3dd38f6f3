"""Browser tests of the terminal web application: Debian chromium driven by Playwright's sync API
(ARCHITECTURE.md §6, §7), the application served over real HTTPS on ``localhost`` with a server
certificate from the test's private CA, WebAuthn through Chromium's virtual authenticator (CDP).

Nothing is skipped: without /usr/bin/chromium (or JUKI_CHROMIUM) the tests fail with a message
saying so — CI installs the Debian package. Playwright never downloads a browser here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from juki.config import Settings
from juki.interfaces.terminal import create_terminal_app
from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
from juki.interfaces.tls_server import serve_in_thread
from juki.services.access.pki import Pki
from juki.store.db import Database
from tests.browser.browser_support import Operator, Terminal
from tests.interfaces.terminal_web_support import build_world

CHROMIUM = os.environ.get("JUKI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The server listens on 127.0.0.1 only: do not try ::1 first.
    "--host-resolver-rules=MAP localhost 127.0.0.1",
]


# Package scope: Playwright's sync API keeps an event loop marked running on this thread while it
# lives, which would stop later tests in the same process from running their own loop.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(or set JUKI_CHROMIUM); the browser tests of the terminal UI never download a browser",
            pytrace=False,
        )
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def terminal_ui(db: Database, tmp_path: Path) -> Iterator[Terminal]:
    """The application over real TLS on localhost:<free port>; WebAuthn origin set to match."""
    pki = Pki(tmp_path / "pki")
    cert, key = ensure_terminal_certificate(pki, host_names=["localhost"])
    settings: Settings = dataclasses.replace(db.settings, lockout_threshold=3)
    world = build_world(db, settings)
    app = create_terminal_app(db, settings)
    with serve_in_thread(app, terminal_server_context(cert, key), host="127.0.0.1") as server:
        # The origin names the port the kernel chose: set it before the first request.
        app.state.web.settings = dataclasses.replace(
            settings, webauthn_origin=f"https://localhost:{server.port}", webauthn_rp_id="localhost"
        )
        world.settings = app.state.web.settings
        yield Terminal(server, app, db, world)
    app.state.web.close()


@pytest.fixture
def new_operator(browser: Browser, terminal_ui: Terminal) -> Iterator[Any]:
    """Factory of isolated browser contexts (one per operator / terminal); closed before the server
    stops, so no kept-alive connection holds up its shutdown."""
    contexts: list[BrowserContext] = []

    def make() -> Operator:
        context = browser.new_context(ignore_https_errors=True, locale="ja-JP")
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        return Operator(context, page, context.new_cdp_session(page))

    yield make
    for context in contexts:
        context.close()
