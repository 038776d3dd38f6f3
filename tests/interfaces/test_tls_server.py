"""interfaces/tls_server: a server that cannot listen is a clear error at once, never a silently dead
thread (the demo prints one-time links only after its UI is listening); a running mTLS server follows a
new CRL without a restart and logs every failed handshake with the address and the reason (hardening 5)."""

from __future__ import annotations

import logging
import re
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from juki.domain.peers import PeerRole
from juki.interfaces.tls_server import peer_cert_der, serve_in_thread, start_in_thread, stop_server
from juki.services.access.pki import Pki, ReloadingServerContext, client_context, peer_identity


async def _app(scope: object, receive: object, send: object) -> None:  # never called
    raise AssertionError("no request expected")


# uvicorn ends its thread with SystemExit(3) when it cannot bind: that is the case under test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_port_in_use_raises_instead_of_a_dead_thread() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=port, log_level="critical"))
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} did not start"):
            start_in_thread(server, timeout=5)


def test_a_free_port_is_listening_when_it_returns() -> None:
    server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=0, log_level="critical"))
    thread, port = start_in_thread(server, timeout=5)
    try:
        assert thread.is_alive() and port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        stop_server(server, thread)
    assert not thread.is_alive()


# ----------------------------------------------------------------- hardening 5: CRL without a restart


async def _ok_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers 200 with the peer's 地方公共団体コード, read from the certificate in the scope."""
    if scope["type"] != "http":
        return
    der = peer_cert_der(scope)
    body = (peer_identity(der).lg_code or "-").encode() if der else b"none"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


def _get(pki: Pki, name: str, url: str) -> str:
    """One request on a new connection (a new handshake): the body, or "refused" (no answer at all).

    With TLS 1.3 the client learns of a refused certificate only when it reads: a connect, read or
    protocol error, never a response."""
    context = client_context(pki.cert_path(name), pki.key_path(name), pki.ca_cert_path)
    try:
        with httpx.Client(verify=context, timeout=5, trust_env=False) as client:
            return client.get(url).text
    except httpx.TransportError:
        return "refused"


def _tls_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "juki.tls" and r.levelno == logging.WARNING]


def _wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition`` held (AssertionError after ``timeout``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-141011", lg_code="141011")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-141020", lg_code="141020")
    return pki


def _reloading(pki: Pki, seconds: float) -> ReloadingServerContext:
    name = "pref-server"
    return ReloadingServerContext(
        pki.cert_path(name), pki.key_path(name), pki.ca_cert_path, pki.crl_path, reload_seconds=seconds
    )


def test_hardening_5_S41_a_running_server_refuses_a_certificate_revoked_after_it_started(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """Revoke + new CRL while the server runs: within the reload interval new handshakes of the revoked
    municipality fail (logged with its address and "certificate revoked"), the other one still gets in."""
    caplog.set_level(logging.INFO, logger="juki.tls")
    bound = 1.0
    with serve_in_thread(_ok_app, _reloading(pki, bound)) as running:
        assert _get(pki, "cs-141020", running.url) == "141020"
        pki.revoke("cs-141020", reason="keyCompromise")
        pki.publish_crl()
        took = _wait_for(lambda: _get(pki, "cs-141020", running.url) == "refused", bound + 5)
        assert took <= bound + 2
        assert _get(pki, "cs-141011", running.url) == "141011"
    refused = [m for m in _tls_warnings(caplog) if "certificate revoked" in m]
    assert refused and all(re.search(r"from 127\.0\.0\.1:\d+: certificate revoked$", m) for m in refused)


def test_hardening_5_S41_an_expired_crl_is_logged_and_a_renewed_one_is_picked_up(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    """A CRL past its nextUpdate fails every client handshake (fail closed) — now logged, as is the
    expired CRL itself — and `renew_crl` brings the server back without a restart."""
    caplog.set_level(logging.INFO, logger="juki.tls")
    ca_key = serialization.load_pem_private_key(pki.ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes())
    now = datetime.now(UTC)
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - timedelta(days=8))
        .next_update(now - timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    pki.crl_path.write_bytes(stale.public_bytes(serialization.Encoding.PEM))
    with serve_in_thread(_ok_app, _reloading(pki, 0.5)) as running:
        assert _get(pki, "cs-141011", running.url) == "refused"
        _wait_for(lambda: any("CRL has expired" in m for m in _tls_warnings(caplog)), 5)  # server's thread
        assert any(r.levelno == logging.ERROR and "有効期限" in r.getMessage() for r in caplog.records)
        assert pki.renew_crl(2, days=7) == pki.crl_path
        _wait_for(lambda: _get(pki, "cs-141011", running.url) == "141011", 5)


@pytest.mark.parametrize("client", ["another_ca", "no_certificate"])
def test_hardening_5_S41_handshake_failures_are_logged_with_the_reason(
    pki: Pki, client: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="juki.tls")
    if client == "another_ca":
        other = Pki(tmp_path / "other")
        other.init()
        other.issue(PeerRole.MUNICIPAL_CS, "cs-141011", lg_code="141011")
        name = "cs-141011"
        context = client_context(other.cert_path(name), other.key_path(name), pki.ca_cert_path)
        reason = "unable to get local issuer certificate"
    else:
        context = ssl.create_default_context(cafile=str(pki.ca_cert_path))
        reason = "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    with serve_in_thread(_ok_app, _reloading(pki, 30)) as running:
        with pytest.raises(httpx.TransportError), httpx.Client(verify=context, trust_env=False) as c:
            c.get(running.url)
        _wait_for(lambda: any(reason in m for m in _tls_warnings(caplog)), 5)
    assert all(m.startswith("TLS handshake failed from 127.0.0.1:") for m in _tls_warnings(caplog))
