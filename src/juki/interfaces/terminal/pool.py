"""A few autocommit connections per database role, reused across requests.

The terminal services expect autocommit connections (services/guard.py: each ``transaction()``
block is then a real transaction, and a refusal's log row is committed before the refusal is
raised). A connection goes back to the pool only when it is healthy and idle; one taken from the
pool is checked with a cheap round trip, so a PostgreSQL restart costs no request.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from juki.store.db import Database, DbRole


class AutocommitPool:
    """Autocommit connections per role (juki_term for sign-in and rights, juki_pref / juki_fuhyo for
    the searches of File 1 / File 2: S-35..S-37 hold for the terminal too)."""

    def __init__(self, db: Database, *, max_idle: int = 4) -> None:
        self.db = db
        self.max_idle = max_idle
        self._idle: dict[DbRole, queue.LifoQueue[psycopg.Connection[Any]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _queue(self, role: DbRole) -> queue.LifoQueue[psycopg.Connection[Any]]:
        with self._lock:
            return self._idle.setdefault(role, queue.LifoQueue())

    def _take(self, role: DbRole) -> psycopg.Connection[Any]:
        idle = self._queue(role)
        while True:
            try:
                conn = idle.get_nowait()
            except queue.Empty:
                return self.db.connect(role, autocommit=True)
            try:
                conn.execute("SELECT 1")
                return conn
            except psycopg.Error:
                conn.close()

    @contextmanager
    def connection(self, role: DbRole) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection as ``role``. It goes back to the pool only if it is healthy and
        not inside a transaction (a refusal leaves it idle and reusable; a broken one is dropped)."""
        conn = self._take(role)
        try:
            yield conn
        finally:
            idle = self._queue(role)
            healthy = (
                not self._closed
                and not conn.closed
                and not conn.broken
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                and idle.qsize() < self.max_idle
            )
            if healthy:
                idle.put(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            queues = list(self._idle.values())
        for idle in queues:
            while True:
                try:
                    idle.get_nowait().close()
                except queue.Empty:
                    break
