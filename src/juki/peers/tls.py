"""Run an ASGI app over mutual TLS in a background thread, and read the verified peer from a request.

uvicorn enforces client certificates (the ``ssl.SSLContext`` comes from ``juki.services.pki.server_context``
with the CRL loaded) but does not put the peer's certificate into the ASGI scope (ARCHITECTURE §7). The
one mechanism that does lives in :mod:`juki.interfaces.tls_server` (the intake API needs it too, and
peers may import interfaces, not the other way round): ``PeerCertH11Protocol`` subclasses uvicorn's
``H11Protocol``; asyncio calls ``connection_made`` only after the TLS handshake (so after the client
certificate was verified), and there it wraps the connection's ASGI app so every request scope carries
``scope["extensions"]["tls"]["peer_cert_der"]`` (the leaf certificate, DER). It relies on two uvicorn
internals (``H11Protocol.connection_made`` and the per-connection ``self.app``), pinned to uvicorn
``PINNED_UVICORN``; ``tests/peers/test_national.py`` checks the version and, end to end over TLS, that
the DER reaching the app is the client's certificate.

This module adds what the simulators need on top: :func:`run_server_in_thread` (start, wait until it
accepts connections, return the port the kernel chose for port 0), :func:`stop_server`, and
:func:`peer_cert_der` to read the certificate back from a scope. A missing extension (an app served
some other way) reads as "no certificate": callers fail closed.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from juki.interfaces.tls_server import PINNED_UVICORN, PeerCertH11Protocol, server_config

__all__ = ["PINNED_UVICORN", "PeerCertH11Protocol", "peer_cert_der", "run_server_in_thread", "stop_server"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def peer_cert_der(scope: Scope) -> bytes | None:
    """The verified peer certificate (DER) of the request, or None (no TLS, no certificate, no extension)."""
    tls = scope.get("extensions", {}).get("tls")
    if not isinstance(tls, dict):
        return None
    der = tls.get("peer_cert_der")
    return der if isinstance(der, bytes) and der else None


def run_server_in_thread(
    app: AsgiApp,
    ssl_context: ssl.SSLContext,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float = 10.0,
    log_level: str = "warning",
) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve ``app`` over TLS with ``ssl_context`` in a daemon thread; return (server, thread, port).

    Returns once the server is listening. Stop it with :func:`stop_server`. Raises RuntimeError when it
    did not start within ``timeout`` seconds (the port in use, an app that failed its startup…).
    """
    config = server_config(app, ssl_context, host=host, port=port, log_level=log_level)
    config.timeout_graceful_shutdown = 2  # a stuck connection must not hold a test's teardown for long
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the TLS server on {host}:{port} did not start")
        time.sleep(0.01)
    sockets = server.servers[0].sockets
    bound_port = int(sockets[0].getsockname()[1])
    return server, thread, bound_port


def stop_server(server: uvicorn.Server, thread: threading.Thread, *, timeout: float = 5.0) -> None:
    """Ask the server to exit and wait (bounded) for its thread."""
    server.should_exit = True
    thread.join(timeout)
    if thread.is_alive():
        server.force_exit = True
        thread.join(timeout)
