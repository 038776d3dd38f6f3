"""The update ledger (REQUIREMENTS F1-1, F2-1): apply a batch of municipal change notifications.

For each notification, in order: parse and validate it, apply every logical check against the
person's state *as left by the earlier items of the same batch*, keep the superseded version as
history, assign the 更新順番号, write an inbox row whatever the outcome, and one outbox row (the notice
to the national server) per accepted change. The whole batch commits in one transaction, and only
then are results returned: accepted means committed.

Concurrency: every person and every (municipality, notification id) the batch touches is locked
with a transaction-level advisory lock, taken in sorted order so two batches cannot deadlock, and
the idempotency key has a unique index as a last line of defence; a batch that loses a race is
retried whole (nothing of it was committed).

Throughput: the batch reads everything it needs in three queries and writes with pipelined
``executemany`` — no per-item round trips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from juki.domain.checks import check_notification, transition
from juki.domain.codes import CheckDigitMode
from juki.domain.derive import retain_until
from juki.domain.errors import Rejection
from juki.domain.lgcodes import LgTable
from juki.domain.notification import Notification, parse_notification
from juki.domain.records import EndKind, FileKind
from juki.services.registry.rows import HISTORY_EXTRA, Meta, Row, RowSpec, row_spec

#: The prefecture's business day is counted in Japan time (通知を受けた年月日, D1-19).
JST = ZoneInfo("Asia/Tokyo")
_RETRIES = 3


@dataclass
class Incoming:
    """One notification as it arrived: parsed JSON, or the raw bytes plus the boundary error."""

    line_no: int
    obj: object = None
    raw: bytes | None = None
    error: Rejection | None = None


@dataclass(frozen=True)
class ItemResult:
    """The per-item answer returned to the municipality or printed by `juki apply`."""

    line_no: int
    status: str  # accepted / duplicate / rejected
    municipality_code: str | None = None
    notification_id: str | None = None
    juminhyo_code: str | None = None
    update_seq: int | None = None
    error_code: str | None = None
    message: str | None = None
    detail: str | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line_no, "status": self.status}
        for name in ("municipality_code", "notification_id", "juminhyo_code", "update_seq"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.error_code:
            out["error"] = {"code": self.error_code, "message": self.message, "detail": self.detail}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


@dataclass
class _Parsed:
    item: Incoming
    notification: Notification | None
    rejection: Rejection | None
    payload_hash: bytes | None


@dataclass
class _Plan:
    """Everything one batch will write, built in memory before any write."""

    history: list[Row] = field(default_factory=list)
    final_rows: dict[str, Row] = field(default_factory=dict)
    inbox: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)


def _hash(obj: object) -> bytes:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).digest()


def _lock_key(namespace: str, value: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{namespace}\x00{value}".encode(), digest_size=8).digest(), "big", signed=True
    )


def business_date(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(JST).date()


class UpdateLedger:
    """Applies notification batches for one file over a connection acting as that file's role."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        file: FileKind,
        *,
        check_digit_mode: CheckDigitMode = CheckDigitMode.WARN,
        lg_table: LgTable | None = None,
    ) -> None:
        self.conn = conn
        self.spec: RowSpec = row_spec(file)
        self.check_digit_mode = check_digit_mode
        # The configured prefecture's code table (Settings.lg_table); None = the default prefecture's.
        self.lg_table = lg_table

    # -- public ----------------------------------------------------------------------------------
    def apply(
        self,
        items: Sequence[Incoming],
        *,
        source: str,
        sender: str | None = None,
        now: datetime | None = None,
    ) -> list[ItemResult]:
        """Apply one batch; returns one result per item, in order, after the batch has committed.

        ``sender`` is the municipality the channel authenticated (the 地方公共団体コード in the client
        certificate, S-40/S-42): a notification claiming another sender is rejected, and recorded.
        None means a channel without a municipal identity (an operator's `juki apply`).
        """
        parsed = [self._parse(item, sender) for item in items]
        for attempt in range(_RETRIES):
            try:
                with self.conn.transaction():
                    plan = self._plan(parsed, source=source, now=now or datetime.now(UTC))
                    self._write(plan)
                return plan.results
            except (pg_errors.UniqueViolation, pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- parsing ---------------------------------------------------------------------------------
    def _parse(self, item: Incoming, sender: str | None) -> _Parsed:
        if item.error is not None:
            return _Parsed(item, None, item.error, None)
        try:
            notification = parse_notification(
                item.obj,
                expected_file=self.spec.kind,
                check_digit_mode=self.check_digit_mode,
                lg_table=self.lg_table,
            )
            if sender is not None and notification.municipality_code != sender:
                raise Rejection("E_SENDER_MISMATCH", f"{notification.municipality_code} ≠ {sender}")
        except Rejection as rejection:
            return _Parsed(item, None, rejection, None)
        return _Parsed(item, notification, None, _hash(item.obj))

    # -- planning --------------------------------------------------------------------------------
    def _plan(self, parsed: list[_Parsed], *, source: str, now: datetime) -> _Plan:
        spec = self.spec
        notes = [p.notification for p in parsed if p.notification is not None]
        codes = {n.juminhyo_code for n in notes} | {n.new_juminhyo_code for n in notes if n.new_juminhyo_code}
        idem = {(n.municipality_code, n.notification_id) for n in notes}
        numbers = (
            {str(n.record["my_number"]) for n in notes if n.record and n.record.get("my_number")}
            if spec.file.holds_my_number
            else set()
        )
        self._lock(codes, idem)
        state = self._load_rows(codes)
        accepted = self._load_accepted(idem)
        owners = self._load_owners(numbers)
        inbox_ids = self._next_values(f"{spec.file.inbox}_id_seq", len(parsed))
        received_on = business_date(now)

        plan = _Plan()
        seq_fill: list[list[Row]] = []  # rows of each accepted change waiting for their 更新順番号
        in_batch_dups: list[tuple[int, tuple[str, str]]] = []
        for index, p in enumerate(parsed):
            inbox_id = inbox_ids[index]
            n = p.notification
            if n is None:
                assert p.rejection is not None
                self._reject(plan, p, inbox_id, source, p.rejection)
                continue
            key = (n.municipality_code, n.notification_id)
            if key in accepted:
                first_hash, first_seq = accepted[key]
                if first_hash == p.payload_hash:
                    self._record(plan, p, inbox_id, source, "duplicate", update_seq=first_seq)
                    if first_seq is None:  # first accepted earlier in this very batch
                        in_batch_dups.append((len(plan.results) - 1, key))
                else:
                    self._reject(plan, p, inbox_id, source, Rejection("E_DUPLICATE_CONFLICT"))
                continue
            row = state.get(n.juminhyo_code)
            current = spec.state_of(row) if row else None
            owner = None
            if spec.file.holds_my_number and n.record and n.record.get("my_number"):
                owner = owners.get(str(n.record["my_number"]))
            new_code_exists = bool(n.new_juminhyo_code and state.get(n.new_juminhyo_code) is not None)
            try:
                check_notification(
                    n,
                    current,
                    received_on=received_on,
                    new_code_exists=new_code_exists,
                    my_number_owner=owner,
                )
            except Rejection as rejection:
                self._reject(plan, p, inbox_id, source, rejection)
                continue
            changed = self._apply_one(
                plan, n, row, current, state, owners, inbox_id, source, received_on, now
            )
            seq_fill.append(changed)
            accepted[key] = (p.payload_hash or b"", None)
            self._record(plan, p, inbox_id, source, "accepted", warnings=n.warnings)

        seqs = self._next_values(spec.file.seq, len(seq_fill))
        for seq, rows in zip(seqs, seq_fill, strict=True):
            for row in rows:
                if "superseded_by_seq" in row:
                    row["superseded_by_seq"] = seq
                else:
                    row["update_seq"] = seq
        # Stamp the 更新順番号 into the accepted results and the outbox rows (same order).
        accepted_iter = iter(seqs)
        seq_of_key: dict[tuple[str, str], int] = {}
        for index, (result, inbox_row) in enumerate(zip(plan.results, plan.inbox, strict=True)):
            if result.status == "accepted":
                seq = next(accepted_iter)
                inbox_row["update_seq"] = seq
                plan.results[index] = replace(result, update_seq=seq)
                seq_of_key[(str(result.municipality_code), str(result.notification_id))] = seq
        for index, key in in_batch_dups:
            plan.inbox[index]["update_seq"] = seq_of_key[key]
            plan.results[index] = replace(plan.results[index], update_seq=seq_of_key[key])
        for notice_row, seq in zip(plan.outbox, seqs, strict=True):
            notice_row["update_seq"] = seq
            notice_row["payload"]["update_seq"] = seq
            notice_row["idempotency_key"] = f"{spec.kind.value}:{seq}"
        return plan

    def _apply_one(
        self,
        plan: _Plan,
        n: Notification,
        row: Row | None,
        current: Any,
        state: dict[str, Row | None],
        owners: dict[str, str],
        inbox_id: int,
        source: str,
        received_on: date,
        now: datetime,
    ) -> list[Row]:
        """Plan one accepted change; returns the rows whose 更新順番号 is filled in later."""
        spec = self.spec
        t = transition(n, current)
        touched: list[Row] = []
        base: dict[str, Any] = {
            "change_reason": n.reason.value,
            "change_date": n.change_date.canonical(),
            "notified_on": received_on,
            "updated_at": now,
            "operator_id": f"cs:{n.municipality_code}",
            "terminal_id": source,
        }
        if row is not None:
            touched.append(self._snapshot(plan, row, inbox_id, now))
        if t.ends_old_code:
            assert row is not None and n.new_juminhyo_code
            old = dict(row)
            old.update(base)
            old.update(
                status=spec.file.ended_status,
                end_kind=EndKind.CODE_CHANGED.value,
                successor_code=n.new_juminhyo_code,
                version=row["version"] + 1,
            )
            spec.code_changed(old, n.reason, base["change_date"])
            state[n.juminhyo_code] = old
            plan.final_rows[n.juminhyo_code] = old
            touched.append(old)
            code: str = n.new_juminhyo_code
            version = 1
            old_code: str | None = n.juminhyo_code
        else:
            code = n.juminhyo_code
            version = row["version"] + 1 if row is not None else 1
            old_code = (row.get("old_juminhyo_code") or None) if row is not None else None
        meta = Meta(
            juminhyo_code=code,
            change_reason=n.reason.value,
            change_date=base["change_date"],
            status=t.status,
            end_kind=t.end_kind.value if t.end_kind else None,
            notified_on=received_on,
            update_seq=0,
            version=version,
            updated_at=now,
            operator_id=base["operator_id"],
            terminal_id=source,
            # File 2: the 附票管理市町村 is the sender (the checks made sure it already managed a
            # record it changes); File 1 takes the 市町村コード from the record itself.
            municipality_code=n.municipality_code,
            old_juminhyo_code=old_code,
        )
        new_row = spec.build_row(t.record, meta, None)
        if row is not None and not t.ends_old_code:
            for carried in spec.carried_columns:
                new_row[carried] = row[carried]
        state[code] = new_row
        plan.final_rows[code] = new_row
        touched.append(new_row)
        # A number the person gave up stays theirs (it is in their history now): nothing is removed.
        if spec.file.holds_my_number and new_row["my_number"]:
            owners[new_row["my_number"]] = code
        notice = spec.notice(new_row)
        if t.ends_old_code:
            notice["old_juminhyo_code"] = n.juminhyo_code
        plan.outbox.append(
            {
                "destination": spec.destination,
                "juminhyo_code": code,
                "update_seq": 0,
                "idempotency_key": "",
                "payload": notice,
            }
        )
        return touched

    def _snapshot(self, plan: _Plan, row: Row, inbox_id: int, now: datetime) -> Row:
        """The superseded version, as a history row (R-02: retained 150 years from now)."""
        snap = {col: row[col] for col in self.spec.columns}
        snap["superseded_at"] = now
        snap["superseded_by_seq"] = 0
        snap["superseded_by_inbox"] = inbox_id
        if self.spec.retention:  # a superseded version is kept 150 years
            snap["retention_flag"] = True
            snap["retain_until"] = retain_until(None, business_date(now))
        plan.history.append(snap)
        return snap

    def _record(
        self,
        plan: _Plan,
        p: _Parsed,
        inbox_id: int,
        source: str,
        status: str,
        *,
        update_seq: int | None = None,
        warnings: tuple[str, ...] = (),
        rejection: Rejection | None = None,
    ) -> None:
        n = p.notification
        obj = p.item.obj if isinstance(p.item.obj, dict) else None
        muni = n.municipality_code if n else _text(obj, "municipality_code")
        nid = n.notification_id if n else _text(obj, "notification_id")
        code = n.juminhyo_code if n else _text(obj, "juminhyo_code")
        plan.inbox.append(
            {
                "id": inbox_id,
                "source": source,
                "line_no": p.item.line_no,
                "municipality_code": muni,
                "notification_id": nid,
                "juminhyo_code": code,
                "reason": n.reason.value if n else _text(obj, "reason"),
                "status": status,
                "error_code": rejection.code if rejection else None,
                "error_message": rejection.message if rejection else None,
                "warnings": list(warnings),
                "payload": Jsonb(p.item.obj) if p.item.raw is None and p.item.obj is not None else None,
                "raw": p.item.raw,
                "payload_hash": p.payload_hash,
                "update_seq": update_seq,
            }
        )
        plan.results.append(
            ItemResult(
                line_no=p.item.line_no,
                status=status,
                municipality_code=muni,
                notification_id=nid,
                juminhyo_code=code,
                update_seq=update_seq,
                error_code=rejection.code if rejection else None,
                message=rejection.message if rejection else None,
                detail=rejection.detail if rejection else None,
                warnings=warnings,
            )
        )

    def _reject(self, plan: _Plan, p: _Parsed, inbox_id: int, source: str, rejection: Rejection) -> None:
        self._record(plan, p, inbox_id, source, "rejected", rejection=rejection)

    # -- database --------------------------------------------------------------------------------
    def _lock(self, codes: Iterable[str], idem: Iterable[tuple[str, str]]) -> None:
        keys = sorted(
            {_lock_key(f"{self.spec.kind}:code", c) for c in codes}
            | {_lock_key(f"{self.spec.kind}:idem", f"{m}\x00{i}") for m, i in idem}
        )
        if keys:
            self.conn.execute(
                "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s",
                (keys,),
            )

    def _load_rows(self, codes: set[str]) -> dict[str, Row | None]:
        state: dict[str, Row | None] = dict.fromkeys(codes)
        if not codes:
            return state
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT * FROM {self.spec.file.current} WHERE juminhyo_code = ANY(%s) FOR UPDATE",
                (list(codes),),
            )
            for row in cur:
                state[row["juminhyo_code"]] = row
        return state

    def _load_accepted(self, idem: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[bytes, int | None]]:
        if not idem:
            return {}
        munis, ids = zip(*idem, strict=True)
        rows = self.conn.execute(
            f"""SELECT i.municipality_code, i.notification_id, i.payload_hash, i.update_seq
                  FROM {self.spec.file.inbox} i
                  JOIN unnest(%s::text[], %s::text[]) AS k(m, n)
                    ON i.municipality_code = k.m AND i.notification_id = k.n
                 WHERE i.status = 'accepted'""",
            (list(munis), list(ids)),
        ).fetchall()
        return {(r[0], r[1]): (bytes(r[2]), r[3]) for r in rows}

    def _load_owners(self, numbers: set[str]) -> dict[str, str]:
        """個人番号 → the person (their 住民票コード today) it has ever belonged to: in the current
        table or in any history version, since a number that was anyone's is never given to another
        (S-39). A code that was changed stands for its successor (followed through the chain); the
        present holder wins over a history one. Both look-ups use an index on my_number."""
        if not numbers:
            return {}
        current, history = self.spec.file.current, self.spec.file.history
        rows = self.conn.execute(
            f"""WITH RECURSIVE hit AS (
                    SELECT my_number, juminhyo_code, 0 AS rank FROM {current}
                     WHERE my_number = ANY(%(n)s) AND end_kind IS DISTINCT FROM 'code_changed'
                    UNION
                    SELECT my_number, juminhyo_code, 1 FROM {history} WHERE my_number = ANY(%(n)s)
                ), chain AS (
                    SELECT my_number, juminhyo_code AS code, rank, 0 AS hops FROM hit
                    UNION ALL
                    SELECT chain.my_number, c.successor_code, chain.rank, chain.hops + 1
                      FROM chain JOIN {current} c ON c.juminhyo_code = chain.code
                     WHERE c.end_kind = 'code_changed' AND c.successor_code IS NOT NULL
                       AND chain.hops < 32
                )
                SELECT my_number, code FROM chain ch
                 WHERE NOT EXISTS (SELECT 1 FROM {current} c WHERE c.juminhyo_code = ch.code
                                      AND c.end_kind = 'code_changed' AND c.successor_code IS NOT NULL)
                 ORDER BY rank DESC, code DESC""",
            {"n": list(numbers)},
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}  # the last wins: rank 0 (present holder)

    def _next_values(self, sequence: str, count: int) -> list[int]:
        if count == 0:
            return []
        rows = self.conn.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence, count)
        ).fetchall()
        return [int(r[0]) for r in rows]

    def _write(self, plan: _Plan) -> None:
        spec = self.spec
        with self.conn.cursor() as cur:
            if plan.history:
                cols = (*spec.columns, *HISTORY_EXTRA)
                cur.executemany(
                    _insert(spec.file.history, cols), [[r[c] for c in cols] for r in plan.history]
                )
            if plan.final_rows:
                cols = spec.columns
                updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "juminhyo_code")
                cur.executemany(
                    _insert(spec.file.current, cols)
                    + f" ON CONFLICT (juminhyo_code) DO UPDATE SET {updates}",
                    [[r[c] for c in cols] for r in plan.final_rows.values()],
                )
            if plan.inbox:
                cols = tuple(plan.inbox[0])
                cur.executemany(_insert(spec.file.inbox, cols), [[r[c] for c in cols] for r in plan.inbox])
            if plan.outbox:
                cols = ("destination", "juminhyo_code", "update_seq", "idempotency_key", "payload")
                cur.executemany(
                    _insert(spec.file.outbox, cols),
                    [[Jsonb(r[c]) if c == "payload" else r[c] for c in cols] for r in plan.outbox],
                )


def _insert(table: str, cols: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"


def _text(obj: dict[str, Any] | None, key: str) -> str | None:
    if obj is None:
        return None
    value = obj.get(key)
    return value[:64] if isinstance(value, str) else None
