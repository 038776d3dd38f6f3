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
from typing import Annotated
from urllib.parse import urlsplit

import typer

from juki.interfaces.common import console, open_database


def serve_terminal(
    host: Annotated[str, typer.Option(help="listen address")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="listen port (default: the WebAuthn origin's)")
    ] = None,
    server_name: Annotated[
        str | None, typer.Option(help="host name in the certificate (default: the WebAuthn RP ID)")
    ] = None,
    cert_name: Annotated[str, typer.Option(help="the certificate's name in the PKI")] = "terminal-web",
    idle_lock_seconds: Annotated[
        int | None, typer.Option(min=1, help="idle lock after this many seconds (S-04)")
    ] = None,
) -> None:
    """端末用の業務画面（HTTPS、生体認証・パスワードでのサインイン）を起動する。"""
    import uvicorn

    from juki.interfaces.terminal import create_terminal_app
    from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
    from juki.services.pki import Pki

    db = open_database()
    settings = db.settings
    if idle_lock_seconds is not None:
        settings = dataclasses.replace(settings, idle_lock_seconds=idle_lock_seconds)
    origin = urlsplit(settings.webauthn_origin)
    listen_port = port or origin.port or 443
    name = server_name or settings.webauthn_rp_id
    if origin.port not in (None, listen_port) or origin.hostname != name:
        console.print(
            f"[yellow]warning:[/yellow] JUKI_WEBAUTHN_ORIGIN {settings.webauthn_origin} does not match "
            f"https://{name}:{listen_port}: 生体認証は失敗します"
        )
    pki = Pki(settings.data_dir / "pki")
    cert, key = ensure_terminal_certificate(pki, name=cert_name, host_names=[name])
    context = terminal_server_context(cert, key)
    app = create_terminal_app(db, settings)
    console.print(
        f"terminal UI on https://{name}:{listen_port}/ (listening {host}:{listen_port}); "
        f"CA certificate to trust: {pki.ca_cert_path}"
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=listen_port,
        ssl_context_factory=lambda _config, _default: context,
        log_level="info",
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        # The operation log is the record of what operators did; an access log would only add
        # copies of one-time binding and enrolment links to a file nobody protects as well.
        access_log=False,
    )
    uvicorn.Server(config).run()
