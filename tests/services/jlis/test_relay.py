"""The outbox relay against a real PostgreSQL and the national simulators over real mTLS (issue 3, item 3).

Accepted changes are made through the same path as `juki apply` (NotificationApplier), so the outbox
rows are the ledger's own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from juki.domain.peers import PeerRole
from juki.peers.national import NationalKind, NationalSimulator, RunningServer
from juki.services.access.pki import Pki, server_context
from juki.services.jlis.relay import (
    OutboxRelay,
    Peer,
    RelayPolicy,
    backoff_delay,
    dead_letters,
    redrive,
    relay_connection,
    status,
)
from juki.store.db import Database
from juki.store.embedded import EmbeddedCluster
from tests.peers.national_support import Certs, Sim, running_simulator
from tests.services.jlis.accepted_changes import apply, birth, fuhyo_birth, fuhyo_move, move

#: Short times for tests: retries come back within a fraction of a second.
FAST = RelayPolicy(
    batch_size=10,
    lease_seconds=30.0,
    timeout_seconds=5.0,
    max_attempts=3,
    backoff_base_seconds=0.05,
    backoff_cap_seconds=0.2,
)


def make_relay(
    db: Database,
    certs: Certs,
    file: str,
    running: RunningServer,
    policy: RelayPolicy = FAST,
    *,
    client_cert: Any = None,
    **kw: Any,
) -> OutboxRelay:
    cert = client_cert or (certs.pref_server if file == "pref" else certs.fuhyo_server)
    return OutboxRelay(db, file, Peer(running.url, certs.client_ctx(cert)), policy, **kw)


def rows(db: Database, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(query, args).fetchall()


def current(db: Database, table: str) -> dict[str, tuple[str, int]]:
    return {
        code: (address, seq)
        for code, address, seq in rows(db, f"SELECT juminhyo_code, address, update_seq FROM {table}")
    }


def copy_of(sim: NationalSimulator) -> dict[str, tuple[str, int]]:
    return {code: (v["record"]["address"], v["update_seq"]) for code, v in sim.copy().items()}


# --------------------------------------------------------------------------------------- flow


def test_notices_flow_to_both_national_servers_and_the_copies_equal_the_files(
    db: Database, certs: Certs, national: Sim, fuhyo_national: Sim
) -> None:
    """F1-1/F2-1 notify J-LIS: every accepted change is delivered once; the copies equal the files."""
    apply(db, *(birth(n) for n in range(1, 6)), move(1, 1), move(2, 2), move(1, 3))
    apply(db, *(fuhyo_birth(n) for n in range(1, 4)), fuhyo_move(2, 7))
    nat, nat_server = national
    fnat, fnat_server = fuhyo_national

    with make_relay(db, certs, "pref", nat_server) as pref_relay:
        report = pref_relay.run_once()
        assert (report.sent, report.retried, report.dead) == (8, 0, 0)
        assert report.answers == {"applied": 8}
        again = pref_relay.run_once()  # nothing left: nothing sent
        assert again.claimed == 0 and again.sent == 0
    with make_relay(db, certs, "fuhyo", fnat_server) as fuhyo_relay:
        assert fuhyo_relay.run_once().sent == 4

    assert copy_of(nat) == current(db, "pref.identity_current")
    assert copy_of(fnat) == current(db, "fuhyo.fuhyo_current")
    assert all("my_number" not in v["record"] for v in fnat.copy().values())
    assert len(nat.request_log()) == 8  # the second pass sent nothing
    assert rows(db, "SELECT status, count(*), min(attempts), max(attempts) FROM pref.outbox GROUP BY 1") == [
        ("sent", 8, 1, 1)
    ]
    assert rows(db, "SELECT count(*) FROM pref.outbox WHERE sent_at IS NULL OR claimed_by IS NOT NULL") == [
        (0,)
    ]

    # A redelivery of a key the server already has (the relay crashed before recording "sent").
    [(key, payload)] = rows(db, "SELECT idempotency_key, payload FROM pref.outbox ORDER BY id LIMIT 1")
    before = nat.copy()
    with httpx.Client(verify=certs.client_ctx(certs.pref_server), timeout=5.0, trust_env=False) as http:
        answer = http.post(
            f"{nat_server.url}/jlis/v1/notices", json=payload, headers={"Idempotency-Key": key}
        )
    assert answer.json()["status"] == "duplicate"
    assert nat.copy() == before

    info = status(db)
    assert info["pref"]["sent"] == 8 and info["pref"]["pending"] == 0 and info["pref"]["dead"] == 0
    assert info["fuhyo"]["sent"] == 4 and info["dead_letters"] == 0
    assert info["pref"]["oldest_pending_age_seconds"] is None


def test_per_person_order_a_later_change_waits_for_the_earlier_one(
    db: Database, certs: Certs, national: Sim
) -> None:
    """Person 1's relocation is not sent while the birth notice before it is failing; person 2 is not held up."""
    apply(db, birth(1), move(1, 5), birth(2))
    sim, server = national
    sim.fail_mode.fail_next(1)  # the first request (person 1's birth) gets 503
    slow_retry = RelayPolicy(backoff_base_seconds=60.0, backoff_cap_seconds=60.0, timeout_seconds=5.0)
    with make_relay(db, certs, "pref", server, slow_retry) as relay:
        first = relay.run_once()
        assert (first.sent, first.retried) == (1, 1)
        assert sim.fail_mode.injected == 1
        assert sim.request_log() == [("pref:3", "applied")]  # person 2 only; person 1's move was not tried
        assert rows(db, "SELECT update_seq, status, attempts FROM pref.outbox ORDER BY id") == [
            (1, "pending", 1),
            (2, "pending", 0),
            (3, "sent", 1),
        ]
        assert relay.run_once().claimed == 0  # the birth is in backoff, the move is blocked behind it
        with db.connect() as conn:
            conn.execute("UPDATE pref.outbox SET next_attempt_at = now() WHERE update_seq = 1")
        second = relay.run_once()
    assert second.sent == 2
    assert sim.request_log() == [("pref:3", "applied"), ("pref:1", "applied"), ("pref:2", "applied")]
    assert copy_of(sim) == current(db, "pref.identity_current")


def test_a_batch_goes_in_one_request_and_a_peer_without_the_batch_endpoint_gets_one_per_request(
    db: Database, certs: Certs, national: Sim
) -> None:
    """The claimed rows go in one `notices:batch` request; against a peer that has only the single
    endpoint (404 for the batch), the relay falls back to one notice per request and loses nothing."""
    apply(db, birth(1), birth(2), birth(3))
    sim, server = national
    with make_relay(db, certs, "pref", server) as relay:
        requests: list[str] = []
        relay.client.event_hooks["request"].append(lambda request: requests.append(request.url.path))
        report = relay.run_once()
        assert (report.claimed, report.sent, report.answers["applied"]) == (3, 3, 3)
        assert requests == ["/jlis/v1/notices:batch"]
        apply(db, move(1, 7), move(2, 7))
        sim.app.router.routes[:] = [
            r for r in sim.app.router.routes if getattr(r, "path", "") != "/jlis/v1/notices:batch"
        ]
        requests.clear()
        report = relay.run_once()
        assert (report.sent, report.retried, report.dead) == (2, 0, 0)
        assert requests == ["/jlis/v1/notices:batch", "/jlis/v1/notices", "/jlis/v1/notices"]
    assert [key for key, _ in sim.request_log()] == ["pref:1", "pref:2", "pref:3", "pref:4", "pref:5"]
    assert copy_of(sim) == current(db, "pref.identity_current")


def test_backoff_grows_within_the_cap_then_dead_letter_then_redrive(
    db: Database, certs: Certs, national: Sim
) -> None:
    apply(db, birth(1))
    sim, server = national
    sim.fail_mode.fail_always(503)
    policy = RelayPolicy(
        max_attempts=4,
        backoff_base_seconds=0.05,
        backoff_cap_seconds=0.15,
        timeout_seconds=5.0,
        lease_seconds=30.0,
    )
    with make_relay(db, certs, "pref", server, policy) as relay:
        for attempt in range(1, 5):
            [(before,)] = rows(db, "SELECT clock_timestamp()")
            report = relay.run_once()
            [(after,)] = rows(db, "SELECT clock_timestamp()")
            [(state, attempts, next_at, error)] = rows(
                db, "SELECT status, attempts, next_attempt_at, last_error FROM pref.outbox"
            )
            assert attempts == attempt and "503" in error
            if attempt < 4:
                assert report.retried == 1 and state == "pending"
                ceiling = min(0.15, 0.05 * 2 ** (attempt - 1))
                assert before <= next_at <= after + timedelta(seconds=ceiling)
                time.sleep(max(0.0, (next_at - after).total_seconds()) + 0.01)
            else:
                assert report.dead == 1 and state == "dead"
        assert relay.run_once().claimed == 0  # dead letters are not retried
        assert status(db, ["pref"])["dead_letters"] == 1
        [dead] = dead_letters(db, "pref")
        assert dead["idempotency_key"] == "pref:1" and dead["attempts"] == 4 and "payload" not in dead

        sim.fail_mode.clear()
        assert redrive(db, "pref") == 1
        assert rows(db, "SELECT status, attempts FROM pref.outbox") == [("pending", 0)]
        assert relay.run_once().sent == 1
    assert sim.fail_mode.injected == 4
    assert sim.request_log() == [("pref:1", "applied")]
    assert status(db, ["pref"])["dead_letters"] == 0


def test_a_4xx_is_permanent_dead_at_once_and_logged(
    db: Database, certs: Certs, national: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    apply(db, birth(1), birth(2))
    sim, server = national
    sim.fail_mode.fail_next(1, status=400)
    with (
        caplog.at_level(logging.ERROR, logger="juki.services.jlis.relay"),
        make_relay(db, certs, "pref", server) as relay,
    ):
        report = relay.run_once()
    assert (report.dead, report.sent) == (1, 1)
    assert rows(db, "SELECT idempotency_key, status, attempts FROM pref.outbox ORDER BY id") == [
        ("pref:1", "dead", 1),
        ("pref:2", "sent", 1),
    ]
    assert any("pref:1" in r.getMessage() and "400" in r.getMessage() for r in caplog.records)
    assert redrive(db, "pref", ids=[999]) == 0  # only the named rows


def test_backoff_delay_is_full_jitter_capped() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 1.0), (2, 2.0), (4, 8.0), (9, 100.0), (500, 100.0)]:
        samples = [backoff_delay(attempts, 1.0, 100.0, rng) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > 0.8 * ceiling and min(samples) < 0.2 * ceiling  # spread over the whole range


# --------------------------------------------------------------------------------- concurrency


def test_two_workers_at_once_deliver_every_row_exactly_once_in_person_order(
    db: Database, certs: Certs, national: Sim
) -> None:
    apply(
        db,
        *(birth(n) for n in range(1, 41)),
        *(move(n, 9) for n in range(1, 41, 3)),
        *(move(n, 10) for n in range(1, 41, 6)),
    )
    sim, server = national
    [(total,)] = rows(db, "SELECT count(*) FROM pref.outbox")
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def worker(n: int) -> None:
        with make_relay(db, certs, "pref", server, RelayPolicy(batch_size=5), worker_id=f"w{n}") as relay:
            barrier.wait(timeout=10)
            sent.append(relay.run_once().sent)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(sent) == total, sent
    keys = sim.received_keys()
    counts = Counter(keys)
    assert len(keys) == total and max(counts.values()) == 1  # no key twice
    assert set(keys) == {k for (k,) in rows(db, "SELECT idempotency_key FROM pref.outbox")}
    by_person: dict[str, list[int]] = {}
    seq_of = dict(rows(db, "SELECT idempotency_key, update_seq FROM pref.outbox"))
    code_of = dict(rows(db, "SELECT idempotency_key, juminhyo_code FROM pref.outbox"))
    for key in keys:
        by_person.setdefault(code_of[key], []).append(seq_of[key])
    assert all(seqs == sorted(seqs) for seqs in by_person.values())
    assert all(outcome == "applied" for _, outcome in sim.request_log())
    assert copy_of(sim) == current(db, "pref.identity_current")


def test_a_crashed_workers_claim_expires_and_another_worker_delivers(
    db: Database, certs: Certs, national: Sim
) -> None:
    apply(db, birth(1), birth(2))
    sim, server = national
    short = RelayPolicy(lease_seconds=1.0, timeout_seconds=0.5)
    with make_relay(db, certs, "pref", server, short, worker_id="crashed") as crashed:
        assert len(crashed.claim()) == 2  # ... and the worker dies before sending
    with make_relay(db, certs, "pref", server, short, worker_id="survivor") as survivor:
        assert survivor.run_once().claimed == 0  # still leased
        time.sleep(1.1)
        assert survivor.run_once().sent == 2
    assert sorted(sim.received_keys()) == ["pref:1", "pref:2"]


# -------------------------------------------------------------------------------- S-42 / S-35


def test_S42_relay_refuses_a_server_not_signed_by_the_ca(
    db: Database, certs: Certs, cluster: EmbeddedCluster, tmp_path: Path
) -> None:
    """S-42: an impostor 全国サーバ (another CA) gets nothing; the row stays pending with the reason."""
    apply(db, birth(1))
    rogue = Pki(tmp_path / "rogue")
    rogue.init()
    impostor = rogue.issue(PeerRole.NATIONAL, "national")
    ctx = server_context(impostor.cert_path, impostor.key_path, rogue.ca_cert_path, rogue.crl_path)
    with (
        running_simulator(cluster, NationalKind.NATIONAL, ctx) as (sim, server),
        make_relay(db, certs, "pref", server) as relay,
    ):
        report = relay.run_once()
        assert (report.sent, report.retried) == (0, 1)
        assert sim.request_log() == [] and sim.copy() == {}
    [(state, error)] = rows(db, "SELECT status, last_error FROM pref.outbox")
    assert state == "pending" and "CERTIFICATE_VERIFY_FAILED" in error


def test_S42_relay_with_a_wrong_role_certificate_is_refused_and_dead_lettered(
    db: Database, certs: Certs, national: Sim
) -> None:
    """S-42: the 全国サーバ serves only the 都道府県サーバ's certificate: a 市町村CS cert gets 403 and
    nothing is stored; the relay dead-letters the row (permanent) instead of hammering the peer."""
    apply(db, birth(1))
    sim, server = national
    with make_relay(db, certs, "pref", server, client_cert=certs.municipal) as relay:
        report = relay.run_once()
    assert report.dead == 1
    [(state, error)] = rows(db, "SELECT status, last_error FROM pref.outbox")
    assert state == "dead" and "403" in error and "E_PEER_ROLE" in error
    assert sim.copy() == {} and sim.request_log() == []


def test_S35_fuhyo_relay_connection_cannot_read_pref_outbox(db: Database) -> None:
    """The fuhyo relay acts as juki_fuhyo: the pref outbox (notices carrying 個人番号) is out of reach."""
    apply(db, birth(1))
    with relay_connection(db, "fuhyo") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT payload FROM pref.outbox")
    with relay_connection(db, "pref") as conn:
        [(user,)] = conn.execute("SELECT current_user").fetchall()
    assert user == "juki_pref"


# ------------------------------------------------------------------------------------------- CLI


def test_cli_relay_run_once_status_and_redrive(
    db: Database, certs: Certs, national: Sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`juki relay run --once`, `juki relay status --json`, `juki relay redrive` as an operator runs them."""
    from typer.testing import CliRunner

    from juki.interfaces.cli import app

    monkeypatch.setenv("JUKI_DATABASE_URL", db.admin_conninfo)
    monkeypatch.setenv("JUKI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("JUKI_NATIONAL_URL", raising=False)
    apply(db, birth(1), birth(2))
    sim, server = national
    runner = CliRunner()
    base = ["relay", "run", "--once", "--file", "pref", "--pki-dir", str(certs.pki.directory), "--json"]

    missing_url = runner.invoke(app, base)
    assert missing_url.exit_code == 1 and "JUKI_NATIONAL_URL" in missing_url.output

    sim.fail_mode.fail_next(1, status=400)  # the first one is refused for good: a dead letter
    ran = runner.invoke(app, [*base, "--national-url", server.url])
    assert ran.exit_code == 0, ran.output
    assert orjson.loads(ran.stdout.splitlines()[-1])["pref"] | {"answers": {}} == {
        "file": "pref",
        "claimed": 2,
        "sent": 1,
        "retried": 0,
        "dead": 1,
        "released": 0,
        "answers": {},
    }

    shown = runner.invoke(app, ["relay", "status", "--json"])
    assert shown.exit_code == 0, shown.output
    info = orjson.loads(shown.stdout.splitlines()[-1])
    assert info["dead_letters"] == 1 and info["pref"]["sent"] == 1 and info["fuhyo"]["pending"] == 0
    table = runner.invoke(app, ["relay", "status", "--format", "table"])
    assert table.exit_code == 0 and "送信不能の合計: 1 件" in table.output
    tsv = runner.invoke(app, ["relay", "status"])  # redirected: TSV, one line per file
    lines = [line.split("\t") for line in tsv.stdout.splitlines()]
    assert lines[0][:2] == ["ファイル", "送信待ち"] and [row[0] for row in lines[1:]] == ["pref", "fuhyo"]
    assert lines[1][lines[0].index("送信不能")] == "1"

    redriven = runner.invoke(app, ["relay", "redrive", "--file", "pref", "--json"])
    assert redriven.exit_code == 0 and orjson.loads(redriven.stdout.splitlines()[-1]) == {
        "file": "pref",
        "redriven": 1,
    }
    monkeypatch.setenv("JUKI_NATIONAL_URL", server.url)
    again = runner.invoke(app, base)
    assert again.exit_code == 0 and orjson.loads(again.stdout.splitlines()[-1])["pref"]["sent"] == 1
    assert sorted(sim.received_keys()) == ["pref:1", "pref:2"]
