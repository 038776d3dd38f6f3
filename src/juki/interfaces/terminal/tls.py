"""The terminal web server's TLS: a server certificate for a host name from the private CA.

Browsers refuse an IP address as the WebAuthn relying-party ID (ARCHITECTURE.md §7), so the UI is
served for a host name — ``localhost`` on a single machine — and its certificate names it. Unlike
the machine-to-machine APIs, the terminal UI does not ask for a client certificate: a terminal is
identified by its registration (the ``__Host-juki-terminal`` cookie set at binding) and the
operator by WebAuthn or a password.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

from juki.domain.peers import PeerRole
from juki.services.access.pki import Pki

#: Name of the terminal web server's certificate in the PKI directory (issued/<name>.crt).
DEFAULT_CERT_NAME = "terminal-web"


def ensure_terminal_certificate(
    pki: Pki, *, name: str = DEFAULT_CERT_NAME, host_names: Sequence[str] = ("localhost",)
) -> tuple[Path, Path]:
    """Create the CA if there is none and issue the web server's certificate if it is missing.

    Returns (certificate, key). The certificate is a server certificate (serverAuth) whose SANs are
    exactly ``host_names`` (no IP address: the UI is reached by name).
    """
    if not pki.exists():
        pki.init()
    if not pki.cert_path(name).exists() or not pki.key_path(name).exists():
        pki.issue(PeerRole.PREF_SERVER, name, dns_names=list(host_names))
    if not pki.crl_path.exists():
        pki.publish_crl()
    return pki.cert_path(name), pki.key_path(name)


def terminal_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS ≥ 1.2 server context presenting ``cert``; no client certificate is requested."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    return ctx
