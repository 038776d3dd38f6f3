"""The terminal web server's TLS: a server certificate for a host name from the private CA.

Browsers refuse an IP address as the WebAuthn relying-party ID (ARCHITECTURE.md §7), so the UI is
served for a host name — ``localhost`` on a single machine — and its certificate names it. Unlike
the machine-to-machine APIs, the terminal UI does not ask for a client certificate: a terminal is
identified by its registration (the ``__Host-juki-terminal`` cookie set at binding) and the
operator by WebAuthn or a password.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from juki.domain.peers import PeerRole
from juki.services.access.pki import Pki, PkiError, peer_identity

#: Name of the terminal web server's certificate in the PKI directory (issued/<name>.crt).
DEFAULT_CERT_NAME = "terminal-web"


def ensure_terminal_certificate(
    pki: Pki, *, name: str = DEFAULT_CERT_NAME, host_names: Sequence[str] = ("localhost",)
) -> tuple[Path, Path]:
    """Create the CA if there is none and issue the web server's certificate if it is missing.

    Returns (certificate, key). The certificate names the role terminal_web and is a server
    certificate only (serverAuth, no clientAuth) whose SANs are exactly ``host_names`` (no IP address:
    the UI is reached by name). No mTLS server accepts it as a client (hardening item 6).

    A data directory from before that change holds a certificate of this name with the role
    pref_server and clientAuth — with it, the web server's key could call the 全国サーバ as the
    都道府県サーバ. Such a certificate (any role but terminal_web) is revoked (superseded), the CRL is
    republished, and a terminal_web certificate is issued in its place.
    """
    if not pki.exists():
        pki.init()
    cert_path, key_path = pki.cert_path(name), pki.key_path(name)
    # A certificate issued for other host names (JUKI_WEBAUTHN_RP_ID changed to reach the UI from
    # another machine) would make every browser refuse the new name: replace it like an old role.
    if (
        cert_path.exists()
        and key_path.exists()
        and (not _is_terminal_web(cert_path) or not _names_covered(cert_path, host_names))
    ):
        with contextlib.suppress(PkiError):  # not in the index or already revoked: nothing to revoke
            pki.revoke(name, reason="superseded")
        pki.publish_crl()
        cert_path.unlink()
    if not cert_path.exists() or not key_path.exists():
        pki.issue(PeerRole.TERMINAL_WEB, name, dns_names=list(host_names))
    if not pki.crl_path.exists():
        pki.publish_crl()
    return cert_path, key_path


def _names_covered(cert: Path, host_names: Sequence[str]) -> bool:
    """True when every name in ``host_names`` is a DNS name in the certificate's SAN."""
    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
        san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    names = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    return all(h.lower() in names for h in host_names)


def _is_terminal_web(cert: Path) -> bool:
    """True when ``cert`` is a readable juki certificate of the role terminal_web."""
    try:
        return peer_identity(x509.load_pem_x509_certificate(cert.read_bytes())).role is PeerRole.TERMINAL_WEB
    except (OSError, ValueError):
        return False


def terminal_server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS ≥ 1.2 server context presenting ``cert``; no client certificate is requested."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    return ctx
