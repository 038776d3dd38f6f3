"""PAdES signatures on forms (pyHanko), with the prefecture's document-signing key from the PKI.

A printed form leaves the office; a PDF copy may be sent on. Signing it (PAdES baseline B, the
signer's certificate embedded) lets anyone holding the juki CA certificate check that a copy is the
one the prefecture issued and was not changed afterwards: :func:`verify_pdf` answers with a
:class:`SignatureStatus` whose ``genuine`` is true only when the signature is intact, the certificate
chains to the trusted CA, is not on the CA's certificate revocation list, and the signature covers the
whole file (nothing was appended after it).

Revocation is checked against the CRL the juki PKI publishes (``Pki.crl_path``, no OCSP: the network
has none), and the CRL is required: a revoked signer fails, and so does a CRL that is missing,
not signed by the CA or past its nextUpdate — a copy is vouched for only with current revocation
information (fail closed, as the TLS servers do with the same CRL; the legacy "hard-fail" mode is
not enough: see :data:`_CRL_REQUIRED`). There is no trusted timestamp in
the signature, so the check is made at the time of verification: after a revocation (a leaked key,
say) every copy signed with that certificate fails, including those signed before it; the counter
prints a new copy with the new certificate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Final, TypeVar

from asn1crypto import crl as asn1_crl
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
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

SIGNATURE_FIELD = "PrefectureSignature"
#: The signer's certificate must be checked against a CRL, whether or not it names a distribution point
#: (the juki CA's certificates do not: the CRL is a file of the PKI directory, not a URL). pyHanko's
#: legacy "hard-fail" mode checks only certificates that declare one, so it would have let a revoked
#: signer pass. The CA is the trust root itself: nothing above it to check.
_CRL_REQUIRED: Final = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_REQUIRED,
    )
)
T = TypeVar("T")

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
    trusted: bool  # the signer's certificate chains to the trusted CA and is not revoked
    whole_file: bool  # nothing was added after the signature
    signer: str  # the certificate's subject, for the reader
    reason: str  # a Japanese sentence saying what failed, '' when genuine
    revoked: bool = False  # the signer's certificate (or its CA) is on the CRL

    @property
    def genuine(self) -> bool:
        return self.signed and self.intact and self.trusted and self.whole_file


def _outside_event_loop(work: Callable[[], T]) -> T:
    """Run pyHanko's synchronous API, which calls asyncio.run(): in a worker thread when this thread
    already runs an event loop (an async caller, Playwright's sync API in a test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


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


def sign_pdf(pdf: bytes, signer: DocumentSigner, *, reason: str) -> bytes:
    """``pdf`` with a PAdES signature of ``signer`` over the whole file. ``reason`` is the configured
    prefecture's (``Offices.signature_reason``): no default, so no form is signed in another
    prefecture's name."""
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
    out = _outside_event_loop(
        lambda: signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=False), meta, signer=simple)
    )
    signed: bytes = out.getvalue()
    return signed


def _not_genuine(reason: str, *, signed: bool = False, signer: str = "") -> SignatureStatus:
    return SignatureStatus(
        signed=signed, intact=False, trusted=False, whole_file=False, signer=signer, reason=reason
    )


def verify_pdf(pdf: bytes, trust: Path | bytes, crl: Path | bytes) -> SignatureStatus:
    """Check the form's signature against the CA certificate ``trust`` and its CRL ``crl`` (each a
    path or PEM/DER bytes; the juki PKI's ``ca_cert_path`` and ``crl_path``)."""
    try:
        root = _cert_from_bytes(trust.read_bytes() if isinstance(trust, Path) else trust)
    except Exception:
        return _not_genuine("信頼する認証局の証明書を読み込めません")
    try:
        revocation_list = _crl_from_bytes(crl.read_bytes() if isinstance(crl, Path) else crl)
    except Exception:  # no CRL, no vouching: the revocation status is unknown
        return _not_genuine("証明書失効リスト（CRL）を読み込めません。失効の確認ができないため検証できません")
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # any parse failure means: not a document we can vouch for
        return _not_genuine("PDF として読めないか、署名を取り出せません")
    if not embedded:
        return _not_genuine("署名がありません")
    sig = embedded[-1]
    try:
        status = _outside_event_loop(
            lambda: validate_pdf_signature(
                sig,
                ValidationContext(
                    trust_roots=[root],
                    crls=[revocation_list],
                    allow_fetching=False,
                    revinfo_policy=_CRL_REQUIRED,
                ),
                key_usage_settings=KeyUsageConstraints(key_usage={"digital_signature"}),
            )
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
    if status.revoked:
        reasons.append("署名者の証明書は失効しています（証明書失効リストに掲載）")
    elif not status.trusted and status.validation_path is not None:
        reasons.append(
            "署名者の証明書の失効を確認できません（証明書失効リストが古いか、認証局のものではありません）"
        )
    elif not status.trusted:
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
        revoked=status.revoked,
    )


def _crl_from_bytes(data: bytes) -> asn1_crl.CertificateList:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    revocation_list = asn1_crl.CertificateList.load(data)
    _ = revocation_list.native  # parse now: a damaged CRL fails here, not inside the validation
    return revocation_list


def _cert_from_bytes(data: bytes) -> asn1_x509.Certificate:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)
