"""`juki pki import`: certificates of the prefecture's own CA instead of `juki pki init` (issue 13 item 5).

The "prefecture's CA" here is a second juki PKI directory (its own CA key, which never reaches the
server's directory) plus certificates built by hand where a CA would get something wrong. Each wrong
file is refused with its stable code and leaves the server's PKI directory unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juki.domain.peers import PeerRole
from juki.services.access.pki import Pki, ReloadingServerContext
from juki.services.access.pki_import import Imported, ImportRefused, import_certificate, import_crl


@pytest.fixture
def prefecture(tmp_path: Path) -> Pki:
    ca = Pki(tmp_path / "prefecture-ca")
    ca.init(common_name="Kanagawa CA")
    ca.issue(PeerRole.PREF_SERVER, "pref-server")
    ca.publish_crl()
    return ca


def _import(server: Pki, ca: Pki, name: str = "pref-server", **over: Path) -> Imported:
    args = {
        "ca_cert": ca.ca_cert_path,
        "cert": ca.cert_path(name),
        "key": ca.key_path(name),
        "crl": ca.crl_path,
    } | over
    return import_certificate(server, name=name, **args)


def _hand_made(
    ca: Pki,
    path: Path,
    *,
    ou: str | None = "pref_server",
    eku: list[x509.ObjectIdentifier] | None = None,
    not_after: datetime | None = None,
) -> Path:
    """A leaf signed by ``ca``'s key with the given flaws; writes cert and key next to ``path``."""
    ca_cert = x509.load_pem_x509_certificate(ca.ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.ca_key_path.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "juki"),
        x509.NameAttribute(NameOID.COMMON_NAME, "x"),
    ]
    if ou is not None:
        attrs.insert(1, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    now = datetime.now(UTC)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(usage, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(eku or [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def test_import_installs_certificate_key_and_crl_where_the_servers_read_them(
    prefecture: Pki, tmp_path: Path
) -> None:
    """Issue 13 item 5: a certificate of the prefecture's CA is installed without any CA key, and the
    mTLS server context loads it with the imported CA and CRL."""
    server = Pki(tmp_path / "server")
    done = _import(server, prefecture)
    assert not server.ca_key_path.exists()
    assert server.cert_path("pref-server").read_bytes() == prefecture.cert_path("pref-server").read_bytes()
    assert server.key_path("pref-server").stat().st_mode & 0o777 == 0o600
    assert server.crl_path.read_bytes() == prefecture.crl_path.read_bytes()
    assert done.role == "pref_server"
    context = ReloadingServerContext(
        server.cert_path("pref-server"), server.key_path("pref-server"), server.ca_cert_path, server.crl_path
    )
    assert context.current() is not None
    # A new CRL of the same CA is taken; one of another CA is not.
    prefecture.publish_crl(days=3)
    import_crl(server, prefecture.crl_path)
    assert server.crl_path.read_bytes() == prefecture.crl_path.read_bytes()
    other = Pki(tmp_path / "other")
    other.init()
    with pytest.raises(ImportRefused) as refused:
        import_crl(server, other.crl_path)
    assert refused.value.code == "E_PKI_IMPORT_CRL"


@pytest.mark.parametrize(
    "flaw, code",
    [
        ("other_ca", "E_PKI_IMPORT_CHAIN"),
        ("wrong_key", "E_PKI_IMPORT_KEY_MISMATCH"),
        ("no_role", "E_PKI_IMPORT_SUBJECT"),
        ("no_client_auth", "E_PKI_IMPORT_KEY_USAGE"),
        ("expired", "E_PKI_IMPORT_VALIDITY"),
        ("crl_of_other_ca", "E_PKI_IMPORT_CRL"),
        ("leaf_as_ca", "E_PKI_IMPORT_KEY_USAGE"),
        ("missing_file", "E_PKI_IMPORT_FILE"),
    ],
)
def test_import_refuses_what_a_handshake_would_fail_on(
    prefecture: Pki, tmp_path: Path, flaw: str, code: str
) -> None:
    """Issue 13 item 5: the chain, validity, role, key usage, key and CRL are checked at import; a
    refused import names its stable code and installs nothing."""
    server = Pki(tmp_path / "server")
    other = Pki(tmp_path / "other")
    other.init()
    other.issue(PeerRole.PREF_SERVER, "pref-server")
    over: dict[str, Path] = {}
    if flaw == "other_ca":
        over = {"cert": other.cert_path("pref-server"), "key": other.key_path("pref-server")}
    elif flaw == "wrong_key":
        over = {"key": other.key_path("pref-server")}
    elif flaw == "no_role":
        cert = _hand_made(prefecture, tmp_path / "norole.crt", ou=None)
        over = {"cert": cert, "key": cert.with_suffix(".key")}
    elif flaw == "no_client_auth":
        cert = _hand_made(prefecture, tmp_path / "server-only.crt", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
        over = {"cert": cert, "key": cert.with_suffix(".key")}
    elif flaw == "expired":
        cert = _hand_made(prefecture, tmp_path / "old.crt", not_after=datetime.now(UTC) - timedelta(days=1))
        over = {"cert": cert, "key": cert.with_suffix(".key")}
    elif flaw == "crl_of_other_ca":
        over = {"crl": other.crl_path}
    elif flaw == "leaf_as_ca":
        over = {"ca_cert": prefecture.cert_path("pref-server")}
    elif flaw == "missing_file":
        over = {"cert": tmp_path / "nowhere.crt"}
    with pytest.raises(ImportRefused) as refused:
        _import(server, prefecture, **over)
    assert refused.value.code == code
    assert code in str(refused.value)
    assert not server.cert_path("pref-server").exists() and not server.key_path("pref-server").exists()


def test_import_keeps_one_trust_anchor(prefecture: Pki, tmp_path: Path) -> None:
    """Issue 13 item 5: a PKI directory that trusts one CA refuses certificates of another
    (E_PKI_IMPORT_CA) instead of silently replacing the trust anchor every client is checked against."""
    server = Pki(tmp_path / "server")
    _import(server, prefecture)
    other = Pki(tmp_path / "other")
    other.init()
    other.issue(PeerRole.FUHYO_SERVER, "fuhyo-server")
    with pytest.raises(ImportRefused) as refused:
        _import(server, other, name="fuhyo-server")
    assert refused.value.code == "E_PKI_IMPORT_CA"
    assert not server.cert_path("fuhyo-server").exists()
