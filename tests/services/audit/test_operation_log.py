"""The operation log: one hash-chained row per operation, written in the operation's own transaction
(REQUIREMENTS S-15, S-16, S-20)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from juki.domain.records import FileKind
from juki.services.access.actor import Function, Outcome
from juki.services.audit.checkpoints import scan_log, seal
from juki.services.audit.operation_log import GENESIS_HASH, canonical_bytes, epoch_micros, record_operation
from juki.store.db import Database
from tests.services.audit.support import actor, rows


def test_S15_each_operation_leaves_one_chained_row(db: Database) -> None:
    """S-15/S-20: who, where, what, on whom and how it ended; each row chained to the previous."""
    who = actor(db, "suzuki", "代表端末-1")
    with db.connect() as conn:
        first = record_operation(
            conn,
            who,
            function=Function.SEARCH,
            file=FileKind.PREF,
            outcome=Outcome.ALLOW,
            target="12345678901",
            detail={"conditions": {"name": "髙橋　神"}, "hits": 1},
        )
        second = record_operation(
            conn, who, function=Function.VIEW_RECORD, file=FileKind.FUHYO, outcome=Outcome.DENY
        )
        conn.commit()
        logged = rows(conn)
    assert (first, second) == (1, 2)
    one, two = logged
    assert (one.operator_id, one.operator_login, one.terminal_id, one.terminal_name, one.session_id) == (
        who.operator_id,
        "suzuki",
        who.terminal_id,
        "代表端末-1",
        who.session_id,
    )
    assert (one.format, one.actor_kind, one.claimed_login) == (2, "session", None)
    assert (one.function, one.file, one.outcome, one.target) == ("search", "pref", "allow", "12345678901")
    assert (two.function, two.file, two.outcome, two.target, two.detail_text) == (
        "view_record",
        "fuhyo",
        "deny",
        None,
        None,
    )
    assert one.prev_hash == GENESIS_HASH
    assert two.prev_hash == one.row_hash
    assert all(r.expected_hash() == r.row_hash for r in logged)


def test_S16_failed_sign_in_is_logged_without_an_actor(db: Database) -> None:
    """S-16: authentication failures are operations too; nobody is signed in, so the typed login (as
    claimed only, never as the operator: item 9) and the terminal are recorded instead."""
    place = actor(db, "somebody", "T-009").terminal_id
    with db.connect() as conn:
        record_operation(
            conn,
            None,
            function=Function.SIGN_IN,
            file=None,
            outcome=Outcome.FAILURE,
            claimed_login="nobody",
            terminal_id=place,
            detail={"reason": "T_AUTH_FAILED"},
        )
        conn.commit()
        (row,) = rows(conn)
    assert (row.operator_id, row.operator_login, row.terminal_id, row.terminal_name, row.session_id) == (
        None,
        None,
        place,
        "T-009",
        None,
    )
    assert (row.claimed_login, row.actor_kind, row.who) == ("nobody", "unauthenticated", "claimed:nobody")
    assert (row.function, row.file, row.outcome) == ("sign_in", "-", "failure")


def test_S15_log_row_rolls_back_with_its_operation_and_the_chain_stays_gapless(db: Database) -> None:
    """S-15: a row never describes an operation that did not happen; a rollback leaves no gap in
    the chain (the seq of the rolled-back row is skipped: it came from a sequence, migration 0015)."""
    with db.connect() as conn:
        record_operation(conn, actor(db), function=Function.SEARCH, file=FileKind.PREF, outcome=Outcome.ALLOW)
        conn.rollback()
        assert rows(conn) == []
        seq = record_operation(
            conn, actor(db), function=Function.SEARCH, file=FileKind.PREF, outcome=Outcome.ALLOW
        )
        conn.commit()
        assert [(r.seq, r.chain_pos) for r in rows(conn)] == [(seq, 1)]
        assert conn.execute("SELECT last_pos, last_seq FROM audit.chain_head").fetchone() == (1, seq)
        assert scan_log(conn).findings == []


def test_S15_python_canonical_bytes_match_the_database(db: Database) -> None:
    """The verifier's encoding (Python) and the writer's (SQL) agree byte for byte, on awkward values."""
    cases = [
        (None, None, None, None, None, None, None),
        (0, "", 0, "", "", "", "{}"),
        (1, "a;S3:b", 2, "N;", "S1:x;", ";;", '{"k": "v"}'),
        (2**62, "髙橋　神\U000e0100", 3, "端末🏯", "s", "12345678901", '{"a": [1.50, null, true]}'),
    ]
    at_values = [
        datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 0, tzinfo=timezone(timedelta(hours=9))),
    ]
    with db.connect() as conn:
        for opid, login, tid, tname, sid, target, detail in cases:
            for at in at_values:
                db_detail = conn.execute("SELECT %s::jsonb::text", (detail,)).fetchone()
                assert db_detail is not None
                sql = conn.execute(
                    "SELECT audit.canonical_bytes(%s, %s, %s, %s, %s, %s, %s, 'search', 'pref', 'allow', "
                    "%s, %s::jsonb)",
                    (42, at, opid, login, tid, tname, sid, target, detail),
                ).fetchone()
                assert sql is not None
                ours = canonical_bytes(
                    seq=42,
                    at=at,
                    operator_id=opid,
                    operator_login=login,
                    terminal_id=tid,
                    terminal_name=tname,
                    session_id=sid,
                    function="search",
                    file="pref",
                    outcome="allow",
                    target=target,
                    detail_text=db_detail[0],
                )
                assert bytes(sql[0]) == ours
                # Format 2 (migration 0018): the same fields, then claimed_login and actor_kind.
                for claimed, kind in ((None, "session"), (login, "unauthenticated"), ("", "system:console")):
                    sql2 = conn.execute(
                        "SELECT audit.canonical_bytes_v2(%s, %s, %s, %s, %s, %s, %s, 'search', 'pref', "
                        "'allow', %s, %s::jsonb, %s, %s)",
                        (42, at, opid, login, tid, tname, sid, target, detail, claimed, kind),
                    ).fetchone()
                    assert sql2 is not None
                    ours2 = canonical_bytes(
                        format=2,
                        seq=42,
                        at=at,
                        operator_id=opid,
                        operator_login=login,
                        terminal_id=tid,
                        terminal_name=tname,
                        session_id=sid,
                        function="search",
                        file="pref",
                        outcome="allow",
                        target=target,
                        detail_text=db_detail[0],
                        claimed_login=claimed,
                        actor_kind=kind,
                    )
                    assert bytes(sql2[0]) == ours2 != ours


def test_S15_canonical_encoding_is_unambiguous() -> None:
    """Length prefixes: moving a separator from one field into the next, or NULL vs empty, changes
    the bytes."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    base = {
        "seq": 1,
        "at": at,
        "operator_id": None,
        "terminal_id": None,
        "session_id": None,
        "function": "search",
        "file": "pref",
        "outcome": "allow",
        "target": None,
        "detail_text": None,
    }
    a = canonical_bytes(**base, operator_login="ab;", terminal_name="c")  # type: ignore[arg-type]
    b = canonical_bytes(**base, operator_login="ab", terminal_name=";c")  # type: ignore[arg-type]
    c = canonical_bytes(**base, operator_login="", terminal_name=None)  # type: ignore[arg-type]
    d = canonical_bytes(**base, operator_login=None, terminal_name="")  # type: ignore[arg-type]
    assert len({a, b, c, d}) == 4
    assert epoch_micros(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1
    with pytest.raises(ValueError):
        epoch_micros(datetime(2026, 1, 1))


def test_S15_concurrent_appends_keep_one_valid_chain(db: Database) -> None:
    """S-15: terminals append at the same time; the sealer (one at a time, try-lock) chains their
    rows with no fork and no gap."""
    per_thread, threads = 40, 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    people = [actor(db, f"op{index}") for index in range(threads)]  # before the threads race

    def work(index: int) -> None:
        try:
            who = people[index]
            with db.connect() as conn:
                barrier.wait()
                for i in range(per_thread):
                    record_operation(
                        conn,
                        who,
                        function=Function.SEARCH,
                        file=FileKind.PREF,
                        outcome=Outcome.ALLOW,
                        target=str(i),
                    )
                    conn.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    with db.connect() as conn:
        seal(conn)
        result = scan_log(conn)
        logged = rows(conn)
    assert result.findings == []
    assert sorted(r.chain_pos or 0 for r in logged) == list(range(1, per_thread * threads + 1))
    assert {r.operator_login for r in logged} == {f"op{i}" for i in range(threads)}
