"""The private PKI of the juki network (ARCHITECTURE §5: mTLS everywhere between machines).

One CA (EC P-256) signs a certificate for every machine; the certificate names the peer's role and,
for a 市町村CS, its 地方公共団体コード:

    Subject  O=juki, OU=<role>, CN=<name>[, serialNumber=<地方公共団体コード> for municipal_cs,
             serialNumber=<依頼元コード> for line_agent]

Layout of the PKI directory (default ``<JUKI_DATA_DIR>/pki``, never inside git: ``*.key``/``*.pem``
and ``.juki-data/`` are ignored)::

    ca.key  ca.crt  crl.pem  index.json  issued/<name>.key  issued/<name>.crt

Private keys are written mode 0600 and unencrypted (servers load them unattended). The CRL is
published at ``init`` already (empty) so a server can always load one: a revoked certificate is refused
only when a CRL is loaded (ARCHITECTURE §7, ``ssl.VERIFY_CRL_CHECK_LEAF``). A CRL past its next update
makes every handshake fail (fail closed): republish it (``juki pki crl``) well before it expires.

An ``ssl.SSLContext`` cannot unload a CRL: a running server holds a :class:`ReloadingServerContext`,
which builds a new context when the CRL file changes (checked every ``JUKI_CRL_RELOAD_SECONDS``), and
the TLS server takes the current one for each new connection. ``Pki.renew_crl`` republishes the CRL
before it expires (``juki pki crl --renew-before DAYS``, for a daily job).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juki.config import Settings
from juki.domain.codes import is_valid_lg_code, prefecture_of_lg_code
from juki.domain.lgcodes import for_prefecture
from juki.domain.peers import PeerRole

ORGANIZATION = "juki"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A requester code of the provision catalog, as a line-linkage agent's certificate names it (serialNumber).
_REQUESTER_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_CLOCK_SKEW = timedelta(minutes=5)
_INDEX_VERSION = 1
_log = logging.getLogger("juki.tls")
#: The prefecture's document-signing identity (PAdES signatures on forms): not a network peer.
DOCUMENT_SIGNER_NAME = "pref-document-signer"
DOCUMENT_SIGNER_OU = "document_signer"
_DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336


class PkiError(RuntimeError):
    """The PKI cannot do what was asked (no CA, CA exists, unknown certificate…); one-line message."""


@dataclass(frozen=True)
class PeerIdentity:
    """Who is on the other end of a verified connection, as its certificate says."""

    role: PeerRole
    name: str
    lg_code: str | None  # 地方公共団体コード (municipal_cs only)
    serial: int
    requester: str | None = None  # the provision catalog's requester code (line_agent only, S-33)


@dataclass(frozen=True)
class IssuedCert:
    serial: int
    cert_path: Path
    key_path: Path


def _one_attribute(name: x509.Name, oid: x509.ObjectIdentifier, label: str) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    if len(attrs) > 1:
        raise ValueError(f"証明書のサブジェクトに {label} が複数あります")
    value = attrs[0].value
    if not isinstance(value, str):
        raise ValueError(f"証明書のサブジェクトの {label} が文字列ではありません")
    return value


def peer_identity(cert: x509.Certificate | bytes) -> PeerIdentity:
    """Role, name and (for a 市町村CS) 地方公共団体コード from a certificate (object or DER bytes).

    Only meaningful for a certificate the TLS layer has already verified against the juki CA.
    Raises ValueError when the certificate names no juki role or a malformed municipality code.
    """
    if isinstance(cert, bytes | bytearray):
        cert = x509.load_der_x509_certificate(bytes(cert))
    subject = cert.subject
    if _one_attribute(subject, NameOID.ORGANIZATION_NAME, "O") != ORGANIZATION:
        raise ValueError(f"証明書が juki の証明書ではありません（O={ORGANIZATION} がありません）")
    raw_role = _one_attribute(subject, NameOID.ORGANIZATIONAL_UNIT_NAME, "OU")
    if raw_role is None:
        raise ValueError("証明書に役割（OU）がありません")
    try:
        role = PeerRole(raw_role)
    except ValueError:
        raise ValueError(f"証明書の役割 {raw_role!r} は juki の役割ではありません") from None
    name = _one_attribute(subject, NameOID.COMMON_NAME, "CN")
    if not name:
        raise ValueError("証明書に名前（CN）がありません")
    lg_code: str | None = None
    if role is PeerRole.MUNICIPAL_CS:
        lg_code = _one_attribute(subject, NameOID.SERIAL_NUMBER, "serialNumber")
        if lg_code is None or not is_valid_lg_code(lg_code):
            raise ValueError(f"市町村CSの証明書に正しい地方公共団体コードがありません: {lg_code!r}")
    requester: str | None = None
    if role is PeerRole.LINE_AGENT:
        requester = _one_attribute(subject, NameOID.SERIAL_NUMBER, "serialNumber")
        if requester is None or not _REQUESTER_RE.fullmatch(requester):
            raise ValueError(f"回線連携の証明書に正しい依頼元コードがありません: {requester!r}")
    return PeerIdentity(role=role, name=name, lg_code=lg_code, serial=cert.serial_number, requester=requester)


def authorize_peer(cert_der: bytes | None, allowed: Collection[PeerRole]) -> PeerIdentity:
    """The peer's identity when its role is one of ``allowed``; PermissionError otherwise."""
    if cert_der is None:
        raise PermissionError("相手の証明書がありません")
    try:
        identity = peer_identity(cert_der)
    except ValueError as exc:
        raise PermissionError(str(exc)) from None
    if not identity.role.is_client or identity.role not in allowed:
        raise PermissionError(f"役割 {identity.role.value} の相手にはこの機能を提供しません")
    return identity


def other_prefecture(peer: PeerIdentity, prefecture: str) -> str | None:
    """Why a 市町村CS of another prefecture is refused here (E_PEER_PREFECTURE), or None when it is ours.

    A consolidation centre runs one server per prefecture (docs/deployment.md「集約センター」), each
    trusting only its own prefecture's CA; this check holds even if that CA issued a certificate for
    another prefecture's municipality, so one prefecture's server never takes another's notifications.
    """
    if peer.lg_code is None or prefecture_of_lg_code(peer.lg_code) == prefecture:
        return None
    return (
        f"市町村CS {peer.lg_code} は都道府県コード {prefecture_of_lg_code(peer.lg_code)} の市町村です。"
        f"この都道府県サーバ（都道府県コード {prefecture}）では受け付けません"
    )


def check_municipal_code(lg_code: str, prefecture: str) -> str:
    """Validate the 地方公共団体コード a municipal_cs certificate may carry — a 住基 municipality of
    ``prefecture`` (the configured one: each prefecture's CA serves its own municipalities); return it."""
    if not is_valid_lg_code(lg_code):
        raise ValueError(f"地方公共団体コード {lg_code!r} が不正です（半角数字6桁、検査数字が合うこと）")
    table = for_prefecture(prefecture)
    if not table.is_resident_register_municipality(lg_code):
        raise ValueError(
            f"地方公共団体コード {lg_code} は{table.prefecture().name}の住基の市町村ではありません"
            "（県・郡・指定都市そのものは不可。指定都市は区のコードを指定してください）"
        )
    return lg_code


# --------------------------------------------------------------------------------------- files


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Atomically replace ``path`` with ``data``; the file never exists with looser permissions."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


_REASONS = {flag.value.lower(): flag for flag in x509.ReasonFlags} | {
    flag.name.replace("_", "").lower(): flag for flag in x509.ReasonFlags
}


def _reason_flag(reason: str) -> x509.ReasonFlags:
    flag = _REASONS.get(reason.replace("_", "").replace("-", "").lower())
    if flag is None or flag is x509.ReasonFlags.remove_from_crl:
        choices = ", ".join(f.value for f in x509.ReasonFlags if f is not x509.ReasonFlags.remove_from_crl)
        raise ValueError(f"失効理由 {reason!r} は使えません（{choices}）")
    return flag


class Pki:
    """The CA, the certificates it issued, their index and the CRL, in one directory."""

    def __init__(self, directory: Path | None = None, *, prefecture: str | None = None) -> None:
        """``directory`` and ``prefecture`` (the 都道府県コード whose municipalities the CA certifies)
        default to the environment's settings, for the command line; servers pass their own."""
        if directory is None or prefecture is None:
            settings = Settings.from_env()
            directory = directory if directory is not None else settings.pki_directory
            prefecture = prefecture if prefecture is not None else settings.prefecture
        self.directory = directory
        self.prefecture = prefecture

    @property
    def default_ca_name(self) -> str:
        """The CA's common name unless one is given: it names the prefecture, so the CAs of a
        consolidation centre's prefectures are told apart at a glance (juki network CA 14 神奈川県)."""
        return f"juki network CA {self.prefecture} {for_prefecture(self.prefecture).prefecture().name}"

    # paths
    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca.key"

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.directory / "index.json"

    @property
    def issued_dir(self) -> Path:
        return self.directory / "issued"

    def cert_path(self, name: str) -> Path:
        return self.issued_dir / f"{_check_name(name)}.crt"

    def key_path(self, name: str) -> Path:
        return self.issued_dir / f"{_check_name(name)}.key"

    def exists(self) -> bool:
        return self.ca_key_path.exists() or self.ca_cert_path.exists()

    # locking and the index
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.issued_dir.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _read_index(self) -> dict[str, Any]:
        if not self.index_path.exists():
            return {"version": _INDEX_VERSION, "crl_number": 0, "certs": []}
        data: dict[str, Any] = json.loads(self.index_path.read_text(encoding="utf-8"))
        return data

    def _write_index(self, index: dict[str, Any]) -> None:
        text = json.dumps(index, ensure_ascii=False, indent=2) + "\n"
        _write_file(self.index_path, text.encode("utf-8"), 0o644)

    def _load_ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if not (self.ca_key_path.exists() and self.ca_cert_path.exists()):
            raise PkiError(f"{self.directory} に CA がありません。先に `juki pki init` を実行してください")
        cert = x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
        key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{self.ca_key_path} は EC の秘密鍵ではありません")
        return cert, key

    # operations
    def init(self, common_name: str | None = None, days: int = 3650) -> Path:
        """Create the CA (ca.key 0600, ca.crt) and an empty CRL; refuse when a CA exists. Returns ca.crt.

        ``common_name`` defaults to :attr:`default_ca_name`."""
        common_name = common_name or self.default_ca_name
        if days < 1:
            raise ValueError("有効日数は1以上です")
        with self._locked():
            if self.exists():
                raise PkiError(f"{self.directory} には既に CA があります（上書きしません）")
            key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
            now = _now()
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _CLOCK_SKEW)
                .not_valid_after(now + timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=False,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256())
            )
            key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_file(self.ca_key_path, key_pem, 0o600)
            _write_file(self.ca_cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            index: dict[str, Any] = {"version": _INDEX_VERSION, "crl_number": 0, "certs": []}
            self._publish_crl_locked(index, days=7)
            self._write_index(index)
        return self.ca_cert_path

    def issue(
        self,
        role: PeerRole | str,
        name: str,
        *,
        lg_code: str | None = None,
        requester: str | None = None,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = (),
        days: int = 825,
    ) -> IssuedCert:
        """Issue a certificate and key for a peer: ``issued/<name>.crt`` and ``issued/<name>.key`` (0600).

        Server roles get serverAuth and SANs (default DNS localhost and IP 127.0.0.1); every role but
        terminal_web (the terminal UI's web server, serverAuth only) gets clientAuth. A municipal_cs
        certificate needs the 地方公共団体コード of a 住基 municipality of the prefecture (a ward for a
        designated city). A name in use by a valid certificate is refused.
        """
        role = _check_role(role)
        name = _check_name(name)
        if days < 1:
            raise ValueError("有効日数は1以上です")
        if role is PeerRole.MUNICIPAL_CS:
            if lg_code is None:
                raise ValueError("市町村CSの証明書には地方公共団体コード（--lg-code）が必要です")
            lg_code = check_municipal_code(lg_code, self.prefecture)
        elif lg_code is not None:
            raise ValueError(f"地方公共団体コードは市町村CSの証明書だけに入ります（役割 {role.value}）")
        if role is PeerRole.LINE_AGENT:
            if requester is None or not _REQUESTER_RE.fullmatch(requester):
                raise ValueError("回線連携の証明書には依頼元コード（--requester、英小文字・数字）が必要です")
        elif requester is not None:
            raise ValueError(f"依頼元コードは回線連携の証明書だけに入ります（役割 {role.value}）")
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        try:
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        except ValueError as exc:
            raise ValueError(f"IPアドレスが不正です: {exc}") from None
        if role.is_server and not sans:
            sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]

        with self._locked():
            ca_cert, ca_key = self._load_ca()
            index = self._read_index()
            for entry in index["certs"]:
                if entry["name"] == name and entry["status"] == "valid":
                    raise PkiError(f"名前 {name} の有効な証明書が既にあります（先に失効させてください）")
            attrs = [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
            if lg_code is not None:
                attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, lg_code))
            if requester is not None:
                attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, requester))
            key = ec.generate_private_key(ec.SECP256R1())
            now = _now()
            not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
            serial = x509.random_serial_number()
            usages = []
            if role.is_server:
                usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
            if role.is_client:
                usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
            builder = (
                x509.CertificateBuilder()
                .subject_name(x509.Name(attrs))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(now - _CLOCK_SKEW)
                .not_valid_after(not_after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
                )
            )
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            cert = builder.sign(ca_key, hashes.SHA256())
            key_path, cert_path = self.key_path(name), self.cert_path(name)
            key_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _write_file(key_path, key_pem, 0o600)
            _write_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            index["certs"].append(
                {
                    "serial": serial,
                    "name": name,
                    "role": role.value,
                    "lg_code": lg_code,
                    "requester": requester,
                    "not_after": _iso(not_after),
                    "status": "valid",
                    "revoked_at": None,
                    "reason": None,
                }
            )
            self._write_index(index)
        return IssuedCert(serial=serial, cert_path=cert_path, key_path=key_path)

    def revoke(self, name_or_serial: str | int, reason: str = "unspecified") -> dict[str, Any]:
        """Mark a certificate revoked in the index (by name → its valid certificate, or by serial).

        Takes effect at the next ``publish_crl`` (and servers reloading it). Returns the index entry.
        """
        flag = _reason_flag(reason)
        with self._locked():
            index = self._read_index()
            entry = _find(index["certs"], name_or_serial)
            if entry["status"] == "revoked":
                raise PkiError(f"証明書 {entry['name']} (serial {entry['serial']}) は既に失効しています")
            entry["status"] = "revoked"
            entry["revoked_at"] = _iso(_now())
            entry["reason"] = flag.value
            self._write_index(index)
            return dict(entry)

    def publish_crl(self, days: int = 7) -> Path:
        """Write crl.pem, signed by the CA, listing every revoked serial (also when there is none)."""
        if days < 1:
            raise ValueError("有効日数は1以上です")
        with self._locked():
            index = self._read_index()
            path = self._publish_crl_locked(index, days=days)
            self._write_index(index)
            return path

    def crl_next_update(self) -> datetime | None:
        """When the published CRL stops being valid (its nextUpdate); None when there is no readable CRL."""
        return crl_next_update(self.crl_path)

    def renew_crl(self, before_days: float, days: int = 7) -> Path | None:
        """Publish a new CRL when the current one expires within ``before_days`` (or is missing/unreadable).

        Idempotent, for a daily job: otherwise nothing is written and None is returned. A CRL past its
        nextUpdate makes every client handshake fail, so the job must run well within ``days``.
        """
        if days < 1:
            raise ValueError("有効日数は1以上です")
        if before_days < 0 or before_days >= days:
            raise ValueError(f"更新の前倒し日数は 0 以上、CRL の有効日数（{days}）未満です: {before_days}")
        with self._locked():
            next_update = crl_next_update(self.crl_path)
            if next_update is not None and next_update - _now() > timedelta(days=before_days):
                return None
            index = self._read_index()
            path = self._publish_crl_locked(index, days=days)
            self._write_index(index)
            return path

    def _publish_crl_locked(self, index: dict[str, Any], *, days: int) -> Path:
        ca_cert, ca_key = self._load_ca()
        now = _now()
        index["crl_number"] = int(index.get("crl_number", 0)) + 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - _CLOCK_SKEW)
            .next_update(now + timedelta(days=days))
            .add_extension(x509.CRLNumber(index["crl_number"]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        for entry in index["certs"]:
            if entry["status"] != "revoked":
                continue
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(entry["serial"]))
                .revocation_date(_parse_iso(entry["revoked_at"]))
            )
            flag = _reason_flag(entry.get("reason") or "unspecified")
            if flag is not x509.ReasonFlags.unspecified:  # RFC 5280 §5.3.1: omit rather than unspecified
                revoked = revoked.add_extension(x509.CRLReason(flag), critical=False)
            builder = builder.add_revoked_certificate(revoked.build())
        crl = builder.sign(ca_key, hashes.SHA256())
        _write_file(self.crl_path, crl.public_bytes(serialization.Encoding.PEM), 0o644)
        return self.crl_path

    def document_signer(self, name: str = DOCUMENT_SIGNER_NAME, *, days: int = 825) -> IssuedCert:
        """The prefecture's document-signing certificate and key (PAdES on forms), issued on first use.

        Not a peer of the network: its subject OU is ``document_signer`` (no :class:`PeerRole`, so
        ``peer_identity`` refuses it), and it has neither serverAuth nor clientAuth — only
        digitalSignature + nonRepudiation and the documentSigning purpose (RFC 9336), so no TLS server
        accepts it and a leaked TLS key cannot sign a form. A revoked or expired one is replaced.
        """
        name = _check_name(name)
        with self._locked():
            for entry in reversed(self._read_index()["certs"]):
                if (
                    entry["name"] == name
                    and entry["status"] == "valid"
                    and _parse_iso(entry["not_after"]) > _now() + _CLOCK_SKEW
                    and self.cert_path(name).exists()
                ):
                    return IssuedCert(int(entry["serial"]), self.cert_path(name), self.key_path(name))
            ca_cert, ca_key = self._load_ca()
            index = self._read_index()
            for entry in index["certs"]:
                if entry["name"] == name and entry["status"] == "valid":
                    entry["status"] = "revoked"  # superseded (expired or its files were lost)
                    entry["revoked_at"] = _iso(_now())
                    entry["reason"] = x509.ReasonFlags.superseded.value
            key = ec.generate_private_key(ec.SECP256R1())
            now = _now()
            not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
            serial = x509.random_serial_number()
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DOCUMENT_SIGNER_OU),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(now - _CLOCK_SKEW)
                .not_valid_after(not_after)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=True,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(x509.ExtendedKeyUsage([_DOCUMENT_SIGNING_EKU]), critical=False)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
                )
                .sign(ca_key, hashes.SHA256())
            )
            key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _write_file(self.key_path(name), key_pem, 0o600)
            _write_file(self.cert_path(name), cert.public_bytes(serialization.Encoding.PEM), 0o644)
            index["certs"].append(
                {
                    "serial": serial,
                    "name": name,
                    "role": DOCUMENT_SIGNER_OU,
                    "lg_code": None,
                    "not_after": _iso(not_after),
                    "status": "valid",
                    "revoked_at": None,
                    "reason": None,
                }
            )
            self._write_index(index)
        return IssuedCert(serial=serial, cert_path=self.cert_path(name), key_path=self.key_path(name))

    def list(self) -> list[dict[str, Any]]:
        """Every certificate issued, oldest first; status valid, revoked or expired."""
        now = _now()
        out = []
        for entry in self._read_index()["certs"]:
            row = dict(entry)
            if row["status"] == "valid" and _parse_iso(row["not_after"]) < now:
                row["status"] = "expired"
            out.append(row)
        return out


def crl_next_update(path: Path) -> datetime | None:
    """The nextUpdate of the CRL in ``path``; None when the file is missing, unreadable or has none."""
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError):
        return None
    return crl.next_update_utc


def _check_role(role: PeerRole | str) -> PeerRole:
    try:
        return PeerRole(role)
    except ValueError:
        choices = ", ".join(r.value for r in PeerRole)
        raise ValueError(f"役割 {role!r} はありません（{choices}）") from None


def _check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"名前 {name!r} は使えません（英数字で始まる英数字・. _ - の64文字以内。ファイル名になります）"
        )
    return name


def _find(entries: list[dict[str, Any]], name_or_serial: str | int) -> dict[str, Any]:
    """By serial (an int), else the valid certificate of that name, else a serial written in digits."""
    if isinstance(name_or_serial, str):
        named = [e for e in entries if e["name"] == name_or_serial]
        if named:
            valid = [e for e in named if e["status"] == "valid"]
            return (valid or named)[-1]
        text = name_or_serial.strip().lower()
        try:
            serial = int(text, 16) if text.startswith("0x") else int(text)
        except ValueError:
            raise PkiError(f"証明書 {name_or_serial!r} は発行されていません") from None
    else:
        serial = name_or_serial
    for entry in entries:
        if int(entry["serial"]) == serial:
            return entry
    raise PkiError(f"証明書 {name_or_serial!r} は発行されていません")


# ------------------------------------------------------------------------------------- TLS contexts


def server_context(cert: Path, key: Path, ca: Path, crl: Path | None) -> ssl.SSLContext:
    """A TLS ≥ 1.2 server context that requires a client certificate issued by ``ca``.

    With ``crl`` the CRL is loaded and checked for the client's certificate
    (``VERIFY_CRL_CHECK_LEAF``): without one a revoked certificate would still be accepted.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    ctx.load_verify_locations(cafile=ca)
    if crl is not None:
        ctx.load_verify_locations(cafile=crl)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


class ReloadingServerContext:
    """A server's TLS context that follows the PKI files while the server runs (hardening item 5).

    An ``ssl.SSLContext`` cannot drop a CRL once loaded, so this object builds a fresh
    :func:`server_context` whenever the CRL (or the certificate, key or CA file) changes on disk, and
    hands out the current one with :meth:`current` — the TLS server asks for it on every new
    connection. The files are looked at no more often than every ``reload_seconds``
    (``JUKI_CRL_RELOAD_SECONDS``): a certificate revoked and published is refused by new connections
    within that many seconds, without a restart. A CRL that cannot be loaded keeps the previous context
    (its revocations still hold) and is logged; a CRL past its nextUpdate is logged as an error, since
    every client handshake then fails until a new one is published (``juki pki crl --renew-before``).
    """

    def __init__(
        self, cert: Path, key: Path, ca: Path, crl: Path | None, *, reload_seconds: float = 30.0
    ) -> None:
        if reload_seconds < 0:
            raise ValueError(f"CRL の再読込間隔は 0 秒以上です: {reload_seconds}")
        self.cert, self.key, self.ca, self.crl = cert, key, ca, crl
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._files = self._stat()
        self._context = server_context(cert, key, ca, crl)
        self._checked = time.monotonic()
        self._warned_expired: tuple[object, ...] | None = None
        self._check_crl_expiry()

    def _stat(self) -> tuple[object, ...]:
        """What identifies the files' current contents: (inode, size, mtime) of each, None if missing."""
        out: list[object] = []
        for path in (self.cert, self.key, self.ca, self.crl):
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            out.append(None if st is None else (st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def current(self) -> ssl.SSLContext:
        """The context for a new connection, rebuilt first when the files changed since the last look."""
        now = time.monotonic()
        if now - self._checked < self.reload_seconds:
            return self._context
        with self._lock:
            if now - self._checked >= self.reload_seconds:
                self._checked = now
                files = self._stat()
                if files != self._files:
                    self._reload(files)
                self._check_crl_expiry()
            return self._context

    def _reload(self, files: tuple[object, ...]) -> None:
        try:
            context = server_context(self.cert, self.key, self.ca, self.crl)
        except (OSError, ssl.SSLError, ValueError) as exc:
            # Keep the previous context: the revocations it knows still hold. Try again next time.
            _log.error("TLS: 証明書・CRL を読み直せません（前の設定のまま）: %s", exc)
            return
        self._context, self._files = context, files
        _log.info("TLS: 証明書・CRL の変更を読み込みました（CRL %s）", self.crl)

    def _check_crl_expiry(self) -> None:
        if self.crl is None or self._warned_expired == self._files:
            return
        next_update = crl_next_update(self.crl)
        if next_update is not None and next_update <= _now():
            self._warned_expired = self._files
            _log.error(
                "TLS: CRL %s の有効期限（%s）が過ぎています。クライアントの接続はすべて拒否されます"
                "（`juki pki crl` で発行し直してください）",
                self.crl,
                _iso(next_update),
            )


def client_context(cert: Path, key: Path, ca: Path, crl: Path | None = None) -> ssl.SSLContext:
    """A TLS ≥ 1.2 client context presenting ``cert`` and verifying the server (and its name) against ``ca``.

    With ``crl`` a revoked server certificate is refused too.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    ctx.load_verify_locations(cafile=ca)
    if crl is not None:
        ctx.load_verify_locations(cafile=crl)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


class ServerRoleRefused(PermissionError):
    """The server's certificate does not name the role this client must talk to (E_SERVER_ROLE)."""

    code = "E_SERVER_ROLE"


class ServerRoleCheck:
    """httpx trace hook: after the TLS handshake, refuse a server whose certificate names another role.

    Runs before the request is written, so a wrong party never receives a byte of it (S-42). Use it on
    any request: ``client.post(…, extensions={"trace": ServerRoleCheck(PeerRole.NATIONAL, "全国サーバ")})``;
    it closes the connection and raises :class:`ServerRoleRefused`.
    """

    def __init__(self, expected: PeerRole, label: str) -> None:
        self.expected = expected
        self.label = label

    def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event != "connection.start_tls.complete":
            return
        stream = info.get("return_value")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        # httpcore hands out the socket's low-level SSL object (``_ssl._SSLSocket``) or an ``SSLObject``;
        # both take the DER flag positionally.
        getpeercert = getattr(ssl_object, "getpeercert", None)
        der = getpeercert(True) if callable(getpeercert) else None
        problem: str | None = None
        if not der:
            problem = "サーバの証明書を確認できません"
        else:
            try:
                role = peer_identity(der).role
            except ValueError as exc:
                problem = str(exc)
            else:
                if role is not self.expected:
                    problem = f"接続先の証明書の役割が {role.value} です（{self.label}ではありません）"
        if problem is not None:
            if stream is not None:
                stream.close()
            raise ServerRoleRefused(problem)
