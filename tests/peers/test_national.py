"""The 全国サーバ / 附票全国サーバ simulators over real mTLS, and the uvicorn peer-certificate mechanism.

The builders (PKI, simulator database, client) are in tests/peers/national_support.py, the fixtures
in tests/peers/conftest.py.
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

import httpx
import pytest
import uvicorn

from juki.peers.national import NationalSimulator, RunningServer
from juki.peers.tls import PINNED_UVICORN, peer_cert_der, run_server_in_thread, stop_server
from tests.factories import TSURUMI, juminhyo, my_number
from tests.peers.national_support import Certs, client


def notice(n: int, seq: int, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "file": "pref",
        "juminhyo_code": juminhyo(n),
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1980-04-01",
        "sex": "1",
        "address": f"神奈川県横浜市鶴見区豊岡町{seq}番1号",
        "my_number": my_number(500 + n),
        "change_reason": "relocation",
        "change_date": "2026-10-01",
        "municipality_code": TSURUMI,
        "status": "present",
        "end_kind": None,
        "old_juminhyo_code": None,
        "update_seq": seq,
    }
    return {**base, **over}


# ------------------------------------------------------------------------- the uvicorn mechanism


def test_uvicorn_is_the_pinned_version_for_the_peer_certificate_protocol() -> None:
    """PeerCertH11Protocol (juki.interfaces.tls_server) relies on uvicorn internals
    (H11Protocol.connection_made, self.app). If this fails, uvicorn changed: re-read
    uvicorn/protocols/http/h11_impl.py, run the end-to-end test below, then move the pin."""
    assert uvicorn.__version__ == PINNED_UVICORN


def test_S42_peer_certificate_reaches_the_asgi_scope(certs: Certs) -> None:
    """The DER the app sees is exactly the certificate the client presented (end to end over TLS)."""
    seen: list[bytes | None] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        der = peer_cert_der(scope)
        seen.append(der)
        body = hashlib.sha256(der or b"").hexdigest().encode()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": body})

    server, thread, port = run_server_in_thread(app, certs.server_ctx(certs.national))
    try:
        assert port > 0
        expected = ssl.PEM_cert_to_DER_cert(certs.pref_server.cert_path.read_text())
        with httpx.Client(verify=certs.client_ctx(certs.pref_server), timeout=5.0, trust_env=False) as http:
            for _ in range(2):  # two requests on one kept-alive connection: both carry it
                response = http.get(f"https://127.0.0.1:{port}/")
                assert response.status_code == 200
                assert response.text == hashlib.sha256(expected).hexdigest()
        assert seen == [expected, expected]
    finally:
        stop_server(server, thread)
    assert not thread.is_alive()


# --------------------------------------------------------------------------------- the simulator


def test_notice_is_applied_deduplicated_and_never_regressed(
    national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    sim, running = national
    with client(certs.client_ctx(certs.pref_server), running) as http:

        def post(key: str, body: dict[str, Any]) -> httpx.Response:
            return http.post("/jlis/v1/notices", json=body, headers={"Idempotency-Key": key})

        first = post("pref:2", notice(1, 2))
        assert first.status_code == 200 and first.json() == {"status": "applied", "update_seq": 2}
        again = post("pref:2", notice(1, 2))
        assert again.json() == {"status": "duplicate", "update_seq": 2}
        older = post("pref:1", notice(1, 1))  # arrives late: must not regress the copy
        assert older.json() == {"status": "stale", "update_seq": 2}
        reused = post("pref:2", notice(1, 2, address="神奈川県鎌倉市"))
        assert reused.status_code == 422 and reused.json()["code"] == "E_IDEMPOTENCY_MISMATCH"
        missing = http.post("/jlis/v1/notices", json=notice(1, 3))
        assert missing.status_code == 400 and missing.json()["code"] == "E_IDEMPOTENCY_KEY"
        bad = post("pref:9", notice(1, 9, update_seq="9"))
        assert bad.status_code == 400 and bad.json()["code"] == "E_BAD_NOTICE"
        wrong_file = post("pref:10", notice(1, 10, file="fuhyo"))
        assert wrong_file.status_code == 400 and wrong_file.json()["code"] == "E_WRONG_FILE"
        not_json = http.post("/jlis/v1/notices", content=b"[1,", headers={"Idempotency-Key": "x"})
        assert not_json.status_code == 400 and not_json.json()["code"] == "E_BAD_REQUEST"
    copy = sim.copy()
    assert list(copy) == [juminhyo(1)]
    assert copy[juminhyo(1)]["update_seq"] == 2
    assert copy[juminhyo(1)]["record"]["address"] == "神奈川県横浜市鶴見区豊岡町2番1号"
    assert sim.request_log() == [
        ("pref:2", "applied"),
        ("pref:2", "duplicate"),
        ("pref:1", "stale"),
        ("pref:2", "mismatch"),
    ]


def test_batch_of_notices_answers_each_item_like_the_single_endpoint(
    national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    """`POST /jlis/v1/notices:batch`: items are handled in order, each answered applied / duplicate /
    stale, or error with the status and code the single endpoint would have given; fail_mode counts
    notices (items), not requests."""
    sim, running = national
    with client(certs.client_ctx(certs.pref_server), running) as http:

        def batch(*items: tuple[str | None, dict[str, Any]]) -> httpx.Response:
            body = [{"idempotency_key": key, "notice": body} for key, body in items]
            return http.post("/jlis/v1/notices:batch", json=body)

        first = batch(("pref:2", notice(1, 2)), ("pref:3", notice(2, 3)), ("pref:2", notice(1, 2)))
        assert first.status_code == 200
        assert first.json() == {
            "results": [
                {"idempotency_key": "pref:2", "status": "applied", "update_seq": 2},
                {"idempotency_key": "pref:3", "status": "applied", "update_seq": 3},
                {"idempotency_key": "pref:2", "status": "duplicate", "update_seq": 2},
            ]
        }
        sim.fail_mode.fail_next(1)
        second = batch(
            ("pref:4", notice(3, 4)),  # failed on purpose: 503
            ("pref:1", notice(1, 1)),  # late: stale
            ("pref:2", notice(1, 2, address="神奈川県鎌倉市")),  # the key with another content
            (None, notice(4, 5)),
            ("pref:6", notice(4, 6, file="fuhyo")),
        ).json()["results"]
        assert [(r["status"], r.get("http_status"), r.get("code")) for r in second] == [
            ("error", 503, "E_UNAVAILABLE"),
            ("stale", None, None),
            ("error", 422, "E_IDEMPOTENCY_MISMATCH"),
            ("error", 400, "E_IDEMPOTENCY_KEY"),
            ("error", 400, "E_WRONG_FILE"),
        ]
        assert second[1]["update_seq"] == 2
        # Distinct keys and persons: stored set-based, with the same answers.
        third = batch(
            ("pref:2", notice(1, 2)),
            ("pref:8", notice(2, 1)),
            ("pref:3", notice(7, 3)),
            ("pref:7", notice(6, 7)),
        ).json()["results"]
        assert [(r["status"], r.get("update_seq"), r.get("code")) for r in third] == [
            ("duplicate", 2, None),
            ("stale", 3, None),
            ("error", None, "E_IDEMPOTENCY_MISMATCH"),
            ("applied", 7, None),
        ]
        empty = http.post("/jlis/v1/notices:batch", json=[])
        assert empty.status_code == 400 and empty.json()["code"] == "E_BATCH_EMPTY"
        not_a_list = http.post("/jlis/v1/notices:batch", json=notice(5, 1))
        assert not_a_list.status_code == 400 and not_a_list.json()["code"] == "E_BAD_REQUEST"
    assert sim.fail_mode.injected == 1
    assert {code: v["update_seq"] for code, v in sim.copy().items()} == {
        juminhyo(1): 2,
        juminhyo(2): 3,
        juminhyo(6): 7,
    }
    assert sim.request_log() == [
        ("pref:2", "applied"),
        ("pref:3", "applied"),
        ("pref:2", "duplicate"),
        ("pref:1", "stale"),
        ("pref:2", "mismatch"),
        ("pref:2", "duplicate"),
        ("pref:8", "stale"),
        ("pref:3", "mismatch"),
        ("pref:7", "applied"),
    ]


def test_query_by_juminhyo_code_and_my_number(
    national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    _sim, running = national
    with client(certs.client_ctx(certs.pref_server), running) as http:
        http.post("/jlis/v1/notices", json=notice(2, 5), headers={"Idempotency-Key": "pref:5"})
        by_code = http.post("/jlis/v1/query", json={"juminhyo_code": juminhyo(2)})
        assert by_code.status_code == 200
        assert by_code.json()["update_seq"] == 5 and by_code.json()["record"]["my_number"] == my_number(502)
        by_number = http.post("/jlis/v1/query", json={"my_number": my_number(502)})
        assert by_number.json()["juminhyo_code"] == juminhyo(2)
        unknown = http.post("/jlis/v1/query", json={"juminhyo_code": juminhyo(3)})
        assert unknown.status_code == 404 and unknown.json()["code"] == "E_NOT_FOUND"
        both = http.post("/jlis/v1/query", json={"juminhyo_code": juminhyo(2), "my_number": my_number(502)})
        assert both.status_code == 400 and both.json()["code"] == "E_QUERY_KEY"


def test_fuhyo_national_never_takes_a_my_number(
    fuhyo_national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    sim, running = fuhyo_national
    fuhyo_notice = {"file": "fuhyo", "juminhyo_code": juminhyo(4), "address": "神奈川県", "update_seq": 1}
    with client(certs.client_ctx(certs.fuhyo_server), running) as http:
        refused = http.post(
            "/jlis/v1/notices",
            json={**fuhyo_notice, "my_number": my_number(504)},
            headers={"Idempotency-Key": "fuhyo:1"},
        )
        assert refused.status_code == 400 and refused.json()["code"] == "E_MY_NUMBER_NOT_ALLOWED"
        ok = http.post("/jlis/v1/notices", json=fuhyo_notice, headers={"Idempotency-Key": "fuhyo:1"})
        assert ok.json()["status"] == "applied"
        by_number = http.post("/jlis/v1/query", json={"my_number": my_number(504)})
        assert by_number.status_code == 400 and by_number.json()["code"] == "E_QUERY_KEY"
        by_code = http.post("/jlis/v1/query", json={"juminhyo_code": juminhyo(4)})
        assert by_code.json()["record"] == fuhyo_notice
    assert list(sim.copy()) == [juminhyo(4)]


def test_fail_mode_answers_503_then_recovers(
    national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    sim, running = national
    sim.fail_mode.fail_next(2)
    with client(certs.client_ctx(certs.pref_server), running) as http:
        codes = [
            http.post(
                "/jlis/v1/notices", json=notice(5, 1), headers={"Idempotency-Key": "pref:1"}
            ).status_code
            for _ in range(3)
        ]
    assert codes == [503, 503, 200]
    assert sim.fail_mode.injected == 2
    assert sim.request_log() == [("pref:1", "applied")]


# ------------------------------------------------------------------------- S-42 authentication


@pytest.mark.parametrize("who", ["municipal", "fuhyo_server"])
def test_S42_wrong_role_gets_403_and_nothing_is_stored(
    national: tuple[NationalSimulator, RunningServer], certs: Certs, who: str
) -> None:
    """S-42: a valid certificate of another role (a 市町村CS, the 附票 server) is not the 都道府県サーバ."""
    sim, running = national
    with client(certs.client_ctx(getattr(certs, who)), running) as http:
        response = http.post("/jlis/v1/notices", json=notice(6, 1), headers={"Idempotency-Key": "pref:1"})
        assert response.status_code == 403
        assert response.json()["code"] == "E_PEER_ROLE" and response.json()["message"]
        query = http.post("/jlis/v1/query", json={"juminhyo_code": juminhyo(6)})
        assert query.status_code == 403 and query.json()["code"] == "E_PEER_ROLE"
        batch = http.post(
            "/jlis/v1/notices:batch", json=[{"idempotency_key": "pref:1", "notice": notice(6, 1)}]
        )
        assert batch.status_code == 403 and batch.json()["code"] == "E_PEER_ROLE"
    assert sim.copy() == {} and sim.request_log() == []


def test_S42_fuhyo_national_serves_only_the_fuhyo_server(
    fuhyo_national: tuple[NationalSimulator, RunningServer], certs: Certs
) -> None:
    sim, running = fuhyo_national
    with client(certs.client_ctx(certs.pref_server), running) as http:
        response = http.post(
            "/jlis/v1/notices",
            json={"file": "fuhyo", "juminhyo_code": juminhyo(7), "update_seq": 1},
            headers={"Idempotency-Key": "fuhyo:1"},
        )
    assert response.status_code == 403 and response.json()["code"] == "E_PEER_ROLE"
    assert sim.copy() == {}


@pytest.mark.parametrize("who", ["anonymous", "revoked"])
def test_S42_no_certificate_or_revoked_certificate_is_refused_at_tls(
    national: tuple[NationalSimulator, RunningServer], certs: Certs, who: str
) -> None:
    """S-42: no client certificate, or a revoked one (CRL loaded), never reaches the application."""
    sim, running = national
    ctx = certs.anonymous_ctx() if who == "anonymous" else certs.client_ctx(certs.revoked)
    with client(ctx, running) as http, pytest.raises(httpx.TransportError):
        http.post("/jlis/v1/notices", json=notice(8, 1), headers={"Idempotency-Key": "pref:1"})
    assert sim.copy() == {} and sim.request_log() == []
