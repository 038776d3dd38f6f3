"""The outbox relay: delivers each file's notices to its J-LIS server over mTLS (issue 3, item 3).

The update ledger writes one outbox row per accepted change in the same transaction as the change
(``pref.outbox`` → 全国サーバ, ``fuhyo.outbox`` → 附票全国サーバ). This module sends them:

* **In batches.** The claimed rows go in one request to ``NOTICES_BATCH_PATH`` (a JSON list of
  ``{idempotency_key, notice}`` in id order) and each item's answer is recorded as if it had been sent
  alone (applied/duplicate/stale → sent; an item's error status → retry or dead as below). A request
  that fails as a whole (no answer, 5xx) counts as one failed attempt of its first row — the rest keep
  their place untried, as when the peer is found down sending one by one; a request refused as a whole
  (403) refuses every row. A peer without the batch endpoint (404/405) gets one notice per request to
  ``NOTICES_PATH`` with ``Idempotency-Key: <key>`` from then on.
* **As the file's role.** A pref relay connects as ``juki_pref``, a fuhyo relay as ``juki_fuhyo``; the
  fuhyo role cannot even read ``pref.outbox`` (notices to the 全国サーバ carry the 個人番号, S-35..S-37).
* **Idempotent.** The row's payload goes with ``Idempotency-Key: <idempotency_key>`` ("pref:<更新順番号>"),
  so a redelivery after a crash between "sent" and "recorded" is answered ``duplicate`` by the peer.
* **Several workers at once.** Rows are claimed in one short statement (``FOR UPDATE SKIP LOCKED``) that
  sets a lease (``claimed_by``, ``claimed_until``); no transaction is open during HTTP. A crashed
  worker's lease expires and another worker takes the row (delivering it again is safe: idempotency key).
  A worker stops sending a batch before its lease could run out and releases the rest.
* **Per-person order.** A row is claimable only when no earlier row (lower id) of the same 住民票コード is
  still ``pending`` — so one batch holds at most one row per person, and a person's second change waits
  for the first to be sent (or dead-lettered). A dead row does not block later ones: each notice is a
  full snapshot of the record, so the newer notice carries everything; a dead row redriven later is
  answered ``stale`` by the peer, which keeps the newer copy (it compares 更新順番号).
* **Retries.** A connection error, timeout, 5xx, or 408/409/425/429 (the peer asks to come back later)
  → ``attempts + 1``, ``last_error``, ``next_attempt_at = now + uniform(0, min(cap, base·2^(attempts−1)))``
  ("full jitter"); at ``max_attempts`` the row is ``dead``. Any other 4xx is permanent (the peer refused
  this notice or this sender) → ``dead`` at once, logged with the peer's code. Dead letters are visible
  in :func:`status` and return to ``pending`` with :func:`redrive`.
* A pass that meets ``breaker_failures`` retryable failures in a row stops early (the peer is down):
  the untried rows keep their place without an attempt counted.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from juki.domain.records import FileKind
from juki.files import all_files, file_spec
from juki.services.access.pki import ServerRoleCheck, ServerRoleRefused
from juki.store.db import Database

log = logging.getLogger(__name__)

#: 4xx answers that mean "try again later", not "this notice is refused".
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
NOTICES_PATH = "/jlis/v1/notices"
NOTICES_BATCH_PATH = "/jlis/v1/notices:batch"
_worker_numbers = itertools.count(1)


@dataclass(frozen=True)
class RelayPolicy:
    """How a relay worker behaves; the defaults suit production, tests shorten the times."""

    batch_size: int = 200  # notices per claim, sent in one request (NOTICES_BATCH_PATH)
    lease_seconds: float = 120.0
    timeout_seconds: float = 10.0
    max_attempts: int = 10
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    breaker_failures: int = 5

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1 or self.breaker_failures < 1:
            raise ValueError("batch_size, max_attempts and breaker_failures must be at least 1")
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError("the lease must be longer than the HTTP timeout")
        if self.backoff_base_seconds < 0 or self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError("need 0 <= backoff base <= backoff cap")


@dataclass(frozen=True)
class Peer:
    """Where a file's notices go: the server's base URL and the client context (``pki.client_context``)."""

    base_url: str
    ssl_context: ssl.SSLContext


def backoff_delay(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failure: full jitter, uniform(0, min(cap, base·2^(n−1)))."""
    ceiling = min(cap, base * 2.0 ** min(max(attempts, 1) - 1, 60))
    return (rng or random).uniform(0.0, ceiling)


@dataclass(frozen=True)
class _Claimed:
    id: int
    juminhyo_code: str
    idempotency_key: str
    payload: bytes  # the notice as JSON text, exactly as stored: sent without parsing it again
    attempts: int


@dataclass
class RelayReport:
    """What one pass did."""

    file: str
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # the peer's status: applied/duplicate/stale

    def add(self, other: RelayReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.released += other.released
        self.answers.update(other.answers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "released": self.released,
            "answers": dict(self.answers),
        }


@dataclass(frozen=True)
class _Outcome:
    kind: str  # sent / retry / dead
    detail: str
    answer: str | None = None


def relay_connection(db: Database, file: FileKind | str) -> psycopg.Connection[TupleRow]:
    """An autocommit connection as the file's own role (never the administrator)."""
    return db.connect(file_spec(file).db_role, autocommit=True)


class OutboxRelay:
    """One relay worker for one file. Not thread-safe: run one instance per thread."""

    def __init__(
        self,
        db: Database,
        file: FileKind | str,
        peer: Peer,
        policy: RelayPolicy | None = None,
        *,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.file = FileKind(file)
        self.spec = file_spec(self.file)
        self.peer = peer
        self.policy = policy or RelayPolicy()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{next(_worker_numbers)}"
        self.rng = rng or random.Random()
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._batch_endpoint = True  # until the peer answers 404/405 to a batch
        # trust_env=False: an HTTP(S)_PROXY in the environment must never reroute notices.
        self.client = httpx.Client(
            base_url=peer.base_url,
            verify=peer.ssl_context,
            timeout=self.policy.timeout_seconds,
            trust_env=False,
            headers={"content-type": "application/json"},
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> OutboxRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> psycopg.Connection[TupleRow]:
        if self._conn is None or self._conn.closed:
            self._conn = relay_connection(self.db, self.file)
        return self._conn

    def _q(self, text: str) -> sql.Composed:
        return sql.SQL(text).format(t=sql.SQL(self.spec.outbox))

    # -- claiming and recording (each one short statement, autocommit) ---------------------------
    def claim(self, skip: Sequence[int] = ()) -> list[_Claimed]:
        """Lease up to batch_size due rows, at most one per person (its earliest pending row).

        The person check is a scalar subquery (the person's lowest pending id, from the partial index
        ``outbox_pending_person``), not NOT EXISTS: right after a burst of inserts, before autovacuum
        has analysed the table, the planner took the anti-join for one row and scanned the whole
        pending index for every candidate (9.5 s for 5,000 pending rows instead of 30 ms)."""
        with self.conn.transaction():
            # The planner cannot estimate the per-person filter and, expecting few rows, read and
            # sorted every pending row (running the filter on each) instead of walking
            # ``outbox_pending_due`` in order and stopping after a batch: 18 ms instead of 0.7 ms a
            # claim with 5,000 pending. Scoped to this statement's transaction.
            self.conn.execute("SET LOCAL enable_sort = off")
            rows = self._claim_rows(skip)
        claimed = [_Claimed(int(r[0]), str(r[1]), str(r[2]), str(r[3]).encode(), int(r[4])) for r in rows]
        claimed.sort(key=lambda c: c.id)
        return claimed

    def _claim_rows(self, skip: Sequence[int]) -> list[TupleRow]:
        return self.conn.execute(
            self._q(
                """WITH due AS (
                     SELECT o.id FROM {t} o
                      WHERE o.status = 'pending' AND o.next_attempt_at <= now()
                        AND (o.claimed_until IS NULL OR o.claimed_until < now())
                        AND o.id <> ALL(%(skip)s)
                        AND o.id = (SELECT min(e.id) FROM {t} e
                                     WHERE e.juminhyo_code = o.juminhyo_code AND e.status = 'pending')
                      ORDER BY o.next_attempt_at, o.id
                      LIMIT %(n)s
                      FOR UPDATE OF o SKIP LOCKED)
                   UPDATE {t} o
                      SET claimed_by = %(me)s, claimed_until = now() + make_interval(secs => %(lease)s)
                     FROM due WHERE o.id = due.id
                   RETURNING o.id, o.juminhyo_code, o.idempotency_key, o.payload::text, o.attempts"""
            ),
            {
                "skip": list(skip),
                "n": self.policy.batch_size,
                "me": self.worker_id,
                "lease": self.policy.lease_seconds,
            },
            # Planned afresh each time: a prepared (generic) plan made while the table held few
            # pending rows would be kept after a burst of inserts.
            prepare=False,
        ).fetchall()

    def _mark_sent(self, items: Sequence[_Claimed]) -> None:
        # Recorded even if our lease ran out meanwhile: the peer has it, and that is what "sent" means.
        if not items:
            return
        self.conn.execute(
            self._q(
                """UPDATE {t} SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                          last_error = NULL, claimed_by = NULL, claimed_until = NULL
                    WHERE id = ANY(%s) AND status = 'pending'"""
            ),
            ([item.id for item in items],),
        )

    def _mark_failed(self, item: _Claimed, error: str, *, permanent: bool) -> str:
        attempts = item.attempts + 1
        dead = permanent or attempts >= self.policy.max_attempts
        delay = (
            0.0
            if dead
            else backoff_delay(
                attempts, self.policy.backoff_base_seconds, self.policy.backoff_cap_seconds, self.rng
            )
        )
        row = self.conn.execute(
            self._q(
                """UPDATE {t} SET attempts = attempts + 1, last_error = %(error)s,
                          status = CASE WHEN %(dead)s OR attempts + 1 >= %(max)s
                                        THEN 'dead' ELSE 'pending' END,
                          next_attempt_at = now() + make_interval(secs => %(delay)s),
                          claimed_by = NULL, claimed_until = NULL
                    WHERE id = %(id)s AND status = 'pending' AND claimed_by = %(me)s
                RETURNING status"""
            ),
            {
                "error": error[:2000],
                "dead": dead,
                "max": self.policy.max_attempts,
                "delay": delay,
                "id": item.id,
                "me": self.worker_id,
            },
        ).fetchone()
        if row is None:  # our lease expired and another worker owns the row now: leave it to them
            return "released"
        return str(row[0])

    def _release(self, items: Iterable[_Claimed]) -> int:
        ids = [item.id for item in items]
        if not ids:
            return 0
        self.conn.execute(
            self._q(
                "UPDATE {t} SET claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ANY(%s) AND claimed_by = %s"
            ),
            (ids, self.worker_id),
        )
        return len(ids)

    # -- delivery --------------------------------------------------------------------------------
    def _post(
        self, path: str, content: bytes, headers: dict[str, str] | None = None
    ) -> httpx.Response | _Outcome:
        """POST to the peer; an _Outcome("retry") when the request failed before an answer."""
        try:
            return self.client.post(
                path,
                content=content,
                headers=headers,
                # S-42: after the handshake and before a byte of the notice is written, the server's
                # certificate must name the expected national server; anyone else gets nothing.
                extensions={"trace": ServerRoleCheck(self.spec.national_peer, self.spec.national_label)},
            )
        except httpx.HTTPError as exc:  # connect/TLS failure, timeout, connection cut, bad encoding
            return _Outcome("retry", f"{type(exc).__name__}: {exc}")
        except ServerRoleRefused as exc:  # a server with the wrong role: keep the notice, say why
            return _Outcome("retry", f"{exc.code}: {exc}")

    @staticmethod
    def _classify(status: int, detail: str, answer: str | None = None) -> _Outcome:
        if 200 <= status < 300:
            return _Outcome("sent", detail, answer)
        if status >= 500 or status in RETRYABLE_4XX:
            return _Outcome("retry", detail)
        return _Outcome("dead", detail)

    def deliver(self, item: _Claimed) -> _Outcome:
        """POST one notice; classify the answer. Never raises for network or HTTP errors."""
        response = self._post(NOTICES_PATH, item.payload, {"Idempotency-Key": item.idempotency_key})
        if isinstance(response, _Outcome):
            return response
        status = response.status_code
        if 200 <= status < 300:
            answer = None
            try:
                body = response.json()
                answer = str(body.get("status")) if isinstance(body, dict) else None
            except ValueError:
                pass
            return _Outcome("sent", f"HTTP {status}", answer)
        return self._classify(status, f"HTTP {status}: {response.text[:500]}")

    def deliver_batch(self, items: Sequence[_Claimed]) -> list[_Outcome] | _Outcome | None:
        """POST the notices in one request (``NOTICES_BATCH_PATH``, in id order); classify each answer.

        Returns one outcome per item; or one outcome for the whole request when it failed as a whole
        (no answer, a refusal of the sender, a 5xx); or None when the peer has no batch endpoint.
        Never raises for network or HTTP errors."""
        # Spliced from the stored JSON text (jsonb's own output, valid JSON) instead of parsing every
        # notice into Python objects and serialising it again: the relay's main CPU cost otherwise.
        body = (
            b"["
            + b",".join(
                b'{"idempotency_key":'
                + orjson.dumps(item.idempotency_key)
                + b',"notice":'
                + item.payload
                + b"}"
                for item in items
            )
            + b"]"
        )
        response = self._post(NOTICES_BATCH_PATH, body)
        if isinstance(response, _Outcome):
            return response
        status = response.status_code
        if status in (404, 405):
            return None
        if not 200 <= status < 300:
            return self._classify(status, f"HTTP {status}: {response.text[:500]}")
        try:
            answers = response.json().get("results")
        except (ValueError, AttributeError):
            answers = None
        if not isinstance(answers, list) or len(answers) != len(items):
            return _Outcome("retry", f"HTTP {status}: malformed batch answer")
        out: list[_Outcome] = []
        for item, answer in zip(items, answers, strict=True):
            if not isinstance(answer, dict) or answer.get("idempotency_key") != item.idempotency_key:
                return _Outcome("retry", f"HTTP {status}: batch answer out of order")
            if answer.get("status") == "error":
                code = answer.get("http_status")
                item_status = code if isinstance(code, int) else 500
                detail = orjson.dumps({"code": answer.get("code"), "message": answer.get("message")})
                out.append(self._classify(item_status, f"HTTP {item_status}: {detail.decode()[:500]}"))
            else:
                out.append(_Outcome("sent", f"HTTP {status}", str(answer.get("status"))))
        return out

    def _deliver(self, batch: Sequence[_Claimed], failures: int) -> list[tuple[_Claimed, _Outcome]]:
        """Deliver a claimed batch; the (item, outcome) of each row tried, in order (the rest untried).

        In one request when the peer has the batch endpoint. A request that failed as a whole and may
        be retried counts as one failed attempt of its first row (as if the rows had been sent one by
        one and the peer was found down at the first), the others keep their place untried; a request
        refused as a whole refuses every row. Without the batch endpoint, one request per row, stopping
        at ``breaker_failures`` failures in a row or before one more send could outlast the lease."""
        if self._batch_endpoint:
            answer = self.deliver_batch(batch)
            if isinstance(answer, list):
                return list(zip(batch, answer, strict=True))
            if isinstance(answer, _Outcome):
                if answer.kind == "retry":
                    return [(batch[0], answer)]
                return [(item, answer) for item in batch]
            log.info("%s has no batch endpoint: sending one notice per request", self.spec.national_label)
            self._batch_endpoint = False
        out: list[tuple[_Claimed, _Outcome]] = []
        started = time.monotonic()
        # Stop starting sends once one more could outlast the lease (margin for the bookkeeping).
        # The first row of a batch is always tried (lease > timeout), so every batch makes progress.
        spare = self.policy.lease_seconds - self.policy.timeout_seconds
        budget = spare - min(1.0, spare / 2)
        for index, item in enumerate(batch):
            if failures >= self.policy.breaker_failures:
                break
            if index > 0 and time.monotonic() - started > budget:
                break
            outcome = self.deliver(item)
            failures = failures + 1 if outcome.kind == "retry" else 0
            out.append((item, outcome))
        return out

    def run_once(self) -> RelayReport:
        """Deliver every row that is due now (and those it unblocks), then return what happened.

        A row that failed in this pass is not retried in the same pass, whatever its backoff.
        """
        report = RelayReport(file=self.file.value)
        failed_ids: list[int] = []
        consecutive_failures = 0
        while True:
            if consecutive_failures >= self.policy.breaker_failures:
                log.warning(
                    "%s: %d failures in a row, pausing this pass",
                    self.spec.national_label,
                    consecutive_failures,
                )
                return report
            batch = self.claim(failed_ids)
            if not batch:
                return report
            report.claimed += len(batch)
            tried = self._deliver(batch, consecutive_failures)
            report.released += self._release(batch[len(tried) :])
            self._mark_sent([item for item, outcome in tried if outcome.kind == "sent"])
            for item, outcome in tried:
                if outcome.kind == "sent":
                    report.sent += 1
                    if outcome.answer:
                        report.answers[outcome.answer] += 1
                    consecutive_failures = 0
                    continue
                failed_ids.append(item.id)
                permanent = outcome.kind == "dead"
                result = self._mark_failed(item, outcome.detail, permanent=permanent)
                if permanent:
                    log.error(
                        "%s refused notice %s (outbox id %d) permanently: %s — dead-lettered",
                        self.spec.national_label,
                        item.idempotency_key,
                        item.id,
                        outcome.detail,
                    )
                    consecutive_failures = 0
                else:
                    consecutive_failures += 1
                    log.warning(
                        "delivery of %s to %s failed (attempt %d): %s",
                        item.idempotency_key,
                        self.spec.national_label,
                        item.attempts + 1,
                        outcome.detail,
                    )
                if result == "dead":
                    report.dead += 1
                elif result == "pending":
                    report.retried += 1
                else:
                    report.released += 1

    def run_forever(self, stop: threading.Event, *, idle_seconds: float = 1.0) -> RelayReport:
        """Pass after pass until ``stop`` is set; sleeps ``idle_seconds`` when nothing was due.

        A lost database connection (restart, failover) is logged and retried after ``idle_seconds``.
        """
        total = RelayReport(file=self.file.value)
        while not stop.is_set():
            try:
                report = self.run_once()
            except psycopg.OperationalError as exc:
                log.warning("relay %s: database unavailable (%s); retrying", self.file.value, exc)
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                stop.wait(idle_seconds)
                continue
            total.add(report)
            if report.claimed == 0 or (report.sent == 0 and report.retried + report.dead > 0):
                stop.wait(idle_seconds)
        return total


# -- operators ----------------------------------------------------------------------------------


def file_status(db: Database, file: FileKind | str) -> dict[str, Any]:
    """Counts by status, the due/retrying/claimed pending rows and the oldest pending row's age."""
    outbox = sql.SQL(file_spec(file).outbox)
    with relay_connection(db, file) as conn:
        counts = {"pending": 0, "sent": 0, "dead": 0}
        for status, count in conn.execute(
            sql.SQL("SELECT status, count(*) FROM {} GROUP BY status").format(outbox)
        ).fetchall():
            counts[str(status)] = int(count)
        row = conn.execute(
            sql.SQL(
                """SELECT count(*) FILTER (WHERE next_attempt_at <= now()),
                          count(*) FILTER (WHERE attempts > 0),
                          count(*) FILTER (WHERE claimed_until > now()),
                          extract(epoch FROM now() - min(created_at))
                     FROM {} WHERE status = 'pending'"""
            ).format(outbox)
        ).fetchone()
    assert row is not None
    return {
        **counts,
        "due": int(row[0]),
        "retrying": int(row[1]),
        "claimed": int(row[2]),
        "oldest_pending_age_seconds": None if row[3] is None else round(float(row[3]), 3),
    }


def status(db: Database, files: Iterable[FileKind | str] | None = None) -> dict[str, Any]:
    """The relay's state for operators and metrics: per file (default: both), plus all dead letters."""
    out: dict[str, Any] = {}
    for file in files if files is not None else (spec.kind for spec in all_files()):
        out[FileKind(file).value] = file_status(db, file)
    out["dead_letters"] = sum(v["dead"] for v in out.values() if isinstance(v, dict))
    return out


def dead_letters(db: Database, file: FileKind | str, limit: int = 100) -> list[dict[str, Any]]:
    """The dead rows (newest first) with why they died, without their payload (it holds personal data)."""
    outbox = sql.SQL(file_spec(file).outbox)
    with relay_connection(db, file) as conn:
        rows = conn.execute(
            sql.SQL(
                """SELECT id, idempotency_key, juminhyo_code, attempts, last_error, created_at
                     FROM {} WHERE status = 'dead' ORDER BY id DESC LIMIT %s"""
            ).format(outbox),
            (limit,),
        ).fetchall()
    keys = ("id", "idempotency_key", "juminhyo_code", "attempts", "last_error", "created_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def redrive(db: Database, file: FileKind | str, ids: Sequence[int] | None = None) -> int:
    """Put dead letters (all, or those ``ids``) back to pending with attempts 0; returns how many.

    ``last_error`` is kept until the next attempt overwrites it, so operators still see why it died.
    """
    outbox = sql.SQL(file_spec(file).outbox)
    query = sql.SQL(
        """UPDATE {} SET status = 'pending', attempts = 0, next_attempt_at = now(),
                  claimed_by = NULL, claimed_until = NULL
            WHERE status = 'dead'"""
    ).format(outbox)
    params: tuple[Any, ...] = ()
    if ids is not None:
        query = query + sql.SQL(" AND id = ANY(%s)")
        params = (list(ids),)
    with relay_connection(db, file) as conn:
        cur = conn.execute(query, params)
        count = cur.rowcount
    log.info("redrove %d dead letters of %s", count, FileKind(file).value)
    return count
