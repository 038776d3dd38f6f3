"""The form module (帳票): layout, 外字/IVS glyphs, text extraction, PAdES signature.

F1-3 / F2-3 print on paper (C-01); DOMAIN §6/§7 require that names are printed and copied back
exactly as stored, U+FA19 and IVS included.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from juki.interfaces.forms import (
    Form,
    KeyValueTable,
    ListTable,
    Paragraph,
    document_signer,
    render_form,
    sign_pdf,
    verify_pdf,
)
from juki.services.access.pki import Pki
from tests.interfaces.forms.pdf_support import (
    MAX_DIFFERING_SHARE,
    assert_matches_reference,
    differing_share,
    library_text,
    page_count,
    pdftotext,
    render_page,
)

#: U+FA19 (a CJK compatibility ideograph NFC would rewrite) and 葛 with a Moji_Joho IVS.
NAME = "\ufa19奈川　葛\U000e0102子"
ADDRESS = "神奈川県横浜市鶴見区鶴見中央二丁目3番4号　辻\U000e0102堂101"
#: The signature's reason: the configured prefecture's (Offices.signature_reason); the module has no default.
REASON = "神奈川県が発行した文書であることの証明"


def sample_form(rows: int = 3) -> Form:
    return Form(
        title="本人確認情報開示決定通知書",
        issue_number="第2026-000001号",
        issued_on="令和8年12月5日",
        issuer="神奈川県知事",
        recipient=NAME,
        handling_note="取扱注意",
        legal_basis="住民基本台帳法第30条の32",
        sections=(
            Paragraph("請求のあった本人確認情報を次のとおり開示します。"),
            KeyValueTable(
                (("氏名", NAME), ("生年月日", "昭和60年3月上旬"), ("住所", ADDRESS)), heading="開示する情報"
            ),
            ListTable(
                ("提供日", "提供先", "事務"),
                tuple(
                    ("令和8年12月1日", "教育委員会", f"特別支援学校への就学のため必要な経費の支弁 {i}")
                    for i in range(rows)
                ),
                heading="提供状況",
                widths=(2, 2, 5),
            ),
        ),
        closing="この通知について不明な点は、情報公開広聴課へお問い合わせください。",
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    pki = Pki(tmp_path_factory.mktemp("form-pki"))
    pki.init()
    return pki


def test_form_text_keeps_fa19_and_ivs_byte_for_byte() -> None:
    """F1-3/F2-3, DOMAIN §6: the printed name copies back exactly (pypdf), U+FA19 and the IVS kept."""
    pdf = render_form(sample_form())
    text = library_text(pdf)
    assert NAME in text
    assert ADDRESS in text
    assert NAME.encode("utf-8") in text.encode("utf-8")


def test_pdftotext_returns_the_fa19_and_ivs_sequences() -> None:
    """pdftotext (poppler) reads U+FA19 and 葛+U+E0102 back (it prints U+3000 as an ASCII space)."""
    text = pdftotext(render_form(sample_form()))
    assert "\ufa19奈川" in text
    assert "葛\U000e0102子" in text
    assert "辻\U000e0102堂" in text


def test_ivs_prints_the_variant_glyph_not_the_default() -> None:
    """DOMAIN §7: base + selector prints IPAmj明朝's variant glyph (mj025760), not the base glyph."""

    def glyph(text: str) -> bytes:
        form = Form(title=text, issue_number="1", issued_on="-", issuer="-")
        return render_page(render_form(form), dpi=150).tobytes()

    plain, variant, plain_again = glyph("辻"), glyph("辻\U000e0102"), glyph("辻")
    assert plain == plain_again  # the rendering is deterministic, so a difference is the glyph
    assert plain != variant

    def listed(text: str) -> bytes:  # list tables take their own (faster) drawing path
        form = Form(
            title="-", issue_number="1", issued_on="-", issuer="-", sections=(ListTable(("名",), ((text,),)),)
        )
        return render_page(render_form(form), dpi=150).tobytes()

    assert listed("辻") != listed("辻\U000e0102")
    form = Form(
        title="-",
        issue_number="1",
        issued_on="-",
        issuer="-",
        sections=(ListTable(("名",), (("辻\U000e0102堂",),)),),
    )
    assert "辻\U000e0102堂" in library_text(render_form(form))


def test_long_list_breaks_pages_with_numbers_and_repeated_header() -> None:
    """Page numbers "n / N" on every page, 取扱注意 on every page, the list header repeated."""
    pdf = render_form(sample_form(rows=90))
    pages = page_count(pdf)
    assert pages >= 3
    text = library_text(pdf)
    for n in range(1, pages + 1):
        assert f"{n} / {pages}" in text
    assert text.count("取扱注意") == pages
    assert text.count("提供先") == pages


def test_form_page_matches_the_approved_reference() -> None:
    """The layout as a person sees it (pdftoppm), against an approved reference image."""
    assert_matches_reference(render_page(render_form(sample_form())), "sample_form_page1")


def test_reference_comparison_notices_a_changed_name() -> None:
    """The tolerance is not so wide that a changed character passes."""
    a = render_page(render_form(sample_form()))
    changed = Form(**{**sample_form().__dict__, "recipient": "\u795e奈川　葛子"})
    b = render_page(render_form(changed))
    assert differing_share(a, b) > MAX_DIFFERING_SHARE


def test_signed_form_verifies_and_a_modified_copy_fails(pki: Pki) -> None:
    """PAdES: the signed form is genuine; a changed byte, an appended update or another CA is not."""
    signed = sign_pdf(render_form(sample_form()), document_signer(pki), reason=REASON)
    status = verify_pdf(signed, pki.ca_cert_path, pki.crl_path)
    assert status.genuine, status.reason
    assert "pref-document-signer" in status.signer

    tampered = bytearray(signed)
    at = tampered.find(b"/Title")
    tampered[at + 8] ^= 0x01
    bad = verify_pdf(bytes(tampered), pki.ca_cert_path, pki.crl_path)
    assert not bad.genuine and not bad.intact and bad.reason

    appended = verify_pdf(signed + b"\n1 0 obj\n<< >>\nendobj\n", pki.ca_cert_path, pki.crl_path)
    assert not appended.genuine

    unsigned = verify_pdf(render_form(sample_form()), pki.ca_cert_path, pki.crl_path)
    assert not unsigned.genuine and unsigned.reason == "署名がありません"


def test_signature_from_another_ca_is_not_trusted(pki: Pki, tmp_path: Path) -> None:
    other = Pki(tmp_path / "other")
    other.init()
    signed = sign_pdf(render_form(sample_form()), document_signer(other), reason=REASON)
    status = verify_pdf(signed, pki.ca_cert_path, pki.crl_path)
    assert status.intact and not status.trusted and not status.genuine


def test_F1_3_copy_signed_with_a_revoked_certificate_fails_verification(tmp_path: Path) -> None:
    """F1-3/F2-3 (a copy can be verified as genuine): once the document-signing certificate is revoked
    and the CA re-issues its CRL, a copy signed with it is no longer genuine and says why; the next
    form is signed with a new certificate and verifies."""
    pki = Pki(tmp_path / "own-pki")  # its own CA: the module's shared signer stays valid for the others
    pki.init()
    signed = sign_pdf(render_form(sample_form()), document_signer(pki), reason=REASON)
    assert verify_pdf(signed, pki.ca_cert_path, pki.crl_path).genuine
    old_serial = pki.document_signer().serial

    pki.revoke(old_serial, "key_compromise")
    still_old_crl = verify_pdf(signed, pki.ca_cert_path, pki.crl_path)
    assert still_old_crl.genuine  # the revocation takes effect with the next CRL, as for TLS
    pki.publish_crl()
    status = verify_pdf(signed, pki.ca_cert_path, pki.crl_path)
    assert not status.genuine and status.revoked and not status.trusted
    assert status.intact  # the bytes are unchanged: it is the certificate that is no longer good
    assert "失効しています" in status.reason

    renewed = sign_pdf(render_form(sample_form()), document_signer(pki), reason=REASON)
    assert pki.document_signer().serial != old_serial
    assert verify_pdf(renewed, pki.ca_cert_path, pki.crl_path).genuine


def test_F1_3_cli_verify_pdf_says_genuine_then_revoked(tmp_path: Path) -> None:
    """`juki pki verify-pdf` (F1-3: a copy can be checked): exit 0 for a genuine copy, 1 once the
    signer is revoked (`juki pki revoke` re-issues the CRL)."""
    from typer.testing import CliRunner

    from juki.interfaces.cli import app

    pki = Pki(tmp_path / "pki")
    pki.init()
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(sign_pdf(render_form(sample_form()), document_signer(pki), reason=REASON))
    runner, env = CliRunner(), {"JUKI_DATA_DIR": str(tmp_path)}
    ok = runner.invoke(app, ["pki", "verify-pdf", str(copy)], env=env)
    assert ok.exit_code == 0 and "真正です" in ok.output, ok.output
    revoked = runner.invoke(
        app, ["pki", "revoke", "pref-document-signer", "--reason", "keyCompromise"], env=env
    )
    assert revoked.exit_code == 0, revoked.output
    bad = runner.invoke(app, ["pki", "verify-pdf", str(copy)], env=env)
    assert bad.exit_code == 1 and "失効しています" in bad.output, bad.output


def test_verification_fails_closed_without_current_revocation_information(pki: Pki, tmp_path: Path) -> None:
    """No CRL, a damaged one, or one signed by another CA: the revocation status is unknown, so the
    copy is not vouched for (hard-fail, like the TLS servers with the same CRL)."""
    signed = sign_pdf(render_form(sample_form()), document_signer(pki), reason=REASON)
    missing = verify_pdf(signed, pki.ca_cert_path, tmp_path / "none.pem")
    assert not missing.genuine and "CRL" in missing.reason
    damaged = verify_pdf(
        signed, pki.ca_cert_path, b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    )
    assert not damaged.genuine and "CRL" in damaged.reason
    other = Pki(tmp_path / "other")
    other.init()
    foreign = verify_pdf(signed, pki.ca_cert_path, other.crl_path)
    assert not foreign.genuine and not foreign.trusted and not foreign.revoked
    assert "失効を確認できません" in foreign.reason


def test_document_signer_is_not_a_network_peer(pki: Pki) -> None:
    """The document-signing certificate has no TLS purpose: no peer role, no server/client auth."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from juki.services.access.pki import peer_identity

    issued = pki.document_signer()
    assert pki.document_signer().serial == issued.serial  # issued once, then reused
    cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH not in eku and ExtendedKeyUsageOID.SERVER_AUTH not in eku
    with pytest.raises(ValueError):
        peer_identity(cert)


def test_font_prototype_survives_a_document_written_without_prepare_embedding() -> None:
    """Speed (issue 12 item 8) must not cost correctness: forms share one parsed font; a document
    written straight through fpdf2 (which subsets its font in place) must not spoil later forms."""
    from fpdf import FPDF

    from juki.interfaces.forms.fonts import FONT_FAMILY, install_font

    stray = FPDF()
    install_font(stray)
    stray.add_page()
    stray.set_font(FONT_FAMILY, size=10)
    stray.cell(text="辻")
    stray.output()
    text = library_text(render_form(sample_form()))
    assert NAME in text and ADDRESS in text
