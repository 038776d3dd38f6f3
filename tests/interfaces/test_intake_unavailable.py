"""S-49: while the database is unreachable (a failover in progress, a restart) the intake answers a
clean, retryable 503 E_DB_UNAVAILABLE — never a 500 with a stack trace — and the servers' role
connections keep the multi-host URL that lets them follow the primary (issue 14 item 2)."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import pytest

from juki.domain.peers import PeerRole
from juki.interfaces.intake_api import close_pools, create_intake_app
from juki.interfaces.tls_server import serve_in_thread
from juki.services.access.pki import Pki, client_context, server_context
from juki.services.operations.ha import HaPlan
from juki.store.db import Database, DbRole
from tests.factories import TSURUMI, juminhyo, notification, pref_record


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_S49_role_connections_keep_both_hosts_and_target_session_attrs(db: Database) -> None:
    """The servers derive their role connections from JUKI_DATABASE_URL: with the HA URL each keeps
    both nodes and target_session_attrs=read-write, so a new connection finds the new primary."""
    url = HaPlan(base=Path("/nonexistent"), monitor_port=56001, node_ports=(56002, 56003)).database_url()
    assert url.startswith("postgresql://juki_admin@127.0.0.1:56002,127.0.0.1:56003/juki?")
    ha = Database(settings=replace(db.settings, database_url=url), _admin_conninfo=url)
    for role in (DbRole.PREF, DbRole.FUHYO, DbRole.TERM):
        info = ha.conninfo(role)
        assert "host=127.0.0.1,127.0.0.1" in info and "port=56002,56003" in info, info
        assert "target_session_attrs=read-write" in info and f"user={role.value}" in info


def test_S49_an_unreachable_database_is_a_retryable_503_not_a_500(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch arriving while no primary accepts connections is answered 503 with the stable code
    E_DB_UNAVAILABLE, its Japanese message and Retry-After; the log names the failure without a
    stack trace. Nothing was accepted, so the 市町村CS resends (juki.peers.municipal does)."""
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-tsurumi", lg_code=TSURUMI)
    gone = f"postgresql://juki_admin@127.0.0.1:{closed_port()}/juki?connect_timeout=1"
    down = Database(settings=replace(db.settings, database_url=gone), _admin_conninfo=gone)
    app = create_intake_app(down)
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    item = notification("pref", "birth", juminhyo(7), record=pref_record(7), change_date="2026-09-01")
    client_ctx = client_context(pki.cert_path("cs-tsurumi"), pki.key_path("cs-tsurumi"), pki.ca_cert_path)
    try:
        with (
            caplog.at_level(logging.WARNING),
            serve_in_thread(app, context) as server,
            httpx.Client(base_url=server.url, verify=client_ctx, timeout=30) as client,
        ):
            answer = client.post(
                "/cs/v1/pref/notifications",
                content=orjson.dumps(item),
                headers={"content-type": "application/x-ndjson"},
            )
    finally:
        close_pools(app)
    assert answer.status_code == 503, answer.text
    assert answer.json() == {
        "code": "E_DB_UNAVAILABLE",
        "message": "データベースに一時的に接続できません（切替中など）。同じ内容で再送してください",
    }
    assert answer.headers["retry-after"] == "1"
    logged = [r for r in caplog.records if r.name == "juki.intake"]
    assert logged and all(r.exc_info is None for r in logged)
    assert "E_DB_UNAVAILABLE" in logged[0].getMessage()
    assert not any(r.exc_info for r in caplog.records), "a stack trace was logged"
