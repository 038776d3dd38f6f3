"""The private PKI of the juki network (juki.services.access.pki, `juki pki`), with real TLS handshakes.

Requirements: S-41 (mutual authentication with the peer computer, encrypted), S-42 (nothing is
provided to a party that fails authentication: no certificate, a certificate from another CA, or a
revoked one), S-43 (encryption to the 市町村CS), S-44 (no impersonation: the certificate names the
peer's role and, for a 市町村CS, a real 地方公共団体コード, which the server reads after the
handshake). ARCHITECTURE §5, §7.
Every key and certificate is made under tmp_path.
"""

from __future__ import annotations

import json
import queue
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from juki.interfaces.cli import app
from juki.interfaces.terminal.tls import ensure_terminal_certificate
from juki.services.access.pki import (
    IssuedCert,
    PeerIdentity,
    PeerRole,
    Pki,
    PkiError,
    authorize_peer,
    client_context,
    peer_identity,
    server_context,
)

PAYLOAD = b"juki-ok"


@dataclass
class Outcome:
    """What the server saw of one connection: the client's DER certificate, or why it was refused."""

    peer_der: bytes | None = None
    version: str | None = None
    error: BaseException | None = None


@contextmanager
def tls_server(ctx: ssl.SSLContext) -> Iterator[tuple[int, queue.Queue[Outcome]]]:
    """A tiny threaded TLS server on 127.0.0.1: sends PAYLOAD only after a successful handshake."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    outcomes: queue.Queue[Outcome] = queue.Queue()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            try:
                with ctx.wrap_socket(raw, server_side=True) as tls:
                    der = tls.getpeercert(binary_form=True)
                    tls.sendall(PAYLOAD)
                    outcomes.put(Outcome(peer_der=der, version=tls.version()))
            except (ssl.SSLError, OSError) as exc:
                outcomes.put(Outcome(error=exc))
            finally:
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, outcomes
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def attempt(port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> bytes | BaseException:
    """Connect, handshake, read what the server sends: the bytes, or the error the client saw."""
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
        ):
            return tls.recv(100)
    except (ssl.SSLError, OSError) as exc:
        return exc


def refused(port: int, outcomes: queue.Queue[Outcome], ctx: ssl.SSLContext) -> BaseException:
    """Assert the connection got nothing and the server refused it; the server's error."""
    got = attempt(port, ctx)
    assert got != PAYLOAD, "a party that failed authentication was given data"
    outcome = outcomes.get(timeout=5)
    assert outcome.error is not None and outcome.peer_der is None
    return outcome.error


def client_ctx(pki: Pki, issued: IssuedCert) -> ssl.SSLContext:
    return client_context(issued.cert_path, issued.key_path, pki.ca_cert_path)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    p = Pki(tmp_path / "pki")
    p.init()
    return p


@pytest.fixture
def server(pki: Pki) -> IssuedCert:
    return pki.issue(PeerRole.PREF_SERVER, "pref-server")


def test_s41_s43_municipal_cs_connects_over_mtls_and_server_reads_role_and_lg_code(
    pki: Pki, server: IssuedCert
) -> None:
    """S-41/S-43: mutual TLS to the 市町村CS; the server learns from the verified certificate who it is."""
    cs = pki.issue(PeerRole.MUNICIPAL_CS, "cs-141011", lg_code="141011")
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(ctx) as (port, outcomes):
        assert attempt(port, client_ctx(pki, cs)) == PAYLOAD
        outcome = outcomes.get(timeout=5)
    assert outcome.error is None and outcome.peer_der is not None
    assert outcome.version in {"TLSv1.2", "TLSv1.3"}
    identity = peer_identity(outcome.peer_der)
    assert identity == PeerIdentity(PeerRole.MUNICIPAL_CS, "cs-141011", "141011", cs.serial)
    assert authorize_peer(outcome.peer_der, {PeerRole.MUNICIPAL_CS}) == identity
    with pytest.raises(PermissionError, match="municipal_cs"):
        authorize_peer(outcome.peer_der, {PeerRole.TERMINAL})


def test_s41_server_certificate_names_its_role_and_serves_localhost(pki: Pki, server: IssuedCert) -> None:
    """S-41: a server certificate names its role, has no 地方公共団体コード, and serves localhost/127.0.0.1."""
    cert = x509.load_pem_x509_certificate(server.cert_path.read_bytes())
    assert peer_identity(cert) == PeerIdentity(PeerRole.PREF_SERVER, "pref-server", None, server.serial)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    terminal = x509.load_pem_x509_certificate(pki.issue(PeerRole.TERMINAL, "t1").cert_path.read_bytes())
    eku = terminal.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    # the client checks the server by IP too
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    cs = pki.issue(PeerRole.MUNICIPAL_CS, "cs", lg_code="141020")
    with tls_server(ctx) as (port, outcomes):
        assert attempt(port, client_ctx(pki, cs), server_hostname="127.0.0.1") == PAYLOAD
        assert outcomes.get(timeout=5).error is None


def test_s42_client_without_certificate_gets_nothing(pki: Pki, server: IssuedCert) -> None:
    """S-42: nothing is provided to a party that fails authentication (here: presents no certificate)."""
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    anonymous = ssl.create_default_context(cafile=pki.ca_cert_path)
    with tls_server(ctx) as (port, outcomes):
        error = refused(port, outcomes, anonymous)
    assert "certificate" in str(error).lower()


def test_s42_certificate_from_another_ca_gets_nothing(pki: Pki, server: IssuedCert, tmp_path: Path) -> None:
    """S-42: a well-formed juki-looking certificate signed by another CA is refused."""
    rogue = Pki(tmp_path / "rogue")
    rogue.init(common_name="juki network CA")  # same name, different key
    impostor = rogue.issue(PeerRole.MUNICIPAL_CS, "cs-141011", lg_code="141011")
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    # the impostor trusts our CA so that only the server's check can stop it
    impostor_ctx = client_context(impostor.cert_path, impostor.key_path, pki.ca_cert_path)
    with tls_server(ctx) as (port, outcomes):
        error = refused(port, outcomes, impostor_ctx)
    assert isinstance(error, ssl.SSLCertVerificationError)


def test_s42_revoked_certificate_gets_nothing_after_crl(pki: Pki, server: IssuedCert) -> None:
    """S-42: after revoke + publish_crl (and a server context with the new CRL) the revoked one is refused."""
    bad = pki.issue(PeerRole.MUNICIPAL_CS, "cs-141020", lg_code="141020")
    good = pki.issue(PeerRole.MUNICIPAL_CS, "cs-141011", lg_code="141011")
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(ctx) as (port, outcomes):
        assert attempt(port, client_ctx(pki, bad)) == PAYLOAD
        assert outcomes.get(timeout=5).error is None

    entry = pki.revoke("cs-141020", reason="keyCompromise")
    assert entry["serial"] == bad.serial and entry["status"] == "revoked"
    crl = x509.load_pem_x509_crl(pki.publish_crl().read_bytes())
    assert [r.serial_number for r in crl] == [bad.serial]
    ca_public = x509.load_pem_x509_certificate(pki.ca_cert_path.read_bytes()).public_key()
    assert isinstance(ca_public, ec.EllipticCurvePublicKey) and crl.is_signature_valid(ca_public)

    reloaded = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(reloaded) as (port, outcomes):
        error = refused(port, outcomes, client_ctx(pki, bad))
        assert isinstance(error, ssl.SSLCertVerificationError) and "revoked" in str(error)
        assert attempt(port, client_ctx(pki, good)) == PAYLOAD
        assert peer_identity(outcomes.get(timeout=5).peer_der or b"").lg_code == "141011"

    # ARCHITECTURE §7: without a CRL the revoked certificate would still get in
    no_crl = server_context(server.cert_path, server.key_path, pki.ca_cert_path, None)
    with tls_server(no_crl) as (port, outcomes):
        assert attempt(port, client_ctx(pki, bad)) == PAYLOAD
        outcomes.get(timeout=5)


def test_s42_client_refuses_wrong_server(pki: Pki, server: IssuedCert) -> None:
    """S-42 (other direction): a client-role certificate or a wrong host name does not pass as a server."""
    cs = pki.issue(PeerRole.MUNICIPAL_CS, "cs", lg_code="141011")
    terminal = pki.issue(PeerRole.TERMINAL, "terminal-1")
    as_server = server_context(terminal.cert_path, terminal.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(as_server) as (port, outcomes):
        got = attempt(port, client_ctx(pki, cs))
        assert isinstance(got, ssl.SSLCertVerificationError)
        outcomes.get(timeout=5)
    elsewhere = pki.issue(PeerRole.NATIONAL, "national", dns_names=["national.example"])
    ctx = server_context(elsewhere.cert_path, elsewhere.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(ctx) as (port, outcomes):
        got = attempt(port, client_ctx(pki, cs))
        assert isinstance(got, ssl.SSLCertVerificationError) and "mismatch" in str(got).lower()
        outcomes.get(timeout=5)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("141003", "住基の市町村ではありません"),  # 横浜市 itself, not a ward
        ("141004", "不正"),  # bad check digit
        ("140007", "住基の市町村ではありません"),  # 神奈川県
        ("131016", "住基の市町村ではありません"),  # 千代田区 (Tokyo)
        ("14101", "不正"),
    ],
    ids=["yokohama-city", "bad-check-digit", "prefecture", "tokyo-ward", "five-digits"],
)
def test_s44_municipal_certificate_needs_a_kanagawa_municipality(pki: Pki, code: str, why: str) -> None:
    """S-44: a 市町村CS certificate names a real 住基 municipality of Kanagawa (a ward, not 横浜市)."""
    with pytest.raises(ValueError, match=why):
        pki.issue(PeerRole.MUNICIPAL_CS, "cs", lg_code=code)
    assert pki.list() == []
    assert not pki.cert_path("cs").exists()


def test_s44_municipal_certificates_follow_the_configured_prefecture(tmp_path: Path) -> None:
    """S-44, issue 14: the prefecture whose municipalities a CA certifies is the setting, not code.
    A 静岡県 (22) CA issues 浜松市中央区 and refuses 鶴見区 (神奈川県) and 浜松市 itself; its default
    name says which prefecture it serves; the default CA stays 神奈川県's."""
    shizuoka = Pki(tmp_path / "pki22", prefecture="22")
    shizuoka.init()
    shizuoka.issue(PeerRole.MUNICIPAL_CS, "cs-hamamatsu-chuo", lg_code="221384")
    for code in ("141011", "221309"):
        with pytest.raises(ValueError, match="静岡県の住基の市町村ではありません"):
            shizuoka.issue(PeerRole.MUNICIPAL_CS, f"cs-{code}", lg_code=code)
    ca = x509.load_pem_x509_certificate(shizuoka.ca_cert_path.read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "juki network CA 22 静岡県"
    kanagawa = Pki(tmp_path / "pki14", prefecture="14")
    assert kanagawa.default_ca_name == "juki network CA 14 神奈川県"
    kanagawa.init()
    with pytest.raises(ValueError, match="神奈川県の住基の市町村ではありません"):
        kanagawa.issue(PeerRole.MUNICIPAL_CS, "cs-hamamatsu-chuo", lg_code="221384")


def test_s44_lg_code_only_and_always_for_municipal(pki: Pki) -> None:
    with pytest.raises(ValueError, match="--lg-code"):
        pki.issue(PeerRole.MUNICIPAL_CS, "cs")
    with pytest.raises(ValueError, match="市町村CSの証明書だけ"):
        pki.issue(PeerRole.NATIONAL, "national", lg_code="141011")
    with pytest.raises(ValueError, match="役割"):
        pki.issue("mayor", "x")
    with pytest.raises(ValueError, match="名前"):
        pki.issue(PeerRole.TERMINAL, "../escape")


def _self_signed(attrs: list[x509.NameAttribute[str]]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(attrs)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("attrs", "why"),
    [
        ([(NameOID.ORGANIZATION_NAME, "juki"), (NameOID.COMMON_NAME, "x")], "役割"),
        (
            [
                (NameOID.ORGANIZATION_NAME, "juki"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "mayor"),
                (NameOID.COMMON_NAME, "x"),
            ],
            "mayor",
        ),
        ([(NameOID.ORGANIZATIONAL_UNIT_NAME, "national"), (NameOID.COMMON_NAME, "x")], "juki"),
        (
            [
                (NameOID.ORGANIZATION_NAME, "juki"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "municipal_cs"),
                (NameOID.COMMON_NAME, "x"),
            ],
            "地方公共団体コード",
        ),
        (
            [
                (NameOID.ORGANIZATION_NAME, "juki"),
                (NameOID.ORGANIZATIONAL_UNIT_NAME, "municipal_cs"),
                (NameOID.COMMON_NAME, "x"),
                (NameOID.SERIAL_NUMBER, "141004"),
            ],
            "地方公共団体コード",
        ),
    ],
    ids=["no-role", "unknown-role", "not-juki", "municipal-without-code", "municipal-bad-code"],
)
def test_s44_certificate_without_a_juki_role_is_rejected(
    attrs: list[tuple[x509.ObjectIdentifier, str]], why: str
) -> None:
    cert = _self_signed([x509.NameAttribute(oid, value) for oid, value in attrs])
    with pytest.raises(ValueError, match=why):
        peer_identity(cert)
    with pytest.raises(ValueError, match=why):
        peer_identity(cert.public_bytes(serialization.Encoding.DER))
    with pytest.raises(PermissionError):
        authorize_peer(cert.public_bytes(serialization.Encoding.DER), set(PeerRole))
    with pytest.raises(PermissionError):
        authorize_peer(None, set(PeerRole))


def test_keys_are_private_and_init_refuses_to_overwrite(pki: Pki) -> None:
    """Keys are mode 0600; an existing CA is never replaced; the CRL exists from the start."""
    issued = pki.issue(PeerRole.FUHYO_SERVER, "fuhyo-server")
    for key in (pki.ca_key_path, issued.key_path):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    ca_before = pki.ca_cert_path.read_bytes()
    with pytest.raises(PkiError, match="既に CA"):
        pki.init()
    assert pki.ca_cert_path.read_bytes() == ca_before
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert len(crl) == 0  # published at init, empty


def test_index_list_revoke_by_serial_and_reissue(pki: Pki) -> None:
    first = pki.issue(PeerRole.NATIONAL, "national")
    with pytest.raises(PkiError, match="有効な証明書が既に"):
        pki.issue(PeerRole.NATIONAL, "national")
    pki.revoke(str(first.serial))
    with pytest.raises(PkiError, match="既に失効"):
        pki.revoke(first.serial)
    with pytest.raises(PkiError, match="発行されていません"):
        pki.revoke("nobody")
    with pytest.raises(ValueError, match="失効理由"):
        pki.revoke("national", reason="boredom")
    second = pki.issue(PeerRole.NATIONAL, "national")  # the name is free again
    rows = pki.list()
    assert [(r["serial"], r["status"]) for r in rows] == [(first.serial, "revoked"), (second.serial, "valid")]
    assert rows[0]["revoked_at"] and rows[1]["revoked_at"] is None
    assert set(rows[0]) >= {"serial", "name", "role", "lg_code", "not_after", "status", "revoked_at"}
    assert json.loads(pki.index_path.read_text())["certs"] == pki.list()
    crl = x509.load_pem_x509_crl(pki.publish_crl().read_bytes())
    assert [r.serial_number for r in crl] == [first.serial]


def test_issue_without_ca_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="juki pki init"):
        Pki(tmp_path / "none").issue(PeerRole.TERMINAL, "t")


def test_cli_pki_end_to_end(tmp_path: Path) -> None:
    """`juki pki init / issue / list --json / revoke / crl` with JUKI_DATA_DIR pointing at tmp_path."""
    runner = CliRunner()
    env = {"JUKI_DATA_DIR": str(tmp_path)}

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["pki", *args], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.stdout, result.stderr

    assert run("init")[0] == 0
    assert (tmp_path / "pki" / "ca.crt").exists() and (tmp_path / "pki" / "crl.pem").exists()
    code, _, err = run("init")
    assert code == 1 and "既に CA" in err and "Traceback" not in err

    code, out, _ = run("issue", "municipal_cs", "cs-141011", "--lg-code", "141011", "--json")
    assert code == 0
    issued = json.loads(out)
    assert issued["lg_code"] == "141011" and Path(issued["key"]).is_relative_to(tmp_path)
    code, _, _ = run("issue", "pref_server", "pref", "--dns", "pref.juki.test", "--ip", "10.0.0.5")
    assert code == 0
    cert = x509.load_pem_x509_certificate((tmp_path / "pki" / "issued" / "pref.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pref.juki.test"]

    code, _, err = run("issue", "municipal_cs", "yokohama", "--lg-code", "141003")
    assert code == 1 and "141003" in err and "Traceback" not in err
    code, _, err = run("issue", "municipal_cs", "bad", "--lg-code", "141004")
    assert code == 1 and "141004" in err
    code, _, _ = run("issue", "mayor", "x")
    assert code == 2  # not a role: a usage error

    code, out, _ = run("list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["role"], r["status"]) for r in rows] == [
        ("cs-141011", "municipal_cs", "valid"),
        ("pref", "pref_server", "valid"),
    ]
    code, _, err = run("revoke", "cs-141011")
    assert code == 0 and "CRL" in err
    assert run("crl")[0] == 0
    crl = x509.load_pem_x509_crl((tmp_path / "pki" / "crl.pem").read_bytes())
    assert [r.serial_number for r in crl] == [issued["serial"]]
    code, out, _ = run("list", "--json")
    assert [r["status"] for r in json.loads(out)] == ["revoked", "valid"]
    code, _, err = run("revoke", "cs-141011")
    assert code == 1 and "既に失効" in err
    assert run("list")[0] == 0


# ------------------------------------------------------------------ hardening 5: CRL renewal


def test_hardening_5_S41_renew_crl_publishes_only_when_the_crl_expires_within_the_margin(pki: Pki) -> None:
    """`Pki.renew_crl(before_days)` is idempotent (a daily job): a fresh CRL is left alone, one that
    expires within the margin (or is missing) is republished with the revocations."""
    first = x509.load_pem_x509_crl(pki.crl_path.read_bytes())  # from init: valid 7 days
    assert pki.renew_crl(2, days=7) is None
    assert pki.crl_path.read_bytes() == first.public_bytes(serialization.Encoding.PEM)

    bad = pki.issue(PeerRole.MUNICIPAL_CS, "cs-141020", lg_code="141020")
    pki.revoke("cs-141020")
    pki.publish_crl(days=1)  # now expiring within 2 days
    assert pki.renew_crl(2, days=7) == pki.crl_path
    renewed = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert [r.serial_number for r in renewed] == [bad.serial]
    next_update = pki.crl_next_update()
    assert next_update is not None and next_update - datetime.now(UTC) > timedelta(days=6)
    assert pki.renew_crl(2, days=7) is None  # second run the same day: nothing to do

    pki.crl_path.unlink()
    assert pki.renew_crl(2, days=7) == pki.crl_path and pki.crl_path.exists()
    with pytest.raises(ValueError, match="前倒し"):
        pki.renew_crl(7, days=7)  # would renew on every run


def test_hardening_5_S41_cli_pki_crl_renew_before(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"JUKI_DATA_DIR": str(tmp_path)}
    assert runner.invoke(app, ["pki", "init"], env=env).exit_code == 0
    crl = tmp_path / "pki" / "crl.pem"
    before = crl.read_bytes()
    result = runner.invoke(app, ["pki", "crl", "--renew-before", "2"], env=env)
    assert result.exit_code == 0 and "更新はまだ不要です" in result.stderr and crl.read_bytes() == before
    result = runner.invoke(app, ["pki", "crl", "--days", "1"], env=env)
    assert result.exit_code == 0 and "CRL を発行しました" in result.stderr
    result = runner.invoke(app, ["pki", "crl", "--renew-before", "2"], env=env)
    assert result.exit_code == 0 and "CRL を発行しました" in result.stderr
    next_update = Pki(tmp_path / "pki").crl_next_update()
    assert next_update is not None and next_update - datetime.now(UTC) > timedelta(days=6)
    result = runner.invoke(app, ["pki", "crl", "--renew-before", "9"], env=env)
    assert result.exit_code == 1 and "前倒し" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------- hardening 6: the terminal web server's certificate


def test_hardening_6_S41_terminal_web_certificate_is_a_server_certificate_only(pki: Pki) -> None:
    """The terminal UI's certificate names its own role and has serverAuth alone: no mTLS server
    accepts it as a client (OpenSSL: "unsuitable certificate purpose"), and the role is refused by
    `authorize_peer` whatever a caller lists."""
    issued = pki.issue(PeerRole.TERMINAL_WEB, "terminal-web", dns_names=["localhost"])
    cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert peer_identity(cert).role is PeerRole.TERMINAL_WEB
    with pytest.raises(PermissionError, match="terminal_web"):
        authorize_peer(cert.public_bytes(serialization.Encoding.DER), set(PeerRole))
    server = pki.issue(PeerRole.PREF_SERVER, "pref-server")
    ctx = server_context(server.cert_path, server.key_path, pki.ca_cert_path, pki.crl_path)
    with tls_server(ctx) as (port, outcomes):
        error = refused(port, outcomes, client_ctx(pki, issued))
    assert isinstance(error, ssl.SSLCertVerificationError) and "unsuitable certificate purpose" in str(error)


def test_hardening_6_S41_old_terminal_web_certificate_is_revoked_and_reissued(pki: Pki) -> None:
    """A data directory from before holds `terminal-web` as a pref_server certificate (clientAuth):
    `ensure_terminal_certificate` revokes it (in the CRL) and issues a terminal_web one in its place."""
    old = pki.issue(PeerRole.PREF_SERVER, "terminal-web", dns_names=["localhost"])
    cert, key = ensure_terminal_certificate(pki, host_names=["localhost"])
    new = x509.load_pem_x509_certificate(cert.read_bytes())
    assert peer_identity(new).role is PeerRole.TERMINAL_WEB and new.serial_number != old.serial
    assert key.exists()
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert [r.serial_number for r in crl] == [old.serial]
    assert [(r["role"], r["status"]) for r in pki.list()] == [
        ("pref_server", "revoked"),
        ("terminal_web", "valid"),
    ]
    assert ensure_terminal_certificate(pki, host_names=["localhost"]) == (cert, key)  # kept from now on
    assert x509.load_pem_x509_certificate(cert.read_bytes()).serial_number == new.serial_number


def test_terminal_certificate_follows_the_host_name_operators_type(pki: Pki) -> None:
    """Issue 10 item 12 (reaching the UI from another machine): when JUKI_WEBAUTHN_RP_ID changes from
    localhost to the server's name, the terminal certificate is reissued for that name (the old one is
    revoked as superseded), so browsers on other machines accept it."""
    cert, _ = ensure_terminal_certificate(pki, host_names=["localhost"])
    old = x509.load_pem_x509_certificate(cert.read_bytes())
    cert, _ = ensure_terminal_certificate(pki, host_names=["juki.example.lg.jp"])
    new = x509.load_pem_x509_certificate(cert.read_bytes())
    names = new.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["juki.example.lg.jp"]
    assert new.serial_number != old.serial_number
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert [r.serial_number for r in crl] == [old.serial_number]
