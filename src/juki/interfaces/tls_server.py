"""Serving an ASGI app over mutual TLS with the verified peer certificate in the ASGI scope.

uvicorn enforces client certificates when given an SSL context that requires them, but it does not
tell the application *which* certificate the peer presented (ARCHITECTURE.md §7). The application
needs it: the certificate names the municipality sending notifications and the role of a peer.
`PeerCertH11Protocol` captures the DER certificate when the TLS connection is made and adds it to
every request's scope as ``scope["extensions"]["tls"]["peer_cert_der"]``. It relies on uvicorn's
H11Protocol keeping the application in ``self.app`` and reading it per request; a test pins that.

The SSL context is built by juki (`juki.services.access.pki.server_context`, with the CRL loaded), not by
uvicorn, through uvicorn's ``ssl_context_factory``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections.abc import Iterator, MutableMapping
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


Scope = MutableMapping[str, Any]


def peer_cert_der(scope: Scope) -> bytes | None:
    """The verified peer certificate (DER) of a request, or None (no TLS, no certificate, no extension).

    A missing extension (an app served some other way) reads as "no certificate": callers fail closed.
    """
    tls = scope.get("extensions", {}).get("tls")
    if not isinstance(tls, dict):
        return None
    der = tls.get("peer_cert_der")
    return der if isinstance(der, bytes) and der else None


def run_server_in_thread(
    app: Any,
    ssl_context: ssl.SSLContext,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float = 10.0,
    log_level: str = "warning",
) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve ``app`` over TLS with ``ssl_context`` in a daemon thread; return (server, thread, port).

    Returns once the server is listening (``port=0``: the port the kernel chose). Stop it with
    :func:`stop_server`. Raises RuntimeError when it did not start within ``timeout`` seconds.
    """
    config = server_config(app, ssl_context, host=host, port=port, log_level=log_level)
    config.timeout_graceful_shutdown = 2  # a stuck connection must not hold a teardown for long
    server = uvicorn.Server(config)
    thread, bound_port = start_in_thread(server, timeout=timeout)
    return server, thread, bound_port


def start_in_thread(server: uvicorn.Server, *, timeout: float = 10.0) -> tuple[threading.Thread, int]:
    """Run a configured ``server`` in a daemon thread with its own event loop; return (thread, port).

    Returns once it is listening. Its own thread, because the caller's thread may already have a
    running loop (an embedding application, a test runner). Raises RuntimeError when it did not
    start within ``timeout`` seconds (a port in use, for example).
    """
    where = f"{server.config.host}:{server.config.port}"
    thread = threading.Thread(target=server.run, name=f"uvicorn-{where}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the TLS server on {where} did not start")
        time.sleep(0.01)
    return thread, int(server.servers[0].sockets[0].getsockname()[1])


def stop_server(server: uvicorn.Server, thread: threading.Thread, *, timeout: float = 5.0) -> None:
    """Ask the server to exit and wait (bounded) for its thread."""
    server.should_exit = True
    thread.join(timeout)
    if thread.is_alive():
        server.force_exit = True
        thread.join(timeout)


@dataclass
class RunningServer:
    """A server running in a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def stop(self) -> None:
        stop_server(self.server, self.thread)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_in_thread(
    app: Any, context: ssl.SSLContext, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
) -> Iterator[RunningServer]:
    """Run an mTLS server in a background thread (tests, simulators); stop it on exit."""
    server, thread, bound = run_server_in_thread(app, context, host, port, timeout=timeout)
    with RunningServer(server, thread, host, bound) as running:
        yield running
