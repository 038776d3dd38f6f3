"""Printed forms (帳票): A4 明朝 PDFs with 外字/IVS-correct text, signed (PAdES) by the prefecture.

The one PDF module of juki. Any function that prints something for a person or an organ builds a
:class:`Form` (plain data) and calls:

* ``render_form(form) -> bytes`` — lay it out: title, issue number and date, addressee, issuing office,
  legal basis, key/value tables (:class:`KeyValueTable`), list tables with a header repeated on every
  page (:class:`ListTable`), paragraphs (:class:`Paragraph`), "1 / 3" page numbers, and a 取扱注意 box
  (``Form.handling_note``) on every page when set. Font: IPAmj明朝 (Debian ``fonts-ipamj-mincho``;
  ``JUKI_FORM_FONT`` overrides the path), so MJ characters and Moji_Joho IVS print with their own
  glyph and copy back as the stored characters (U+FA19 stays U+FA19; base + selector stays both).
* ``sign_pdf(pdf, signer, reason=…) -> bytes`` — PAdES signature with the prefecture's document-signing
  key; the reason is the configured prefecture's (``Settings.offices().signature_reason``);
  ``document_signer(pki)`` gives the :class:`DocumentSigner` of a :class:`~juki.services.access.pki.Pki`
  (the certificate is issued by the juki CA on first use).
* ``verify_pdf(pdf, trust, crl) -> SignatureStatus`` — ``.genuine`` is true only for an intact
  signature over the whole file by a certificate that chains to ``trust`` (the CA certificate) and is
  not revoked by ``crl`` (the CA's current CRL, required); ``.reason`` says in Japanese what failed.
  ``juki pki verify-pdf FILE`` does the same from the command line.

Example::

    offices = settings.offices()  # the configured prefecture's issuer and signature reason
    form = Form(title="本人確認情報開示決定通知書", issue_number="第2026-000001号",
                issued_on="令和8年12月5日", issuer=offices.issuer,
                sections=[KeyValueTable([("氏名", "\\uFA19田　太郎")])])
    signed = sign_pdf(render_form(form), document_signer(Pki()), reason=offices.signature_reason)
    assert verify_pdf(signed, Pki().ca_cert_path, Pki().crl_path).genuine

The module never decides what may be printed: the service that supplies the data checks the rights
and writes the operation log before the interface renders.
"""

from __future__ import annotations

from juki.interfaces.forms.fonts import FormFontMissing, font_path
from juki.interfaces.forms.layout import render_form
from juki.interfaces.forms.model import Form, KeyValueTable, ListTable, Paragraph, Section
from juki.interfaces.forms.signing import DocumentSigner, SignatureStatus, sign_pdf, verify_pdf
from juki.services.access.pki import Pki

__all__ = [
    "DocumentSigner",
    "Form",
    "FormFontMissing",
    "KeyValueTable",
    "ListTable",
    "Paragraph",
    "Section",
    "SignatureStatus",
    "document_signer",
    "font_path",
    "render_form",
    "sign_pdf",
    "verify_pdf",
]


def document_signer(pki: Pki) -> DocumentSigner:
    """The prefecture's document signer from the PKI (issued by the CA on first use)."""
    issued = pki.document_signer()
    return DocumentSigner(key_path=issued.key_path, cert_path=issued.cert_path, ca_cert_path=pki.ca_cert_path)
