"""Certificates from the prefecture's own CA instead of `juki pki init` (docs/deployment.md).

A real installation does not mint its own CA: the prefecture's CA issues the servers' certificates
(with the subject juki reads the peer's role from: ``O=juki, OU=<role>, CN=<name>``, plus
``serialNumber=<地方公共団体コード>`` for a 市町村CS) and publishes the CRL. `import_certificate` checks
everything a TLS handshake would find out later, so a wrong file fails at installation with a stable
code instead of as refused connections: the certificate is signed by the CA, within its validity,
not a CA itself, allowed to sign (digitalSignature) and to serve / connect as its role needs
(serverAuth / clientAuth), names a juki role, and the key is the certificate's key. The CA must be
a CA (basicConstraints CA, keyCertSign) and the CRL signed by it and current.

The files land where `juki pki issue` would put them (``ca.crt``, ``issued/<name>.crt|.key``,
``crl.pem``), so `juki serve` and the reloading TLS context need no other mode. There is no
``ca.key``: revocation and CRLs stay with the prefecture's CA; a new CRL is imported again
(`juki pki import-crl`) and running servers pick it up within ``JUKI_CRL_RELOAD_SECONDS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from juki.domain.errors import CATALOG
from juki.services.access.pki import Pki, PkiError, check_municipal_code, peer_identity


class ImportRefused(PkiError):
    """An import refused with a stable code (the message is the catalogue's, plus the detail)."""

    def __init__(self, code: str, detail: str) -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code} {CATALOG[code].message_ja}（{detail}）")


@dataclass(frozen=True)
class Imported:
    name: str
    role: str
    serial: int
    not_after: datetime
    cert_path: Path
    key_path: Path


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImportRefused("E_PKI_IMPORT_FILE", f"{what} {path}: {exc.strerror}") from None


def _load_cert(path: Path, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_read(path, what))
    except ValueError:
        raise ImportRefused("E_PKI_IMPORT_FILE", f"{what} {path} は PEM の証明書ではありません") from None


def _extension(cert: x509.Certificate, kind: type[Any]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def check_ca(ca: x509.Certificate) -> None:
    """A CA certificate: basicConstraints CA and keyCertSign + cRLSign, within its validity."""
    constraints = _extension(ca, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", "CA 証明書に basicConstraints CA:TRUE がありません")
    usage = _extension(ca, x509.KeyUsage)
    if usage is None or not usage.key_cert_sign or not usage.crl_sign:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", "CA 証明書に keyCertSign と cRLSign がありません")
    _check_validity(ca, "CA 証明書")


def _check_validity(cert: x509.Certificate, what: str) -> None:
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise ImportRefused(
            "E_PKI_IMPORT_VALIDITY",
            f"{what}: {cert.not_valid_before_utc.isoformat()} 〜 {cert.not_valid_after_utc.isoformat()}",
        )


def check_leaf(ca: x509.Certificate, cert: x509.Certificate, prefecture: str) -> str:
    """The leaf certificate's checks (a 市町村CS of ``prefecture``); returns its juki role."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise ImportRefused("E_PKI_IMPORT_CHAIN", f"発行者 {cert.issuer.rfc4514_string()}") from None
    _check_validity(cert, "証明書")
    try:
        identity = peer_identity(cert)
        if identity.lg_code is not None:
            check_municipal_code(identity.lg_code, prefecture)
    except ValueError as exc:
        raise ImportRefused("E_PKI_IMPORT_SUBJECT", str(exc)) from None
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", "CA 証明書はサーバの証明書になりません")
    usage = _extension(cert, x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", "keyUsage に digitalSignature がありません")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    purposes = set(eku) if eku is not None else set()
    role = identity.role
    if role.is_server and ExtendedKeyUsageOID.SERVER_AUTH not in purposes:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", f"役割 {role.value} には serverAuth が必要です")
    if role.is_client and ExtendedKeyUsageOID.CLIENT_AUTH not in purposes:
        raise ImportRefused("E_PKI_IMPORT_KEY_USAGE", f"役割 {role.value} には clientAuth が必要です")
    return role.value


def check_crl(ca: x509.Certificate, data: bytes) -> x509.CertificateRevocationList:
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError:
        raise ImportRefused("E_PKI_IMPORT_CRL", "PEM の CRL ではありません") from None
    public_key = ca.public_key()
    if crl.issuer != ca.subject or not crl.is_signature_valid(public_key):  # type: ignore[arg-type]
        raise ImportRefused("E_PKI_IMPORT_CRL", "CA の署名がありません")
    if crl.next_update_utc is None or crl.next_update_utc <= datetime.now(UTC):
        raise ImportRefused("E_PKI_IMPORT_CRL", f"次回更新日時を過ぎています: {crl.next_update_utc}")
    return crl


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _installed_ca(pki: Pki, ca: x509.Certificate) -> None:
    """Install ``ca`` as ca.crt, or check that it is the one installed (one trust anchor per directory)."""
    if pki.ca_cert_path.exists():
        current = x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes())
        if current != ca:
            raise ImportRefused("E_PKI_IMPORT_CA", f"{pki.ca_cert_path} には別の CA があります")
        return
    _write(pki.ca_cert_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)


def import_crl(pki: Pki, crl_path: Path) -> Path:
    """Install a CRL of the installed CA (checked first); running servers reload it."""
    if not pki.ca_cert_path.exists():
        raise ImportRefused("E_PKI_IMPORT_CA", f"{pki.ca_cert_path} がありません（先に juki pki import）")
    ca = x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes())
    data = _read(crl_path, "CRL")
    check_crl(ca, data)
    _write(pki.crl_path, data, 0o644)
    return pki.crl_path


def import_certificate(
    pki: Pki, *, ca_cert: Path, name: str, cert: Path, key: Path, crl: Path | None = None
) -> Imported:
    """Check and install one certificate and key issued by the prefecture's CA (and its CRL)."""
    ca = _load_cert(ca_cert, "CA 証明書")
    check_ca(ca)
    leaf = _load_cert(cert, "証明書")
    role = check_leaf(ca, leaf, pki.prefecture)
    key_pem = _read(key, "秘密鍵")
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ImportRefused(
            "E_PKI_IMPORT_KEY_MISMATCH", f"{key} は暗号化されていない PEM の秘密鍵ではありません"
        ) from None
    mine = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if mine != theirs:
        raise ImportRefused("E_PKI_IMPORT_KEY_MISMATCH", f"{key} は {cert} の鍵ではありません")
    crl_data = None if crl is None else _read(crl, "CRL")
    if crl_data is not None:
        check_crl(ca, crl_data)
    elif not pki.crl_path.exists():
        # A server without a CRL would accept revoked clients; refuse rather than run that way.
        raise ImportRefused("E_PKI_IMPORT_CRL", "CRL（--crl）が必要です")
    pki.issued_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _installed_ca(pki, ca)
    # The key first, mode 0600: a certificate is never installed without its key.
    _write(pki.key_path(name), key_pem, 0o600)
    _write(pki.cert_path(name), leaf.public_bytes(serialization.Encoding.PEM), 0o644)
    if crl_data is not None:
        _write(pki.crl_path, crl_data, 0o644)
    return Imported(
        name=name,
        role=role,
        serial=leaf.serial_number,
        not_after=leaf.not_valid_after_utc,
        cert_path=pki.cert_path(name),
        key_path=pki.key_path(name),
    )
