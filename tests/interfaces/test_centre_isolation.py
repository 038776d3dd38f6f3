"""Issue 14 — the consolidation centre: two prefectures side by side, each one apart (ARCHITECTURE §5).

A centre of prefectures 14 and 22 is made by the real command (`juki centre init`): two embedded
clusters with their own passwords, two CAs, two intakes and two pairs of national simulators (each
prefecture's network, `local_network`), two terminal UIs over HTTPS. The security model's promises
for a centre, each checked from the attacker's side:

- one prefecture's database login roles and passwords open nothing in the other's cluster;
- a 市町村CS of one prefecture cannot submit to the other (refused at the TLS handshake, or with
  E_PEER_PREFECTURE when a CA issued a certificate for another prefecture's municipality — S-42);
- each prefecture's relay forwards its own outbox with its own certificate, to its own national peer;
- an operator of one prefecture cannot sign in at the other and its session cookie is refused there
  (S-02);
- nothing done in one prefecture changes a row of the other's database.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from typer.testing import CliRunner

from juki.centre_config import PrefectureInstance, load_centre
from juki.config import Settings
from juki.domain.peers import PeerRole
from juki.interfaces.cli import app as cli_app
from juki.interfaces.terminal import create_terminal_app
from juki.interfaces.terminal.security import SESSION_COOKIE, TERMINAL_COOKIE
from juki.interfaces.terminal.tls import ensure_terminal_certificate, terminal_server_context
from juki.interfaces.tls_server import RunningServer, serve_in_thread
from juki.peers.network import LocalNetwork, local_network
from juki.services.access import operators
from juki.services.access.pki import Pki, client_context
from juki.services.operations.centre import instance_settings, open_instance, stop_all
from juki.services.operations.table_hashes import table_figures
from juki.store import centre_cluster
from juki.store.db import Database, DbRole
from tests.factories import BORN, TSURUMI, born, juminhyo, notification, pref_record
from tests.interfaces.terminal_web_support import csrf_of

pytestmark = pytest.mark.slow

#: Only a signed-in page carries the sign-out form.
SIGNED_IN = 'action="/signout"'
#: 静岡市葵区, a municipality of prefecture 22, and an address in it.
AOI, AOI_ADDRESS = "221015", "静岡県静岡市葵区追手町9番6号"
PASSWORDS = {"14": "kanagawa admin password 14", "22": "shizuoka admin password 22"}


@dataclass
class Prefecture:
    instance: PrefectureInstance
    settings: Settings
    db: Database
    net: LocalNetwork
    web: RunningServer
    pki: Pki
    binding_token: str = ""  # the 代表端末's one-time binding token from the bootstrap

    @property
    def code(self) -> str:
        return self.instance.code

    def cs_client(self, lg_code: str, pki: Pki | None = None) -> httpx.Client:
        """A 市町村CS client for ``lg_code`` with a certificate of ``pki``'s CA (default: this
        prefecture's), talking to this prefecture's intake."""
        issuer = pki or self.pki
        name = f"cs-{lg_code}-{self.code}-by-{issuer.directory.parent.name}"
        if not issuer.cert_path(name).exists():
            issuer.issue(PeerRole.MUNICIPAL_CS, name, lg_code=lg_code)
        context = client_context(issuer.cert_path(name), issuer.key_path(name), issuer.ca_cert_path)
        return httpx.Client(base_url=self.net.intake.url, verify=context, timeout=30)

    def browser(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert_path))
        return httpx.Client(
            base_url=f"https://localhost:{self.web.port}", verify=context, follow_redirects=True
        )

    def inbox_rows(self) -> int:
        with self.db.connect() as conn:
            row = conn.execute("SELECT count(*) FROM pref.notification_inbox").fetchone()
        assert row is not None
        return int(row[0])

    def figures(self) -> dict[str, Any]:
        with self.db.connect() as conn:
            return table_figures(conn)


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Prefecture]]:
    directory = tmp_path_factory.mktemp("centre")
    made = CliRunner().invoke(
        cli_app, ["centre", "init", "--prefectures", "14,22", "--base-port", "57300", str(directory)]
    )
    assert made.exit_code == 0, made.output
    config = load_centre(directory)
    base = Settings(pg_binaries=os.environ.get("JUKI_PG_BINARIES", "auto"))
    sides: dict[str, Prefecture] = {}
    try:
        with contextlib.ExitStack() as stack:
            for instance in config.prefectures:
                db = open_instance(instance, base)
                settings = instance_settings(instance, base)
                pki = Pki(instance.data_dir / "pki", prefecture=instance.code)
                net = stack.enter_context(local_network(db, pki.directory, sim_prefix=f"sim{instance.code}"))
                cert, key = ensure_terminal_certificate(pki)
                web_app = create_terminal_app(db, settings)
                stack.callback(web_app.state.web.close)
                web = stack.enter_context(serve_in_thread(web_app, terminal_server_context(cert, key)))
                sides[instance.code] = Prefecture(instance, settings, db, net, web, pki)
                _bootstrap_admin(sides[instance.code])
            yield sides
    finally:
        stop_all(config, base)


def _bootstrap_admin(side: Prefecture) -> None:
    """Each prefecture has its own administrator ``admin1`` (the same login, another person, another
    password) and its own 代表端末 waiting to be bound."""
    with side.db.connect(DbRole.TERM, autocommit=True) as conn:
        boot = operators.bootstrap_first_admin(
            conn, side.settings, "admin1", display_name=f"管理者 {side.code}"
        )
        operators.enrol_password(conn, boot.enrolment_token, PASSWORDS[side.code])
    side.binding_token = boot.binding_token


def _bind_and_sign_in(side: Prefecture, browser: httpx.Client, login: str, password: str) -> httpx.Response:
    token = side.binding_token
    page = browser.get(f"/terminal/bind/{token}")
    if page.status_code == 200:
        browser.post(f"/terminal/bind/{token}", data={"csrf_token": csrf_of(page.text)})
    form = browser.get("/signin")
    assert form.status_code == 200, form.text
    return browser.post(
        "/signin", data={"csrf_token": csrf_of(form.text), "login": login, "password": password}
    )


def _born_in_aoi(n: int) -> dict[str, Any]:
    """Person n's 出生 notification from 静岡市葵区 (the factories' addresses are Kanagawa's)."""
    record = {**pref_record(n), "municipality_code": AOI, "address": AOI_ADDRESS, "birth_date": BORN}
    return notification("pref", "birth", juminhyo(n), municipality=AOI, record=record, change_date=BORN)


def _post(client: httpx.Client, *items: dict[str, Any]) -> httpx.Response:
    body = b"\n".join(orjson.dumps(item) for item in items)
    return client.post(
        "/cs/v1/pref/notifications", content=body, headers={"content-type": "application/x-ndjson"}
    )


# --- database ------------------------------------------------------------------------------------------


def test_issue14_login_roles_of_one_prefecture_cannot_connect_to_the_other(
    centre: dict[str, Prefecture],
) -> None:
    """Least privilege across prefectures: the roles have the same names in both clusters (the migrations
    name them), so only the per-prefecture passwords keep them apart — A's open nothing at B."""
    a, b = centre["14"].instance.data_dir, centre["22"].instance.data_dir
    for role in centre_cluster.LOGIN_ROLES:
        for own, other in ((a, b), (b, a)):
            with psycopg.connect(centre_cluster.conninfo(own, user=role)) as conn:
                assert conn.execute("SELECT current_user").fetchone() == (role,)
            foreign = centre_cluster.conninfo(other, user=role).replace(
                str(centre_cluster.password_file(other)), str(centre_cluster.password_file(own))
            )
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(foreign).close()
            bare = centre_cluster.conninfo(other, user=role).replace(
                str(centre_cluster.password_file(other)), "/nonexistent"
            )
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(bare).close()
    assert centre_cluster.password_file(a).stat().st_mode & 0o077 == 0


# --- intake --------------------------------------------------------------------------------------------


def test_issue14_S42_a_municipal_cs_of_one_prefecture_cannot_submit_to_the_other(
    centre: dict[str, Prefecture],
) -> None:
    """S-42 per prefecture: each intake trusts only its own prefecture's CA, and refuses a certificate
    of its own CA that names another prefecture's municipality (E_PEER_PREFECTURE)."""
    kanagawa, shizuoka = centre["14"], centre["22"]
    # Prefecture 22's CA (its key and files) made to issue for a Kanagawa municipality: a misissuing
    # or compromised CA, which `Pki` itself refuses for a CA of 22 (its codes are 静岡県's).
    rogue_22 = Pki(shizuoka.pki.directory, prefecture="14")
    with pytest.raises(ValueError, match="静岡県"):
        shizuoka.pki.issue(PeerRole.MUNICIPAL_CS, "cs-141011-refused", lg_code=TSURUMI)
    before = {code: side.inbox_rows() for code, side in centre.items()}
    # The control: 鶴見区's CS, certificate from Kanagawa's CA, at Kanagawa's intake.
    with kanagawa.cs_client(TSURUMI) as own:
        accepted = _post(own, born(14_001))
    assert accepted.status_code == 200 and accepted.json()["summary"]["accepted"] == 1, accepted.text
    # The same CS at prefecture 22's intake: its CA is not trusted there, refused at the handshake.
    with shizuoka.cs_client(TSURUMI, pki=kanagawa.pki) as wrong_prefecture, pytest.raises(httpx.ConnectError):
        _post(wrong_prefecture, born(14_002))
    # Prefecture 22's CA issues a certificate claiming 鶴見区 (a Kanagawa municipality):
    # at Kanagawa's intake it is refused at the handshake (another prefecture's CA) …
    with kanagawa.cs_client(TSURUMI, pki=rogue_22) as forged, pytest.raises(httpx.ConnectError):
        _post(forged, born(14_003))
    # … and at prefecture 22's own intake the municipality is not its own: E_PEER_PREFECTURE, on
    # every endpoint a 市町村CS uses.
    with shizuoka.cs_client(TSURUMI, pki=rogue_22) as misissued:
        refused = _post(misissued, born(14_004))
        reconcile = misissued.post(
            "/cs/v1/pref/reconciliation", content=b"juminhyo_code\n", headers={"content-type": "text/csv"}
        )
        inquiries = misissued.get("/cs/v1/pref/inquiries")
    for response in (refused, reconcile, inquiries):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "E_PEER_PREFECTURE"
        assert "他" in response.json()["message"] or "都道府県" in response.json()["message"]
    assert TSURUMI in refused.json()["message"] and "22" in refused.json()["message"]
    # 葵区's CS with a certificate of its own prefecture's CA is taken at 22 (the refusals above were
    # about the prefecture, not a broken intake) …
    with shizuoka.cs_client(AOI) as aoi:
        taken = _post(aoi, _born_in_aoi(22_001))
    assert taken.status_code == 200 and taken.json()["summary"]["accepted"] == 1, taken.text
    # … and refused at 14's intake at the handshake.
    with kanagawa.cs_client(AOI, pki=shizuoka.pki) as aoi_at_14, pytest.raises(httpx.ConnectError):
        _post(aoi_at_14, _born_in_aoi(22_002))
    after = {code: side.inbox_rows() for code, side in centre.items()}
    assert after == {"14": before["14"] + 1, "22": before["22"] + 1}


def test_issue14_each_relay_forwards_its_own_outbox_with_its_own_certificate(
    centre: dict[str, Prefecture],
) -> None:
    """The relay routes by prefecture: A's outbox goes to A's national peer with A's certificate;
    A's certificate does not even open a connection to B's national peer."""
    kanagawa, shizuoka = centre["14"], centre["22"]
    ours, theirs = juminhyo(14_101), juminhyo(22_101)
    with kanagawa.cs_client(TSURUMI) as own:
        assert _post(own, born(14_101)).json()["summary"]["accepted"] == 1
    with shizuoka.cs_client(AOI) as aoi:
        assert _post(aoi, _born_in_aoi(22_101)).json()["summary"]["accepted"] == 1
    for side in (kanagawa, shizuoka):
        reports = side.net.drain()
        assert reports["pref"].dead == 0 and reports["pref"].sent >= 1
    assert ours in kanagawa.net.national.copy() and theirs not in kanagawa.net.national.copy()
    assert theirs in shizuoka.net.national.copy() and ours not in shizuoka.net.national.copy()
    a_cert = kanagawa.pki.cert_path("pref-server")
    context = client_context(a_cert, kanagawa.pki.key_path("pref-server"), kanagawa.pki.ca_cert_path)
    with httpx.Client(verify=context, timeout=10) as client, pytest.raises(httpx.ConnectError):
        client.get(shizuoka.net.national_url)


# --- terminals -----------------------------------------------------------------------------------------


def test_issue14_S02_an_operator_of_one_prefecture_cannot_sign_in_at_the_other_nor_use_its_session(
    centre: dict[str, Prefecture],
) -> None:
    """S-02 across prefectures: A's admin1 with A's password is refused at B (B's admin1 is another
    operator), A's session and terminal cookies mean nothing at B."""
    kanagawa, shizuoka = centre["14"], centre["22"]
    with kanagawa.browser() as at_a, shizuoka.browser() as at_b:
        signed = _bind_and_sign_in(kanagawa, at_a, "admin1", PASSWORDS["14"])
        assert signed.status_code == 200 and SIGNED_IN in signed.text, signed.text
        assert "都道府県サーバ端末（神奈川県）" in signed.text  # each terminal names its prefecture
        a_session, a_terminal = at_a.cookies[SESSION_COOKIE], at_a.cookies[TERMINAL_COOKIE]
        refused = _bind_and_sign_in(shizuoka, at_b, "admin1", PASSWORDS["14"])
        assert refused.status_code == 401 and "T_AUTH_FAILED" in refused.text
        assert SESSION_COOKIE not in at_b.cookies
        # A's session secret at B (B's own terminal cookie kept): B has no such session.
        at_b.cookies.set(SESSION_COOKIE, a_session, domain="localhost")
        home = at_b.get("/audit")
        assert SIGNED_IN not in home.text and "管理者 14" not in home.text, home.text
        # A's terminal cookie at B: an unknown terminal.
        at_b.cookies.clear()
        at_b.cookies.set(TERMINAL_COOKIE, a_terminal, domain="localhost")
        at_b.cookies.set(SESSION_COOKIE, a_session, domain="localhost")
        unknown = at_b.get("/signin")
        assert unknown.status_code == 403 and "T_TERMINAL_UNKNOWN" in unknown.text
        # B's own administrator with B's password signs in (the refusals above were not a broken B).
        at_b.cookies.clear()
        at_b2 = shizuoka.browser()
        with at_b2:
            token = _new_binding(shizuoka)
            page = at_b2.get(f"/terminal/bind/{token}")
            at_b2.post(f"/terminal/bind/{token}", data={"csrf_token": csrf_of(page.text)})
            form = at_b2.get("/signin")
            ok = at_b2.post(
                "/signin",
                data={"csrf_token": csrf_of(form.text), "login": "admin1", "password": PASSWORDS["22"]},
            )
            assert (
                ok.status_code == 200 and SIGNED_IN in ok.text and "都道府県サーバ端末（静岡県）" in ok.text
            )


def _new_binding(side: Prefecture) -> str:
    from juki.services.access.terminals import issue_binding_token

    with side.db.connect(DbRole.TERM, autocommit=True) as conn:
        return issue_binding_token(conn, side.settings, "代表端末", by=None)


# --- nothing crosses -----------------------------------------------------------------------------------


def test_issue14_nothing_done_in_one_prefecture_changes_the_other(centre: dict[str, Prefecture]) -> None:
    """B's every table (rows and content hash) is the same after A accepted, relayed and signed in."""
    kanagawa, shizuoka = centre["14"], centre["22"]
    b_before, a_before = shizuoka.figures(), kanagawa.figures()
    with kanagawa.cs_client(TSURUMI) as own:
        assert _post(own, born(14_201), born(14_202)).json()["summary"]["accepted"] == 2
    kanagawa.net.drain()
    with kanagawa.browser() as at_a:
        token = _new_binding(kanagawa)
        page = at_a.get(f"/terminal/bind/{token}")
        at_a.post(f"/terminal/bind/{token}", data={"csrf_token": csrf_of(page.text)})
        form = at_a.get("/signin")
        at_a.post(
            "/signin", data={"csrf_token": csrf_of(form.text), "login": "admin1", "password": PASSWORDS["14"]}
        )
    a_after = kanagawa.figures()
    assert a_after != a_before  # A did change: the comparison below is not vacuous
    changed = [t for t in a_after if a_after[t] != a_before.get(t)]
    assert "pref.identity_current" in changed and "audit.op_log" in changed, changed
    assert shizuoka.figures() == b_before


def test_issue14_each_prefecture_has_its_own_ca_and_settings(centre: dict[str, Prefecture]) -> None:
    """Own PKI (the CA names the prefecture), own data directory, own prefecture setting."""
    kanagawa, shizuoka = centre["14"], centre["22"]
    assert kanagawa.pki.ca_cert_path.read_bytes() != shizuoka.pki.ca_cert_path.read_bytes()
    assert "CA 14 神奈川県" in _subject(kanagawa.pki.ca_cert_path)
    assert "CA 22 静岡県" in _subject(shizuoka.pki.ca_cert_path)
    assert (kanagawa.settings.prefecture, shizuoka.settings.prefecture) == ("14", "22")
    assert kanagawa.settings.data_dir != shizuoka.settings.data_dir
    assert replace(kanagawa.settings, prefecture="22").pki_directory != shizuoka.settings.pki_directory


def _subject(path: Path) -> str:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes()).subject.rfc4514_string()


def test_issue14_each_prefecture_has_its_own_operation_log_and_checkpoints(
    centre: dict[str, Prefecture],
) -> None:
    """Own log, own signing key, own checkpoint file: each verifies with its own, and A's checkpoint
    does not vouch for B's log (it names another root and another key)."""
    from juki.services.audit.checkpoints import CHECKPOINT_FILE, audit_dir, create_checkpoint
    from juki.services.audit.verify import verify

    dirs = {}
    for code, side in centre.items():
        keydir = outdir = audit_dir(side.settings)
        with side.db.connect() as conn:
            create_checkpoint(conn, keydir, outdir)
            assert verify(conn, keydir, outdir / CHECKPOINT_FILE).ok
        dirs[code] = keydir
    assert dirs["14"] != dirs["22"] and dirs["14"].is_relative_to(centre["14"].instance.data_dir)
    with centre["22"].db.connect() as conn:
        crossed = verify(conn, dirs["14"], dirs["14"] / CHECKPOINT_FILE)
    assert not crossed.ok, crossed.to_dict()
