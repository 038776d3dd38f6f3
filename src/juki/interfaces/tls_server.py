"""Serving an ASGI app over mutual TLS with the verified peer certificate in the ASGI scope.

uvicorn enforces client certificates when given an SSL context that requires them, but it does not
tell the application *which* certificate the peer presented (ARCHITECTURE.md §7). The application
needs it: the certificate names the municipality sending notifications and the role of a peer.
`PeerCertH11Protocol` captures the DER certificate when the TLS connection is made and adds it to
every request's scope as ``scope["extensions"]["tls"]["peer_cert_der"]``. It relies on uvicorn's
H11Protocol keeping the application in ``self.app`` and reading it per request; a test pins that.

The SSL context is built by juki (`juki.services.access.pki.server_context`, with the CRL loaded), not by
uvicorn. The protocol runs each connection's handshake itself (``loop.start_tls``) with the context
current at that moment — a `ReloadingServerContext` follows a new CRL without a restart — and logs a
failed handshake with the peer's address and the reason, which asyncio's TLS server never reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from juki.services.access.pki import ReloadingServerContext

#: The uvicorn release the peer-certificate mechanism was written and tested against.
PINNED_UVICORN = "0.54.0"


#: How long a client may take to finish the TLS handshake.
HANDSHAKE_TIMEOUT = 15.0

_log = logging.getLogger("juki.tls")

ContextSource = ssl.SSLContext | ReloadingServerContext


class PeerCertH11Protocol(H11Protocol):
    """H11Protocol that does the TLS handshake itself and exposes the peer certificate to the application.

    When the server is configured by :func:`server_config`, asyncio accepts plain TCP and this protocol
    upgrades each connection with ``loop.start_tls`` and the context current at that moment (a
    :class:`ReloadingServerContext` follows a new CRL without a restart). A failed handshake is logged
    with the peer's address and the reason (``juki.tls``, WARNING) — asyncio's own TLS server drops it
    silently. Only then does uvicorn's HTTP handling see the connection.
    """

    _early: list[bytes] | None = None  # data decrypted before start_tls returned
    _early_eof = False
    _handshake: asyncio.Task[None] | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        """The context for a new connection; None: the transport is TLS already (or plain)."""
        return None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        context = self._tls_context()
        if context is None or transport.get_extra_info("sslcontext") is not None:
            self._tls_connection_made(transport)
            return
        self._early = []
        transport.pause_reading()  # the ClientHello is for the TLS layer, not for HTTP
        self._handshake = asyncio.get_running_loop().create_task(self._start_tls(transport, context))

    async def _start_tls(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        peer = raw.get_extra_info("peername")
        try:
            tls = await asyncio.get_running_loop().start_tls(
                raw, self, context, server_side=True, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except Exception as exc:
            log_handshake_failure(peer, exc)
            raw.abort()
            return
        if tls is None:  # the connection went away as the handshake finished
            raw.abort()
            return
        early, self._early = self._early or [], None
        self._tls_connection_made(tls)
        for chunk in early:
            super().data_received(chunk)
        if self._early_eof:
            super().eof_received()

    def _tls_connection_made(self, transport: asyncio.Transport) -> None:
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

    def data_received(self, data: bytes) -> None:
        if self._early is not None:  # decrypted in the same read as the handshake's end
            self._early.append(data)
            return
        super().data_received(data)

    def eof_received(self) -> None:
        if self._early is not None:
            self._early_eof = True
            return
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # the handshake failed: HTTP never began (logged by _start_tls)
            return
        super().connection_lost(exc)


def handshake_failure_reason(exc: BaseException) -> str:
    """Why a TLS handshake failed, in OpenSSL's words (no certificate contents, no personal data)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or exc.reason or "certificate verify failed"
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.__class__.__name__)
    if isinstance(exc, ConnectionAbortedError | TimeoutError):
        return "handshake timed out"
    if isinstance(exc, ConnectionError | EOFError):
        return "connection closed during the handshake"
    return exc.__class__.__name__


def log_handshake_failure(peer: Any, exc: BaseException) -> None:
    """One WARNING line: which address failed the TLS handshake, and why."""
    where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer or "?")
    _log.warning("TLS handshake failed from %s: %s", where, handshake_failure_reason(exc))


class _PerConnectionTlsConfig(uvicorn.Config):
    """A uvicorn configuration whose TLS is done per connection by the protocol, not by asyncio's server.

    uvicorn still knows the server is TLS (its messages say https), but the listening socket is plain:
    :class:`PeerCertH11Protocol` runs each handshake with the context current at that moment.
    """

    def load(self) -> None:
        super().load()
        self.ssl = None


def _source(context: ContextSource) -> Callable[[], ssl.SSLContext]:
    if isinstance(context, ReloadingServerContext):
        return context.current
    return lambda: context


def server_config(
    app: Any, context: ContextSource, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> uvicorn.Config:
    """A uvicorn configuration serving ``app`` over ``context`` with the peer-certificate protocol.

    ``context`` is a fixed SSL context or a :class:`ReloadingServerContext` (a new CRL takes effect
    without a restart).
    """
    source = _source(context)

    class Protocol(PeerCertH11Protocol):
        def _tls_context(self) -> ssl.SSLContext | None:
            return source()

    return _PerConnectionTlsConfig(
        app,
        host=host,
        port=port,
        http=Protocol,
        ssl_context_factory=lambda _config, _default: source(),
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
    ssl_context: ContextSource,
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
    app: Any, context: ContextSource, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0
) -> Iterator[RunningServer]:
    """Run an mTLS server in a background thread (tests, simulators); stop it on exit."""
    server, thread, bound = run_server_in_thread(app, context, host, port, timeout=timeout)
    with RunningServer(server, thread, host, bound) as running:
        yield running
