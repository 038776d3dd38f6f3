"""Hardening 6: the terminal UI's web server has a certificate of its own role (terminal_web, serverAuth
only), and no machine of the network accepts it as a client: the intake API, the reconciliation API, the
全国サーバ and the 附票全国サーバ simulators all refuse it at the handshake (logged with the reason). The
old terminal-web certificate (a 都道府県サーバ identity, with which the 全国サーバ answered a query by
個人番号) is revoked when `ensure_terminal_certificate` replaces it."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import httpx
import pytest

from juki.domain.peers import PeerRole
from juki.interfaces.terminal.tls import ensure_terminal_certificate
from juki.peers.network import ensure_pki, local_network
from juki.services.access.pki import client_context
from juki.store.db import Database
from tests.factories import my_number


def _client(cert: Path, key: Path, ca: Path) -> httpx.Client:
    return httpx.Client(verify=client_context(cert, key, ca), timeout=10, trust_env=False)


def test_hardening_6_S41_no_peer_accepts_the_terminal_web_certificate_as_a_client(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="juki.tls")
    pki_dir = tmp_path / "pki"
    pki = ensure_pki(pki_dir, "14")
    # A data directory from before: terminal-web is a pref_server certificate with clientAuth.
    pki.issue(PeerRole.PREF_SERVER, "terminal-web", dns_names=["localhost"])
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    old_cert = Path(shutil.copy(pki.cert_path("terminal-web"), legacy / "old.crt"))
    old_key = Path(shutil.copy(pki.key_path("terminal-web"), legacy / "old.key"))
    query = {"by": "my_number", "my_number": my_number(1)}
    with local_network(db, pki_dir, sim_prefix=f"i9_{tmp_path.name[-12:]}") as net:
        with _client(old_cert, old_key, pki.ca_cert_path) as old:
            answered = old.post(f"{net.national_url}/jlis/v1/query", json=query)
        assert answered.status_code != 403, answered.text  # the hole: the national server served it

    cert, key = ensure_terminal_certificate(pki, host_names=["localhost"])
    caplog.clear()
    with local_network(db, pki_dir, sim_prefix=f"i9_{tmp_path.name[-12:]}") as net:
        targets = {
            "intake": ("POST", f"{net.intake.url}/cs/v1/pref/notifications"),
            "reconciliation": ("GET", f"{net.intake.url}/cs/v1/pref/reconciliation/1"),
            "national": ("POST", f"{net.national_url}/jlis/v1/query"),
            "fuhyo_national": ("POST", f"{net.fuhyo_national_url}/jlis/v1/query"),
        }
        for what, (method, url) in targets.items():
            for cert_path, key_path, reason in (
                (cert, key, "unsuitable certificate purpose"),
                (old_cert, old_key, "certificate revoked"),
            ):
                caplog.clear()
                with (
                    _client(cert_path, key_path, pki.ca_cert_path) as client,
                    pytest.raises(httpx.TransportError),
                ):
                    client.request(method, url, json=query)
                deadline = time.monotonic() + 5  # the server logs in its own thread
                while not any(reason in r.getMessage() for r in caplog.records if r.name == "juki.tls"):
                    assert time.monotonic() < deadline, (what, reason, caplog.text)
                    time.sleep(0.05)
