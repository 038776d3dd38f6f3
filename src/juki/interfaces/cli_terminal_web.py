"""`juki serve-terminal`: the terminal web application over HTTPS (ARCHITECTURE.md §4, Terminals).

The server certificate is issued by the private CA (``<JUKI_DATA_DIR>/pki``) for the host name the
operators type — ``localhost`` on a single machine — because browsers refuse an IP address as the
WebAuthn relying-party ID. The WebAuthn origin and relying party come from the settings
(JUKI_WEBAUTHN_ORIGIN, JUKI_WEBAUTHN_RP_ID); the port must agree with the origin, so by default it
is taken from it. Terminals are registered and their one-time binding links issued with
`juki terminal …`; the link to open in the terminal's browser is https://<host>:<port>/terminal/bind/<token>.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
import uvicorn
from fastapi import FastAPI

from juki.config import Settings
from juki.interfaces.common import console, open_database
from juki.store.db import Database, DbRole

app = typer.Typer()  # `juki serve-terminal`


@app.command("serve-terminal")
def serve_terminal(
    host: Annotated[
        str, typer.Option(help="待ち受けるアドレス（他の機械から使うなら 0.0.0.0）")
    ] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="待ち受けるポート（既定: JUKI_WEBAUTHN_ORIGIN のポート）"),
    ] = None,
    server_name: Annotated[
        str | None, typer.Option(help="証明書のホスト名（既定: JUKI_WEBAUTHN_RP_ID）")
    ] = None,
    cert_name: Annotated[str, typer.Option(help="PKI 内の証明書の名前")] = "terminal-web",
    idle_lock_seconds: Annotated[
        int | None, typer.Option(min=1, help="この秒数操作がなければ画面ロック（S-04）")
    ] = None,
    jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="run the scheduled jobs in this process (default: on the embedded database)",
        ),
    ] = None,
) -> None:
    """端末用の業務画面（HTTPS、生体認証・パスワードでのサインイン）を起動する。"""
    db = open_database(role=DbRole.TERM)  # a real deployment: checked as the terminal's role, not migrated
    settings = db.settings
    if idle_lock_seconds is not None:
        settings = dataclasses.replace(settings, idle_lock_seconds=idle_lock_seconds)
    web = terminal_server(db, settings, host=host, port=port, server_name=server_name, cert_name=cert_name)
    console.print(
        f"端末の業務画面: {web.url}（待ち受け {host}:{web.port}）。"
        f"ブラウザで信頼する CA 証明書: {web.ca_cert}",
        soft_wrap=True,
    )
    scheduler = None
    run_jobs = jobs if jobs is not None else db.cluster is not None
    if run_jobs:
        # The embedded default runs its own jobs; a real deployment uses `juki jobs systemd`.
        from juki.services.operations.scheduler import start_scheduler

        scheduler = start_scheduler(db, settings)
    try:
        web.server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        web.close()


@dataclasses.dataclass
class TerminalServer:
    """A configured (not yet running) terminal UI server and where operators reach it."""

    server: uvicorn.Server
    url: str
    port: int
    ca_cert: Path
    app: FastAPI

    def close(self) -> None:
        """Close the application's database connection pools (once the server has stopped)."""
        self.app.state.web.close()


def terminal_server(
    db: Database,
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    server_name: str | None = None,
    cert_name: str = "terminal-web",
) -> TerminalServer:
    """The terminal UI as a uvicorn server with its certificate from the PKI (used by `juki demo` too)."""
    from juki.interfaces.terminal import create_terminal_app
    from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
    from juki.services.access.pki import Pki

    origin = urlsplit(settings.webauthn_origin)
    listen_port = port or origin.port or 443
    name = server_name or settings.webauthn_rp_id
    if origin.port not in (None, listen_port) or origin.hostname != name:
        console.print(
            f"[yellow]warning:[/yellow] JUKI_WEBAUTHN_ORIGIN {settings.webauthn_origin} does not match "
            f"https://{name}:{listen_port}: 生体認証は失敗します"
        )
    pki = Pki(settings.pki_directory, prefecture=settings.prefecture)
    cert, key = ensure_terminal_certificate(pki, name=cert_name, host_names=[name])
    context = terminal_server_context(cert, key)
    app = create_terminal_app(db, settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=listen_port,
        ssl_context_factory=lambda _config, _default: context,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        # The operation log is the record of what operators did; an access log would only add
        # copies of one-time binding and enrolment links to a file nobody protects as well.
        access_log=False,
    )
    return TerminalServer(
        uvicorn.Server(config), f"https://{name}:{listen_port}", listen_port, pki.ca_cert_path, app
    )
