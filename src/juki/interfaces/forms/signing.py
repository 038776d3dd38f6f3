"""PAdES signatures on forms (pyHanko), with the prefecture's document-signing key from the PKI.

A printed form leaves the office; a PDF copy may be sent on. Signing it (PAdES baseline B, the
signer's certificate embedded) lets anyone holding the juki CA certificate check that a copy is the
one the prefecture issued and was not changed afterwards: :func:`verify_pdf` answers with a
:class:`SignatureStatus` whose ``genuine`` is true only when the signature is intact, the certificate
chains to the trusted CA, and the signature covers the whole file (nothing was appended after it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

SIGNATURE_FIELD = "PrefectureSignature"

# pyHanko logs every failed path validation with a stack trace at WARNING; a forged copy is an
# expected input here, answered by SignatureStatus.reason, and logs carry no stack traces.
logging.getLogger("pyhanko").setLevel(logging.ERROR)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.ERROR)


@dataclass(frozen=True)
class DocumentSigner:
    """The signing key and certificate (PEM files) and the CA certificate that issued it."""

    key_path: Path
    cert_path: Path
    ca_cert_path: Path


@dataclass(frozen=True)
class SignatureStatus:
    """What a verification found. ``genuine`` is the one answer a reader needs."""

    signed: bool
    intact: bool  # the signed bytes are unchanged
    trusted: bool  # the signer's certificate chains to the trusted CA
    whole_file: bool  # nothing was added after the signature
    signer: str  # the certificate's subject, for the reader
    reason: str  # a Japanese sentence saying what failed, '' when genuine

    @property
    def genuine(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file


DEFAULT_REASON = "神奈川県が発行した文書であることの証明"


def _load_signer(signer: DocumentSigner) -> signers.SimpleSigner:
    key = serialization.load_pem_private_key(signer.key_path.read_bytes(), password=None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]  # pyhanko-certvalidator has no hints here
    registry.register(_cert_from_bytes(signer.ca_cert_path.read_bytes()))  # the chain goes into the CMS
    return signers.SimpleSigner(
        signing_cert=_cert_from_bytes(signer.cert_path.read_bytes()),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=registry,
    )


def sign_pdf(pdf: bytes, signer: DocumentSigner, *, reason: str = DEFAULT_REASON) -> bytes:
    """``pdf`` with a PAdES signature of ``signer`` over the whole file."""
    try:
        simple = _load_signer(signer)
    except (OSError, ValueError) as exc:
        raise SigningError("文書署名鍵を読み込めません") from exc
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        md_algorithm="sha256",
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=False), meta, signer=simple)
    signed: bytes = out.getvalue()
    return signed


def _not_genuine(reason: str, *, signed: bool = False, signer: str = "") -> SignatureStatus:
    return SignatureStatus(
        signed=signed, intact=False, trusted=False, whole_file=False, signer=signer, reason=reason
    )


def verify_pdf(pdf: bytes, trust: Path | bytes) -> SignatureStatus:
    """Check the form's signature against the CA certificate ``trust`` (a path or PEM/DER bytes)."""
    try:
        root = _cert_from_bytes(trust.read_bytes() if isinstance(trust, Path) else trust)
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # any parse failure means: not a document we can vouch for
        return _not_genuine("PDF として読めないか、署名を取り出せません")
    if not embedded:
        return _not_genuine("署名がありません")
    sig = embedded[-1]
    try:
        status = validate_pdf_signature(
            sig,
            ValidationContext(trust_roots=[root], allow_fetching=False),
            key_usage_settings=KeyUsageConstraints(key_usage={"digital_signature"}),
        )
    except (SignatureValidationError, ValueError) as exc:
        return _not_genuine(f"署名を検証できません（{type(exc).__name__}）", signed=True)
    signer = status.signing_cert.subject.human_friendly if status.signing_cert is not None else ""
    whole = sig.coverage is not None and sig.coverage.name == "ENTIRE_FILE" and len(embedded) == 1
    reasons = []
    if not status.intact:
        reasons.append("署名の後で内容が変更されています")
    elif not status.valid:
        reasons.append("署名値が正しくありません")
    if not status.trusted:
        reasons.append("署名者の証明書が信頼する認証局につながりません")
    if not whole:
        reasons.append("署名の後に内容が追加されています")
    return SignatureStatus(
        signed=True,
        intact=status.intact and status.valid,
        trusted=status.trusted,
        whole_file=whole,
        signer=signer,
        reason="、".join(reasons),
    )


def _cert_from_bytes(data: bytes) -> asn1_x509.Certificate:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)
