"""Queries to J-LIS (F1-5, F2-5), communication records (REC-4), forwarding of searches for persons of
other prefectures (F1-2), against the national simulators over real mTLS (S-42) and a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.peers.national import (
    NationalKind,
    RunningServer,
    other_prefecture_person,
)
from juki.peers.tls import run_server_in_thread, stop_server
from juki.services.access.actor import Actor, TerminalKind
from juki.services.jlis.client import (
    Basic4,
    JlisClient,
    JlisUnavailable,
    PeerRefusedError,
    QueryConditionsError,
    SearchKeys,
    TooManyMatches,
)
from juki.services.jlis.communication_records import Requester, query_log
from juki.services.jlis.local_first import Source, search_person
from juki.services.jlis.relay import Peer
from juki.services.search.conditions import NameMatch
from juki.store.db import Database, DbRole
from juki.store.embedded import EmbeddedCluster
from tests.factories import juminhyo
from tests.peers.national_support import Certs, Sim, client, running_simulator
from tests.services.jlis.accepted_changes import apply, birth, fuhyo_birth

SEED = 1
OTHERS = 300  # persons of other prefectures in each simulator


@pytest.fixture
def national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(cluster, NationalKind.NATIONAL, certs.server_ctx(certs.national)) as pair:
        assert pair[0].seed_other_prefectures(OTHERS, SEED) == OTHERS
        yield pair


@pytest.fixture
def fuhyo_national(cluster: EmbeddedCluster, certs: Certs) -> Iterator[Sim]:
    with running_simulator(
        cluster, NationalKind.FUHYO_NATIONAL, certs.server_ctx(certs.fuhyo_national)
    ) as pair:
        assert pair[0].seed_other_prefectures(OTHERS, SEED) == OTHERS
        yield pair


def jlis_client(
    certs: Certs, running: RunningServer, file: FileKind, conn: psycopg.Connection[Any], cert: Any = None
) -> JlisClient:
    cert = cert or (certs.pref_server if file is FileKind.PREF else certs.fuhyo_server)
    return JlisClient(Peer(running.url, certs.client_ctx(cert)), file, conn, timeout=5.0)


def log_rows(conn: psycopg.Connection[Any], file: FileKind) -> list[dict[str, Any]]:
    return list(reversed(query_log(conn, file)))


def other(number: int) -> dict[str, Any]:
    return other_prefecture_person(SEED, number)


# ------------------------------------------------------------------------- the population


def test_other_prefecture_population_is_valid_and_never_kanagawa() -> None:
    from juki.domain.codes import is_valid_lg_code, is_valid_my_number, juminhyo_check_digit_ok
    from juki.synth import make_person

    kanagawa_codes = {make_person(SEED, i).pref_current[0] for i in range(2000)}
    people = [other(n) for n in range(500)]
    assert len({p["juminhyo_code"] for p in people}) == 500
    assert not kanagawa_codes & {p["juminhyo_code"] for p in people}
    for p in people:
        assert juminhyo_check_digit_ok(p["juminhyo_code"]) and is_valid_my_number(p["my_number"])
        assert is_valid_lg_code(p["municipality_code"]) and not p["municipality_code"].startswith("14")
        assert not p["address"].startswith("神奈川県") and p["name_kanji"] and p["name_kana"]
    assert {p["municipality_code"][:2] for p in people} >= {"13", "27", "01"}
    assert other(7) == other(7)  # deterministic


# ------------------------------------------------------------------------------ F1-5 queries


def test_F1_5_query_by_code_my_number_and_basic4_of_another_prefecture(
    national: Sim, certs: Certs, pref_conn: psycopg.Connection[Any]
) -> None:
    _sim, running = national
    p = other(7)
    with jlis_client(certs, running, FileKind.PREF, pref_conn) as jc:
        by_code = jc.query_by_code(p["juminhyo_code"])
        assert [m.juminhyo_code for m in by_code.matches] == [p["juminhyo_code"]]
        assert by_code.matches[0].record["address"] == p["address"]
        assert by_code.matches[0].record["my_number"] == p["my_number"]

        by_number = jc.query_by_my_number(p["my_number"])
        assert [m.juminhyo_code for m in by_number.matches] == [p["juminhyo_code"]]

        # 4情報: the name without its space, in hiragana-free katakana; birth date as 和暦 or ISO.
        spaced = Basic4(name_kana=p["name_kana"].replace("\u3000", " "), birth_date=p["birth_date"])
        assert p["juminhyo_code"] in [m.juminhyo_code for m in jc.query_basic4(spaced).matches]
        family, _, given = p["name_kana"].partition("\u3000")
        by_address = Basic4(
            family_kana=family[:2],
            name_match=NameMatch.PREFIX,
            address=p["address"][: p["address"].index("丁目") - 1],  # city and town, no prefecture
            sex=p["sex"],
        )
        hits = jc.query_basic4(by_address).matches
        assert p["juminhyo_code"] in [m.juminhyo_code for m in hits]
        assert all(m.record["sex"] == p["sex"] for m in hits)
        if given:
            by_given = Basic4(given_kana=given, address=p["address"])
            assert [m.juminhyo_code for m in jc.query_basic4(by_given).matches] == [p["juminhyo_code"]]

        unknown = jc.query_by_code(juminhyo(424242))
        assert unknown.matches == [] and not unknown.found


def test_basic4_without_the_minimum_conditions_is_refused_on_both_sides(
    national: Sim, certs: Certs, pref_conn: psycopg.Connection[Any]
) -> None:
    """F1-5 / F1-6 rule: a name AND a birth date or an address; otherwise E_QUERY_CONDITIONS."""
    _sim, running = national
    p = other(3)
    with jlis_client(certs, running, FileKind.PREF, pref_conn) as jc:
        for query in (
            Basic4(name_kana=p["name_kana"]),  # name only
            Basic4(birth_date=p["birth_date"], address=p["address"]),  # no name
            Basic4(name_kana="　", birth_date=p["birth_date"]),  # an empty name is no name
        ):
            with pytest.raises(QueryConditionsError) as exc:
                jc.query_basic4(query)
            assert exc.value.code == "E_QUERY_CONDITIONS"
        with pytest.raises(QueryConditionsError) as bad_date:
            jc.query_basic4(Basic4(name_kana=p["name_kana"], birth_date="不詳"))
        assert bad_date.value.code == "E_QUERY_VALUE"
    assert log_rows(pref_conn, FileKind.PREF) == []  # refused before sending: nothing went out

    with client(certs.client_ctx(certs.pref_server), running) as http:
        for body in (
            {"by": "basic4", "name_kana": p["name_kana"]},
            {"by": "basic4", "sex": "1", "birth_date": "1980-01-01"},
            {"by": "basic4"},
        ):
            response = http.post("/jlis/v1/query", json=body)
            assert response.status_code == 400 and response.json()["code"] == "E_QUERY_CONDITIONS", body
        mixed = http.post("/jlis/v1/query", json={"by": "basic4", "juminhyo_code": p["juminhyo_code"]})
        assert mixed.status_code == 400 and mixed.json()["code"] == "E_QUERY_KEY"
        ok = http.post(
            "/jlis/v1/query",
            json={"by": "basic4", "name_kana": p["name_kana"], "birth_date": p["birth_date"]},
        )
        assert ok.status_code == 200 and ok.json()["count"] >= 1


def test_too_many_matches_is_E_TOO_MANY_never_a_truncated_list(
    national: Sim, certs: Certs, pref_conn: psycopg.Connection[Any]
) -> None:
    sim, running = national
    sim.max_matches = 2
    twin = {"name_kanji": "山田　太郎", "name_kana": "ヤマダ　タロウ", "birth_date": "1980-04-01", "sex": "1"}
    with client(certs.client_ctx(certs.pref_server), running) as http:
        for n in range(1, 4):
            body = {
                "file": "pref",
                "juminhyo_code": juminhyo(n),
                "address": f"神奈川県横浜市鶴見区豊岡町{n}番1号",
                "update_seq": n,
                **twin,
            }
            assert http.post(
                "/jlis/v1/notices", json=body, headers={"Idempotency-Key": f"pref:{n}"}
            ).is_success
    with jlis_client(certs, running, FileKind.PREF, pref_conn) as jc:
        with pytest.raises(TooManyMatches) as exc:
            jc.query_basic4(Basic4(name_kana="やまだたろう", birth_date="1980-04-01"))
        assert exc.value.code == "E_TOO_MANY" and exc.value.http_status == 422
        narrowed = jc.query_basic4(Basic4(name_kana="ヤマダタロウ", address="鶴見区豊岡町2番"))
        assert [m.juminhyo_code for m in narrowed.matches] == [juminhyo(2)]
    assert [(r["outcome"], r["error_code"], r["hit_count"]) for r in log_rows(pref_conn, FileKind.PREF)] == [
        ("refused", "E_TOO_MANY", 0),
        ("found", None, 1),
    ]


# ------------------------------------------------------------------------------ F2-5 (附票)


def test_F2_5_fuhyo_national_answers_by_code_and_basic4_and_never_a_my_number(
    fuhyo_national: Sim, certs: Certs, fuhyo_conn: psycopg.Connection[Any]
) -> None:
    _sim, running = fuhyo_national
    p = other(11)
    with jlis_client(certs, running, FileKind.FUHYO, fuhyo_conn) as jc:
        by_code = jc.query_by_code(p["juminhyo_code"])
        assert [m.juminhyo_code for m in by_code.matches] == [p["juminhyo_code"]]
        record = by_code.matches[0].record
        assert "my_number" not in record and record["address"] == p["address"] and record["file"] == "fuhyo"
        hits = jc.query_basic4(Basic4(name_kana=p["name_kana"], birth_date=p["birth_date"])).matches
        assert p["juminhyo_code"] in [m.juminhyo_code for m in hits]
        assert all("my_number" not in m.record for m in hits)
        with pytest.raises(QueryConditionsError) as exc:
            jc.query_by_my_number(p["my_number"])
        assert exc.value.code == "E_QUERY_KEY"
    with client(certs.client_ctx(certs.fuhyo_server), running) as http:
        raw = http.post("/jlis/v1/query", json={"by": "my_number", "my_number": p["my_number"]})
        assert raw.status_code == 400 and raw.json()["code"] == "E_QUERY_KEY"
        assert (
            p["my_number"] not in http.post("/jlis/v1/query", json={"juminhyo_code": p["juminhyo_code"]}).text
        )
    assert [r["kind"] for r in log_rows(fuhyo_conn, FileKind.FUHYO)] == ["juminhyo_code", "basic4"]


# ------------------------------------------------------------------------ S-42 authentication


@pytest.mark.parametrize("who", ["municipal", "fuhyo_server"])
def test_S42_wrong_role_client_is_refused_and_recorded(
    national: Sim, certs: Certs, pref_conn: psycopg.Connection[Any], who: str
) -> None:
    _sim, running = national
    p = other(5)
    with (
        jlis_client(certs, running, FileKind.PREF, pref_conn, cert=getattr(certs, who)) as jc,
        pytest.raises(PeerRefusedError) as exc,
    ):
        jc.query_by_code(p["juminhyo_code"])
    assert exc.value.code == "E_PEER_ROLE" and exc.value.http_status == 403
    [row] = log_rows(pref_conn, FileKind.PREF)
    assert (row["outcome"], row["error_code"], row["http_status"]) == ("refused", "E_PEER_ROLE", 403)


@pytest.mark.parametrize("who", ["anonymous", "revoked"])
def test_S42_unauthenticated_or_revoked_client_gets_nothing(
    national: Sim, certs: Certs, pref_conn: psycopg.Connection[Any], who: str
) -> None:
    _sim, running = national
    ctx = certs.anonymous_ctx() if who == "anonymous" else certs.client_ctx(certs.revoked)
    p = other(5)
    with (
        JlisClient(Peer(running.url, ctx), FileKind.PREF, pref_conn, timeout=5.0) as jc,
        pytest.raises((PeerRefusedError, JlisUnavailable)) as exc,
    ):
        jc.query_by_code(p["juminhyo_code"])
    assert exc.value.code in {"E_TLS", "E_CONNECT"}
    [row] = log_rows(pref_conn, FileKind.PREF)
    assert row["outcome"] in {"refused", "error"} and row["hit_count"] == 0


def test_S42_a_server_of_another_role_never_receives_the_query(
    certs: Certs, pref_conn: psycopg.Connection[Any]
) -> None:
    """The client checks the server's certificate role after the handshake, before sending the keys."""
    seen: list[str] = []

    async def app_(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    # A valid juki server certificate, but of the 附票全国サーバ: not the 全国サーバ a pref client wants.
    server, thread, port = run_server_in_thread(app_, certs.server_ctx(certs.fuhyo_national))
    try:
        peer = Peer(f"https://127.0.0.1:{port}", certs.client_ctx(certs.pref_server))
        with (
            JlisClient(peer, FileKind.PREF, pref_conn, timeout=5.0) as jc,
            pytest.raises(PeerRefusedError) as exc,
        ):
            jc.query_by_code(other(1)["juminhyo_code"])
        assert exc.value.code == "E_SERVER_ROLE"
    finally:
        stop_server(server, thread)
    assert seen == []
    [row] = log_rows(pref_conn, FileKind.PREF)
    assert (row["outcome"], row["error_code"]) == ("refused", "E_SERVER_ROLE")


# --------------------------------------------------------------- REC-4 communication records


def test_REC4_every_query_is_recorded_without_personal_data(
    national: Sim, certs: Certs, db: Database, pref_conn: psycopg.Connection[Any]
) -> None:
    _sim, running = national
    p = other(9)
    with jlis_client(certs, running, FileKind.PREF, pref_conn) as jc:
        # No signed-in operator: the free text a CLI user gives; the function is the client's (F1-5).
        jc.requester = Requester(operator="op-17", terminal="term-3")
        jc.query_by_code(p["juminhyo_code"])
        jc.query_by_my_number(p["my_number"])
        jc.query_basic4(Basic4(name_kana=p["name_kana"], birth_date=p["birth_date"]))
        jc.query_by_code(juminhyo(777))  # not found
        again = jc.query_by_code(p["juminhyo_code"])
    rows = log_rows(pref_conn, FileKind.PREF)
    assert [(r["kind"], r["outcome"]) for r in rows] == [
        ("juminhyo_code", "found"),
        ("my_number", "found"),
        ("basic4", "found"),
        ("juminhyo_code", "not_found"),
        ("juminhyo_code", "found"),
    ]
    assert rows[-1]["id"] == again.log_id
    assert all(r["finished_at"] >= r["started_at"] and r["peer"] == running.url for r in rows)
    assert {(r["operator_id"], r["terminal_id"], r["function"]) for r in rows} == {
        ("op-17", "term-3", "F1-5")
    }
    assert rows[0]["keys_sha256"] == rows[-1]["keys_sha256"] != rows[3]["keys_sha256"]  # same keys, same hash
    assert [r["http_status"] for r in rows] == [200, 200, 200, 404, 200]
    # No raw key and no answer anywhere in the record table.
    with db.connect() as admin:
        dump = " ".join(str(r[0]) for r in admin.execute("SELECT to_jsonb(l) FROM pref.jlis_query_log l"))
    for secret in (p["juminhyo_code"], p["my_number"], p["name_kana"], p["address"]):
        assert secret not in dump
    # Each file's records belong to its role: the fuhyo role cannot read File 1's (S-35).
    with db.connect(DbRole.FUHYO) as fuhyo, pytest.raises(psycopg.errors.InsufficientPrivilege):
        fuhyo.execute("SELECT count(*) FROM pref.jlis_query_log")


# -------------------------------------------------------------------- F1-2 forwarding


def test_F1_2_search_answers_locally_for_kanagawa_and_forwards_other_prefectures(
    national: Sim, certs: Certs, db: Database, pref_conn: psycopg.Connection[Any]
) -> None:
    _sim, running = national
    apply(db, birth(41))  # a resident of 鶴見区 (name 山田 太郎, born 2026-09-01)
    kanagawa = juminhyo(41)
    p = other(21)
    with jlis_client(certs, running, FileKind.PREF, pref_conn) as jc:
        local = search_person(pref_conn, jc, SearchKeys(juminhyo_code=kanagawa))
        assert local.source is Source.LOCAL and [m.juminhyo_code for m in local.matches] == [kanagawa]
        assert local.matches[0].record["address"].startswith("神奈川県") and local.log_id is None
        local4 = search_person(
            pref_conn, jc, SearchKeys(basic4=Basic4(name_kana="やまだ たろう", address="横浜市鶴見区"))
        )
        assert local4.source is Source.LOCAL and [m.juminhyo_code for m in local4.matches] == [kanagawa]
        without_city = search_person(
            pref_conn, jc, SearchKeys(basic4=Basic4(name_kana="ヤマダタロウ", address="豊岡町1番"))
        )
        assert without_city.source is Source.LOCAL

        remote = search_person(pref_conn, jc, SearchKeys(juminhyo_code=p["juminhyo_code"]))
        assert remote.source is Source.NATIONAL and [m.juminhyo_code for m in remote.matches] == [
            p["juminhyo_code"]
        ]
        remote_number = search_person(pref_conn, jc, SearchKeys(my_number=p["my_number"]))
        assert remote_number.source is Source.NATIONAL and remote_number.found
        remote4 = search_person(
            pref_conn, jc, SearchKeys(basic4=Basic4(name_kana=p["name_kana"], birth_date=p["birth_date"]))
        )
        assert remote4.source is Source.NATIONAL and p["juminhyo_code"] in [
            m.juminhyo_code for m in remote4.matches
        ]
        nobody = search_person(pref_conn, jc, SearchKeys(juminhyo_code=juminhyo(999_999)))
        assert nobody.source is Source.NATIONAL and not nobody.found
    # Only the forwarded searches went to J-LIS, each recorded as serving F1-2.
    rows = log_rows(pref_conn, FileKind.PREF)
    assert [(r["kind"], r["outcome"], r["function"]) for r in rows] == [
        ("juminhyo_code", "found", "F1-2"),
        ("my_number", "found", "F1-2"),
        ("basic4", "found", "F1-2"),
        ("juminhyo_code", "not_found", "F1-2"),
    ]


def test_F1_2_fuhyo_search_answers_locally_then_forwards(
    fuhyo_national: Sim, certs: Certs, db: Database, fuhyo_conn: psycopg.Connection[Any]
) -> None:
    _sim, running = fuhyo_national
    apply(db, fuhyo_birth(42))
    p = other(22)
    with jlis_client(certs, running, FileKind.FUHYO, fuhyo_conn) as jc:
        local = search_person(fuhyo_conn, jc, SearchKeys(juminhyo_code=juminhyo(42)))
        assert local.source is Source.LOCAL and "my_number" not in local.matches[0].record
        remote = search_person(fuhyo_conn, jc, SearchKeys(juminhyo_code=p["juminhyo_code"]))
        assert remote.source is Source.NATIONAL and remote.found
        with pytest.raises(QueryConditionsError):
            search_person(fuhyo_conn, jc, SearchKeys(my_number=p["my_number"]))
    assert [r["function"] for r in log_rows(fuhyo_conn, FileKind.FUHYO)] == ["F2-2"]


def test_jlis_client_needs_an_autocommit_connection(db: Database, certs: Certs) -> None:
    with db.connect(DbRole.PREF) as conn, pytest.raises(ValueError):
        JlisClient(Peer("https://127.0.0.1:1", certs.client_ctx(certs.pref_server)), FileKind.PREF, conn)


def test_simulator_ignores_bad_bodies_with_json_errors(national: Sim, certs: Certs) -> None:
    _sim, running = national
    with client(certs.client_ctx(certs.pref_server), running) as http:
        bad = http.post("/jlis/v1/query", json={"by": "telepathy"})
        assert bad.status_code == 400 and bad.json()["code"] == "E_BAD_REQUEST"
        wrong = http.post("/jlis/v1/query", json={"by": "juminhyo_code", "my_number": other(1)["my_number"]})
        assert wrong.status_code == 400 and wrong.json()["code"] == "E_QUERY_KEY"


def test_REC4_requester_is_the_signed_in_actor_or_the_free_text_of_one_who_did_not_sign_in() -> None:
    actor = Actor(
        operator_id=7,
        login="kensaku1",
        roles=frozenset({"pref_operator"}),
        terminal_id=3,
        terminal_name="代表端末1",
        terminal_kind=TerminalKind.REPRESENTATIVE,
        bulk_enabled=False,
    )
    signed_in = Requester(actor=actor, operator="ignored", terminal="ignored")
    assert (signed_in.operator_id, signed_in.terminal_id) == ("kensaku1", "代表端末1")
    cli = Requester(operator="cli:alice", terminal="cli:host")
    assert (cli.operator_id, cli.terminal_id) == ("cli:alice", "cli:host")
    assert (Requester().operator_id, Requester().terminal_id) == ("system", "server")
