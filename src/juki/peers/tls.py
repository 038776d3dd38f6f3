"""The TLS server helpers the simulators use, from :mod:`juki.interfaces.tls_server`.

One implementation serves both the intake (layer interfaces) and the simulators (layer peers, which
may import interfaces): the peer certificate reaches each request's ASGI scope through
``PeerCertH11Protocol`` (pinned to uvicorn ``PINNED_UVICORN``; tests/peers/test_national.py checks it).
"""

from __future__ import annotations

from juki.interfaces.tls_server import (
    PINNED_UVICORN,
    PeerCertH11Protocol,
    RunningServer,
    peer_cert_der,
    run_server_in_thread,
    stop_server,
)

__all__ = [
    "PINNED_UVICORN",
    "PeerCertH11Protocol",
    "RunningServer",
    "peer_cert_der",
    "run_server_in_thread",
    "stop_server",
]
