"""The municipal intake over mutual TLS (issue 3 item 2; S-38, S-40, S-42, S-43)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki.domain.peers import PeerRole
from juki.files import all_files
from juki.interfaces.intake_api import close_pools, create_intake_app, intake_pools
from juki.interfaces.tls_server import PINNED_UVICORN, RunningServer, serve_in_thread
from juki.services.access.pki import Pki, client_context, server_context
from juki.store.db import Database
from tests.factories import KAMAKURA, TSURUMI, juminhyo, notification, pref_record


@dataclass
class Net:
    pki: Pki
    server: RunningServer

    def client(self, name: str | None) -> httpx.Client:
        if name is None:  # no client certificate at all
            context = ssl.create_default_context(cafile=str(self.pki.ca_cert_path))
        else:
            context = client_context(self.pki.cert_path(name), self.pki.key_path(name), self.pki.ca_cert_path)
        return httpx.Client(base_url=self.server.url, verify=context, timeout=10)


@pytest.fixture
def net(db: Database, tmp_path: Path) -> Iterator[Net]:
    pki = Pki(tmp_path / "pki")
    pki.init()
    pki.issue(PeerRole.PREF_SERVER, "pref-server")
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-tsurumi", lg_code=TSURUMI)
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-kamakura", lg_code=KAMAKURA)
    pki.issue(PeerRole.MUNICIPAL_CS, "cs-revoked", lg_code=TSURUMI)
    pki.issue(PeerRole.TERMINAL, "terminal-1")
    pki.revoke("cs-revoked")
    pki.publish_crl()
    context = server_context(
        pki.cert_path("pref-server"), pki.key_path("pref-server"), pki.ca_cert_path, pki.crl_path
    )
    app = create_intake_app(db)
    try:
        with serve_in_thread(app, context) as server:
            yield Net(pki, server)
    finally:
        close_pools(app)


def body(*items: Any) -> bytes:
    return b"\n".join(item if isinstance(item, bytes) else orjson.dumps(item) for item in items)


def post(client: httpx.Client, data: bytes, file: str = "pref") -> httpx.Response:
    return client.post(
        f"/cs/v1/{file}/notifications", content=data, headers={"content-type": "application/x-ndjson"}
    )


def count(db: Database, sql: str) -> int:
    with db.connect() as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def test_uvicorn_is_the_pinned_version() -> None:
    """The peer-certificate protocol subclass relies on uvicorn internals (self.app per connection)."""
    import uvicorn

    assert uvicorn.__version__ == PINNED_UVICORN


def test_S43_municipal_batch_is_applied_with_per_item_results(net: Net, db: Database) -> None:
    """S-43/F1-1: a batch from 鶴見区's CS over mTLS: per-item results, committed before the answer."""
    good = notification(
        "pref", "birth", juminhyo(1), record=pref_record(1, birth_date="2026-09-01"), change_date="2026-09-01"
    )
    with net.client("cs-tsurumi") as client:
        response = post(client, body(good, b"{broken", good))
    assert response.status_code == 200, response.text
    payload = response.json()
    assert [r["status"] for r in payload["results"]] == ["accepted", "rejected", "duplicate"]
    assert payload["results"][1]["error"]["code"] == "E_JSON"
    assert payload["summary"] == {"accepted": 1, "duplicate": 1, "rejected": 1}
    assert count(db, "SELECT count(*) FROM pref.identity_current") == 1
    assert count(db, "SELECT count(*) FROM pref.notification_inbox WHERE source = 'cs:141011'") == 3


def test_S40_a_municipality_cannot_send_for_another(net: Net, db: Database) -> None:
    """S-40: 鎌倉市's certificate cannot submit a notification in 鶴見区's name (recorded, not applied)."""
    forged = notification(
        "pref", "birth", juminhyo(2), record=pref_record(2, birth_date="2026-09-01"), change_date="2026-09-01"
    )
    with net.client("cs-kamakura") as client:
        response = post(client, body(forged))
    assert response.status_code == 200
    assert response.json()["results"][0]["error"]["code"] == "E_SENDER_MISMATCH"
    assert count(db, "SELECT count(*) FROM pref.identity_current") == 0


def test_S42_unauthenticated_revoked_and_wrong_role_clients_get_nothing(net: Net, db: Database) -> None:
    """S-42: no certificate or a revoked one fails the TLS handshake; a terminal certificate is
    authenticated but has the wrong role: 403 with a JSON error. Nothing is stored in any case."""
    good = notification(
        "pref", "birth", juminhyo(3), record=pref_record(3, birth_date="2026-09-01"), change_date="2026-09-01"
    )
    for name in (None, "cs-revoked"):
        with (
            net.client(name) as client,
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
        ):
            post(client, body(good))
    with net.client("terminal-1") as client:
        response = post(client, body(good))
    assert response.status_code == 403
    assert response.json()["code"] == "E_PEER_ROLE"
    assert count(db, "SELECT count(*) FROM pref.notification_inbox") == 0


def test_malformed_batches_get_clear_errors(net: Net) -> None:
    with net.client("cs-tsurumi") as client:
        empty = post(client, b"\n\n")
        wrong_type = client.post(
            "/cs/v1/pref/notifications", content=b"{}", headers={"content-type": "application/xml"}
        )
        bad_file = post(client, b"{}", file="other")
        huge = post(client, b"x" * (17 * 1024 * 1024))
    assert (empty.status_code, empty.json()["code"]) == (400, "E_BATCH_EMPTY")
    assert (wrong_type.status_code, wrong_type.json()["code"]) == (415, "E_CONTENT_TYPE")
    assert bad_file.status_code == 422
    assert (huge.status_code, huge.json()["code"]) == (413, "E_BATCH_TOO_LARGE")


def test_openapi_describes_the_intake(net: Net) -> None:
    """The OpenAPI description is generated from the code it describes."""
    with net.client("cs-tsurumi") as client:
        spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/cs/v1/{file}/notifications"]["post"]
    assert "application/x-ndjson" in operation["requestBody"]["content"]
    assert {"200", "403", "413"} <= set(operation["responses"])


def test_a_pooled_connection_the_server_dropped_costs_no_batch(db: Database) -> None:
    """The pool checks a connection before handing it out: one whose backend was terminated (a
    PostgreSQL restart) is replaced, and the new one is the file's own role again (S-35)."""
    pools = intake_pools(db)
    try:
        for spec in all_files():
            pool = pools[spec.db_role]
            with pool.connection() as conn:
                pid = conn.info.backend_pid
            with db.connect(autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            with pool.connection() as conn:
                assert conn.info.backend_pid != pid
                assert conn.execute("SELECT current_user").fetchone() == (spec.db_role.value,)
                assert not conn.autocommit
    finally:
        for pool in pools.values():
            pool.close()


# --- hardening 1 and 2: a bad line is one rejected item, never a failed batch ----------------------

SECRET_NAME = "秘密　花子"


def _birth(n: int, **record: str) -> dict[str, Any]:
    rec = dict(pref_record(n, birth_date="2026-09-01"), **record)
    return notification("pref", "birth", juminhyo(n), record=rec, change_date="2026-09-01")


def test_hardening_1_S38_nul_and_deep_json_are_one_rejected_item_each(
    net: Net, db: Database, cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A \\u0000 in a string, or JSON nested 300 deep (orjson reads 1024 levels but writes 254), used to
    fail the whole batch with HTTP 500 and put the person's data into the logs."""
    nul = orjson.dumps(_birth(700, name_kanji=SECRET_NAME + "\u0000"))
    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    log_before = cluster.logfile.read_text(encoding="utf-8", errors="replace")
    batch = body(_birth(701), nul, deep)
    with net.client("cs-tsurumi") as client:
        for first in ("accepted", "duplicate"):  # a resend gets the same answers
            response = post(client, batch)
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert [(r["status"], (r.get("error") or {}).get("code")) for r in results] == [
                (first, None),
                ("rejected", "E_JSON_NUL"),
                ("rejected", "E_JSON_TOO_DEEP"),
            ]
    assert count(db, "SELECT count(*) FROM pref.identity_current") == 1
    with db.connect() as conn:
        kept = conn.execute(
            "SELECT raw, payload FROM pref.notification_inbox WHERE error_code LIKE 'E_JSON_%%' ORDER BY id"
        ).fetchall()
    assert [bytes(r[0]) for r in kept] == [nul, deep, nul, deep]  # the line's bytes, as sent
    assert all(r[1] is None for r in kept)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    pg_log = cluster.logfile.read_text(encoding="utf-8", errors="replace")[len(log_before) :]
    for secret in (juminhyo(700), SECRET_NAME[:2]):
        assert secret not in logged and secret not in pg_log


def test_hardening_1_S38_a_failing_statement_logs_no_values_for_the_server_roles(
    db: Database, cluster: Any
) -> None:
    """Whatever still fails in the database (here a JSON literal PostgreSQL cannot hold) is logged
    without DETAIL, CONTEXT or the statement: the server roles log terse (migration 0016)."""
    import psycopg

    from juki.store.db import DbRole

    before = cluster.logfile.read_text(encoding="utf-8", errors="replace")
    with db.connect(DbRole.PREF) as conn, pytest.raises(psycopg.DataError):
        conn.execute("SELECT %s::jsonb", ('{"name_kanji": "' + SECRET_NAME + '\\u0000"}',))
    after = cluster.logfile.read_text(encoding="utf-8", errors="replace")[len(before) :]
    assert "ERROR" in after  # the failure itself is logged
    assert SECRET_NAME not in after and "STATEMENT" not in after and "CONTEXT" not in after


def test_hardening_2_S38_duplicate_json_keys_reject_the_line(net: Net, db: Database) -> None:
    """orjson keeps the last of two equal keys; a notification naming a field twice is ambiguous."""
    top = orjson.dumps(_birth(710)).replace(
        b'"juminhyo_code"', b'"juminhyo_code":"00000000019","juminhyo_code"'
    )
    nested = orjson.dumps(_birth(711)).replace(b'"sex":"1"', b'"sex":"1","sex":"2"')
    assert top.count(b'"juminhyo_code"') == 2 and nested.count(b'"sex"') == 2
    with net.client("cs-tsurumi") as client:
        response = post(client, body(top, nested, _birth(712)))
    assert response.status_code == 200, response.text
    codes = [(r["error"] or {}).get("code") if r.get("error") else None for r in response.json()["results"]]
    assert codes == ["E_JSON_DUPLICATE_KEY", "E_JSON_DUPLICATE_KEY", None]
    assert count(db, "SELECT count(*) FROM pref.identity_current") == 1
    assert count(db, "SELECT count(*) FROM pref.notification_inbox WHERE raw IS NOT NULL") == 2


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_LINE = (
    (
        st.binary(min_size=1, max_size=40)
        | st.builds(
            lambda v, a: json.dumps(v, ensure_ascii=a).encode("utf-8", "surrogatepass"), _JSON, st.booleans()
        )
        | st.integers(1, 300).map(lambda d: b"[" * d + b"]" * d)
        | st.text(max_size=6).map(
            lambda t: orjson.dumps({"file": "pref", "record": {"name_kanji": t + "\0"}})
        )
    )
    .map(lambda b: b.replace(b"\n", b" "))
    .filter(lambda b: bool(b.strip()))
)
_fuzz_n = iter(range(720, 100_000))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.lists(_LINE, min_size=1, max_size=5), where=st.integers(0, 5))
def test_hardening_1_S38_fuzz_the_intake_never_fails_a_batch(
    net: Net, db: Database, junk: list[bytes], where: int
) -> None:
    """Property: arbitrary bytes and arbitrary JSON around one valid notification: never 5xx, one
    result per line, the valid line accepted, one inbox row per line."""
    good = orjson.dumps(_birth(next(_fuzz_n)))
    lines = [*junk]
    lines.insert(min(where, len(lines)), good)
    inbox_before = count(db, "SELECT count(*) FROM pref.notification_inbox")
    with net.client("cs-tsurumi") as client:
        response = post(client, b"\n".join(lines))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(lines)
    assert [r["status"] for r in results].count("accepted") >= 1
    assert results[min(where, len(junk))]["status"] == "accepted"
    assert count(db, "SELECT count(*) FROM pref.notification_inbox") == inbox_before + len(lines)
