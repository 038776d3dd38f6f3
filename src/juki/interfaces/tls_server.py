"""Serving an ASGI app over mutual TLS with the verified peer certificate in the ASGI scope.

uvicorn enforces client certificates when given an SSL context that requires them, but it does not
tell the application *which* certificate the peer presented (ARCHITECTURE.md §7). The application
needs it: the certificate names the municipality sending notifications and the role of a peer.
`PeerCertH11Protocol` captures the DER certificate when the TLS connection is made and adds it to
every request's scope as ``scope["extensions"]["tls"]["peer_cert_der"]``. It relies on uvicorn's
H11Protocol keeping the application in ``self.app`` and reading it per request; a test pins that.

The SSL context is built by juki (`juki.services.pki.server_context`, with the CRL loaded), not by
uvicorn, through uvicorn's ``ssl_context_factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

#: The uvicorn release the peer-certificate mechanism was written and tested against.
PINNED_UVICORN = "0.54.0"


class PeerCertH11Protocol(H11Protocol):
    """H11Protocol that exposes the TLS peer certificate to the application, per connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        inner = self.app

        async def app_with_peer(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("type") in ("http", "websocket"):
                extensions = scope.setdefault("extensions", {})
                extensions["tls"] = {**extensions.get("tls", {}), "peer_cert_der": der}
            await inner(scope, receive, send)

        self.app = app_with_peer


def server_config(
    app: Any, context: ssl.SSLContext, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> uvicorn.Config:
    """A uvicorn configuration serving ``app`` over ``context`` with the peer-certificate protocol."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=PeerCertH11Protocol,
        ssl_context_factory=lambda _config, _default: context,
        log_level=log_level,
        lifespan="off",
        access_log=False,
    )


@dataclass
class RunningServer:
    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"


@contextlib.contextmanager
def serve_in_thread(
    app: Any, context: ssl.SSLContext, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
) -> Iterator[RunningServer]:
    """Run an mTLS server in a background thread (tests, simulators); stop it on exit.

    ``port=0`` binds an ephemeral port, read back before the server starts.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = int(sock.getsockname()[1])
    server = uvicorn.Server(server_config(app, context))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="juki-mtls")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the mTLS server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(server, thread, host, bound_port)
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
