"""Hardening item 10: one uncommitted append must not freeze every logged operation.

Before migration 0015 an append locked the chain head until its transaction ended, so a stuck
writer stalled every search and sign-in of every terminal. Now rows are appended unsealed with no
lock another transaction holds, and sealed by whoever gets the sealing lock (try-lock, never waits).
The terminals here run `SET lock_timeout`, so the old design fails the test (LockNotAvailable)
instead of hanging it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import file_spec
from juki.services.access.actor import Function, Outcome
from juki.services.audit.checkpoints import scan_log, seal
from juki.services.audit.operation_log import record_operation
from juki.services.search.service import search
from juki.store.db import Database, DbRole
from juki.tools.bench.registry import bench_load
from juki.tools.bench.search import build_queries
from tests.services.audit.support import actor, rows

TERMINALS = 4
WARM_UP = 3


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def test_hardening_10_S15_a_stuck_writer_cannot_stall_four_searching_terminals(
    db: Database, tmp_path: Path
) -> None:
    """Item 10: a transaction that appended (and sealed) and then hangs open does not hold up the
    searches of four other terminals running at the same time; their rows wait unsealed and are
    chained, gapless, once it ends."""
    bench_load(db, tmp_path / "bench", 300, 1)
    plan = build_queries(db, FileKind.PREF, 120, 1)
    role = frozenset({file_spec(FileKind.PREF).operator_role})  # the search needs the file's operator role
    who = [actor(db, f"term{i}", f"T-{i:03d}", roles=role) for i in range(4)]
    latencies: list[float] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(TERMINALS)

    def terminal(index: int) -> None:
        try:
            with db.connect(DbRole.PREF, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '3s'")
                mine = plan[index::TERMINALS]
                for query in mine[:WARM_UP]:  # warm-up
                    with contextlib.suppress(Refusal):
                        search(conn, who[index], query.conditions, limit=100)
                barrier.wait()
                for query in mine:
                    t0 = time.perf_counter()
                    with contextlib.suppress(Refusal):
                        search(conn, who[index], query.conditions, limit=100)
                    latencies.append(time.perf_counter() - t0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with db.connect(DbRole.PREF) as stuck:
        stuck_seq = record_operation(
            stuck, actor(db, "stuck"), function=Function.SEARCH, file=FileKind.PREF, outcome=Outcome.ALLOW
        )
        # ... and the stuck writer does not commit while the terminals work.
        workers = [threading.Thread(target=terminal, args=(i,)) for i in range(TERMINALS)]
        started = time.monotonic()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        assert errors == []
        assert len(latencies) == len(plan)
        searches = len(plan) + WARM_UP * TERMINALS  # each logged one row
        p99 = _p99(latencies)
        print(
            f"\nitem 10: {len(latencies)} searches on {TERMINALS} terminals, stuck writer open: "
            f"p99 {p99 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms, {elapsed:.1f} s, "
            f"{os.cpu_count()} cores"
        )
        assert max(latencies) < 1.0  # generous: the old design waited until the lock timed out (3 s)
        with db.connect() as auditor:
            assert seal(auditor) == 0  # the stuck writer holds the sealing lock: no wait, nothing sealed
            waiting = scan_log(auditor)
            assert not waiting.errors and waiting.unsealed == searches
            assert "A_UNSEALED" in {f.code for f in waiting.findings}
        stuck.commit()
    with db.connect() as conn:
        assert seal(conn) == searches
        result = scan_log(conn)
        logged = rows(conn)
    assert result.findings == []
    assert [r.chain_pos for r in logged] == list(range(1, searches + 2))
    assert logged[0].seq == stuck_seq and {r.operator_login for r in logged[1:]} == {
        f"term{i}" for i in range(4)
    }
