"""Consistency check with the 市町村CS (REQUIREMENTS F1-7, F2-7, S-53; issue 3 item 6).

A municipal CS uploads its *complete* set of persons for its municipality — CSV, UTF-8, a header row,
the file's notified items plus the 住民票コード (`upload_columns`). The server compares it with the
file's present records of that municipality (a designated city's code covers all its wards) and keeps
the run and its differences in the file's own schema:

* ``missing_on_server``    — the municipality has the person, the file has no present record of them
                              in that municipality;
* ``missing_on_municipal`` — the file has a present record in the municipality the upload lacks;
* ``different``            — both have the person; ``fields`` lists each differing item with both
                              values. Stored text is compared exactly as stored; 生年月日 by its
                              canonical JukiDate form (an upload may write 和暦).

Memory stays flat whatever the size (横浜市: 3.7M persons): the upload streams into a TEMP table with
COPY (PostgreSQL parses the CSV), one FULL OUTER JOIN in SQL finds the candidates, and a server-side
cursor streams only those out; the differences go back in with COPY, batch by batch.

A run is recorded as ``running`` in its own committed transaction before the upload is read; the
comparison and its differences commit together with ``completed``. Anything else — a wrong header, a row
PostgreSQL cannot read, a duplicate 住民票コード, an upload cut off mid-row or a dropped connection — rolls
the differences back and marks the run ``failed`` with a stable code (`ReconcileError`): a half result is
never presented as complete. Reconciliation only reports; it never changes the file.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from juki.domain.dates import DateParseError, parse_date
from juki.domain.errors import CATALOG
from juki.domain.lgcodes import DEFAULT_PREFECTURE, LgTable, for_prefecture
from juki.domain.records import FileKind
from juki.files import FileSpec, file_spec
from juki.services.registry.reconciliation_requests import answer_requests

__all__ = [
    "DIFF_KINDS",
    "ReconcileError",
    "RunInfo",
    "get_run",
    "iter_file",
    "list_differences",
    "list_runs",
    "municipality_scope",
    "reconcile",
    "upload_columns",
]

#: Kinds of difference, in the order they are counted and documented.
DIFF_KINDS: tuple[str, ...] = ("missing_on_server", "missing_on_municipal", "different")

#: Stable error codes of a failed run, from the catalogue (the HTTP layer maps them to statuses).
E_HEADER = CATALOG["E_RECON_HEADER"].code  # no header, or not exactly the expected columns
E_TRUNCATED = CATALOG["E_RECON_TRUNCATED"].code  # cut off mid-row, or the connection dropped
E_ROW = CATALOG["E_RECON_ROW"].code  # a row PostgreSQL cannot read (columns, quoting, code format)
E_ENCODING = CATALOG["E_RECON_ENCODING"].code  # not UTF-8
E_DUPLICATE = CATALOG["E_RECON_DUPLICATE"].code  # the same 住民票コード twice
E_MUNICIPALITY = CATALOG["E_RECON_MUNICIPALITY"].code  # not a Kanagawa municipality (or designated city)
E_INTERRUPTED = CATALOG["E_RECON_INTERRUPTED"].code  # the server failed while comparing (database, cancel)
E_ABANDONED = CATALOG["E_RECON_ABANDONED"].code  # the session running it disappeared (crash, kill)

_UPLOAD_TABLE = "juki_recon_upload"
_MAX_HEADER_BYTES = 64 * 1024
_FETCH = 5_000
_LINE_RE = re.compile(r"\bline (\d+)")
_COLUMN_RE = re.compile(r"\bcolumn (\w+)")
_DUP_RE = re.compile(r"=\(([^)]*)\)")


class ReconcileError(Exception):
    """A run that could not complete: a stable code, a Japanese message, the run (when recorded)."""

    def __init__(
        self, code: str, message: str | None = None, *, run_id: int | None = None, line: int | None = None
    ) -> None:
        spec = CATALOG[code]  # a code outside the catalogue (docs/error-codes.md) fails here
        message = message or spec.message_ja
        super().__init__(f"{code}: {message}")
        self.code = spec.code
        self.message = message
        self.run_id = run_id
        self.line = line

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.line is not None:
            out["line"] = self.line
        return out


def upload_columns(file: FileKind) -> tuple[str, ...]:
    """The upload's columns, in order (the header row must be exactly these)."""
    return ("juminhyo_code", *file_spec(file).notified_items)


def municipality_scope(code: str, lg_table: LgTable | None = None) -> tuple[str, ...]:
    """The 市町村コード a municipality's upload covers: itself, or every ward of a designated city.

    ``lg_table`` is the configured prefecture's table (``Settings.lg_table``; None = the default
    prefecture's). Every ward the city ever had is covered: old records keep abolished ward codes."""
    table = lg_table if lg_table is not None else for_prefecture(DEFAULT_PREFECTURE)
    row = table.get(code)
    if row is not None and row.is_designated_city:
        wards = tuple(g.code for g in table if g.is_ward and g.parent_code5 == row.code5)
        if wards:
            return wards
    if row is None or not table.is_resident_register_municipality(code):
        raise ReconcileError(
            E_MUNICIPALITY,
            f"{code} は{table.prefecture().name}の市町村（または指定都市）の地方公共団体コードではありません",
        )
    return (code,)


@dataclass
class RunInfo:
    """One reconciliation run as kept."""

    run_id: int
    file: str
    municipality_code: str
    scope_codes: list[str]
    requested_by: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    uploaded_rows: int | None
    counts: dict[str, Any] | None
    error_code: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "file": self.file,
            "municipality_code": self.municipality_code,
            "scope_codes": self.scope_codes,
            "requested_by": self.requested_by,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "uploaded_rows": self.uploaded_rows,
            "counts": self.counts,
            "error": {"code": self.error_code, "message": self.error} if self.error_code else None,
        }


# ------------------------------------------------------------------------------------------- upload


class _SourceFailed(Exception):
    """The upload's byte source raised (the client's connection dropped)."""


@dataclass
class _Upload:
    """The upload's bytes, read once, with what the checks need to know about them."""

    chunks: Iterator[bytes]
    progress: Callable[[int], None] | None = None
    bytes_read: int = 0
    ended: bool = False
    last_byte: bytes = b""
    data_bytes: int = 0
    _pending: bytes = field(default=b"")

    def _next(self) -> bytes | None:
        if self.ended:
            return None
        while True:
            try:
                chunk = next(self.chunks)
            except StopIteration:
                self.ended = True
                return None
            except Exception as exc:  # the transport's error: a dropped connection, a read timeout
                raise _SourceFailed(str(exc) or type(exc).__name__) from exc
            if chunk:
                self.bytes_read += len(chunk)
                if self.progress is not None:
                    self.progress(self.bytes_read)
                return bytes(chunk)

    def header(self) -> bytes | None:
        """The header line without its line end; None when the upload ended before a newline."""
        buffer = b""
        while b"\n" not in buffer:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise ReconcileError(E_HEADER, "見出し行が長すぎます（改行がありません）")
            chunk = self._next()
            if chunk is None:
                self._pending = buffer
                return None
            buffer += chunk
        line, _, rest = buffer.partition(b"\n")
        self._pending = rest
        return line

    def leftover(self) -> bytes:
        """What was read after the header line (or everything, when there was no newline)."""
        return self._pending

    def data(self) -> Iterator[bytes]:
        """The bytes after the header line."""
        chunk: bytes | None = self._pending
        self._pending = b""
        while chunk is not None:
            if chunk:
                self.data_bytes += len(chunk)
                self.last_byte = chunk[-1:]
                yield chunk
            chunk = self._next()


def iter_file(path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """A file's bytes in chunks (the operator path and the benchmark stream it like an upload)."""
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


def _check_header(raw: bytes | None, expected: tuple[str, ...], pending: bytes) -> None:
    if raw is None:
        if not pending.strip():
            raise ReconcileError(E_HEADER, "アップロードが空です（見出し行が必要です）")
        try:
            fields = next(csv.reader([pending.decode("utf-8-sig").rstrip("\r")]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            fields = []
        if tuple(fields) == expected:
            raise ReconcileError(
                E_TRUNCATED, "アップロードが見出し行の途中で終わっています（改行がありません）"
            )
        raise ReconcileError(E_HEADER, _header_message(expected))
    try:
        text = raw.decode("utf-8-sig").rstrip("\r")
        fields = next(csv.reader([text]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise ReconcileError(E_HEADER, _header_message(expected)) from None
    if tuple(f.strip() for f in fields) != expected:
        raise ReconcileError(E_HEADER, _header_message(expected))


def _header_message(expected: tuple[str, ...]) -> str:
    return "見出し行が違います。次の列をこの順で指定してください: " + ",".join(expected)


# ------------------------------------------------------------------------------------------- runs


def _sweep_abandoned(conn: psycopg.Connection[Any], schema: str) -> None:
    """Mark failed every 'running' run whose session is gone (a killed server, a lost connection).

    A session this role may not inspect (backend_start hidden) counts as alive.
    """
    conn.execute(
        sql.SQL(
            """UPDATE {}.reconciliation_run r
                  SET status = 'failed', finished_at = now(), error_code = %s,
                      error = %s
                WHERE status = 'running'
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                   WHERE a.pid = r.backend_pid
                                     AND (a.backend_start IS NULL OR a.backend_start = r.backend_start))"""
        ).format(sql.Identifier(schema)),
        (E_ABANDONED, CATALOG[E_ABANDONED].message_ja),
    )


def _start_run(
    conn: psycopg.Connection[Any], tables: FileSpec, municipality: str, scope: tuple[str, ...], by: str
) -> int:
    _sweep_abandoned(conn, tables.schema)
    row = conn.execute(
        sql.SQL(
            """INSERT INTO {}.reconciliation_run
                 (municipality_code, scope_codes, requested_by, backend_pid, backend_start)
               SELECT %s, %s, %s, pg_backend_pid(),
                      (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
               RETURNING id"""
        ).format(sql.Identifier(tables.schema)),
        (municipality, list(scope), by),
    ).fetchone()
    assert row is not None
    conn.commit()
    return int(row[0])


def _fail_run(conn: psycopg.Connection[Any], schema: str, run_id: int, code: str, message: str) -> None:
    """Record the failure in a transaction of its own (the work's transaction was rolled back)."""
    try:
        conn.rollback()
        conn.execute(
            sql.SQL(
                """UPDATE {}.reconciliation_run
                      SET status = 'failed', finished_at = now(), error_code = %s, error = %s,
                          uploaded_rows = NULL, counts = NULL
                    WHERE id = %s"""
            ).format(sql.Identifier(schema)),
            (code, message, run_id),
        )
        conn.commit()
    except psycopg.Error:
        # The connection itself is gone: the run stays 'running' until the next sweep marks it
        # abandoned (its session no longer exists). It is never shown as completed.
        pass


def _classify(exc: psycopg.Error) -> ReconcileError:
    """A PostgreSQL error while reading the upload → a stable code and a message without row data."""
    diag = exc.diag
    primary = diag.message_primary or str(exc)
    context = diag.context or ""
    line_match = _LINE_RE.search(context)
    line = int(line_match.group(1)) + 1 if line_match else None  # +1: the header line
    where = f"{line}行目: " if line else ""
    column_match = _COLUMN_RE.search(context)
    column = f"（列 {column_match.group(1)}）" if column_match else ""
    if isinstance(exc, pg_errors.CharacterNotInRepertoire | pg_errors.UntranslatableCharacter):
        return ReconcileError(E_ENCODING, f"{where}UTF-8 ではない文字があります", line=line)
    if isinstance(exc, pg_errors.BadCopyFileFormat):
        if "unterminated" in primary:
            return ReconcileError(
                E_TRUNCATED, f"{where}引用符が閉じられないままアップロードが終わっています", line=line
            )
        if "missing data" in primary:
            return ReconcileError(E_ROW, f"{where}列が足りません{column}", line=line)
        if "extra data" in primary:
            return ReconcileError(E_ROW, f"{where}列が多すぎます", line=line)
        return ReconcileError(E_ROW, f"{where}CSVとして読めません", line=line)
    if isinstance(exc, pg_errors.CheckViolation | pg_errors.NotNullViolation):
        return ReconcileError(E_ROW, f"{where}住民票コードは半角数字11桁で指定してください", line=line)
    if isinstance(exc, pg_errors.UniqueViolation):
        dup = _DUP_RE.search(diag.message_detail or "")
        which = f" {dup.group(1)}" if dup else ""
        return ReconcileError(E_DUPLICATE, f"同じ住民票コード{which}が2回以上あります")
    if isinstance(exc, pg_errors.DataError | pg_errors.ProgramLimitExceeded):
        return ReconcileError(E_ROW, f"{where}読めない行があります{column}", line=line)
    return ReconcileError(E_INTERRUPTED, "照合中にサーバでエラーが発生しました。再送してください")


# ------------------------------------------------------------------------------------------- compare


def _same_date(uploaded: str, stored: str) -> bool:
    try:
        return parse_date(uploaded).canonical() == stored
    except DateParseError:
        return False


def _compare_query(tables: FileSpec, items: tuple[str, ...]) -> sql.Composed:
    ident = sql.Identifier
    server_cols = sql.SQL(", ").join(
        sql.SQL("coalesce({c}, '') AS {c}").format(c=ident(c)) for c in ("juminhyo_code", *items)
    )
    u_cols = sql.SQL(", ").join(sql.SQL("u.{}").format(ident(c)) for c in items)
    s_cols = sql.SQL(", ").join(sql.SQL("s.{}").format(ident(c)) for c in items)
    return sql.SQL(
        """SELECT coalesce(u.juminhyo_code, s.juminhyo_code), u.juminhyo_code IS NOT NULL,
                  s.juminhyo_code IS NOT NULL, {u_cols}, {s_cols}
             FROM {upload} u
             FULL JOIN (SELECT {server_cols} FROM {schema}.{current}
                         WHERE {present} AND {muni} = ANY(%s)) s
               ON s.juminhyo_code = u.juminhyo_code
            WHERE u.juminhyo_code IS NULL OR s.juminhyo_code IS NULL
               OR ({u_cols}) IS DISTINCT FROM ({s_cols})
            ORDER BY 1"""
    ).format(
        u_cols=u_cols,
        s_cols=s_cols,
        upload=ident(_UPLOAD_TABLE),
        server_cols=server_cols,
        schema=ident(tables.schema),
        current=ident(tables.current_table),
        present=sql.SQL("status = ANY({})").format(sql.Literal(sorted(tables.present_statuses))),
        muni=ident(tables.municipality_column),
    )


def _copy_upload(conn: psycopg.Connection[Any], columns: tuple[str, ...], upload: _Upload) -> int:
    """Stream the upload into the TEMP table; returns the number of data rows."""
    ident = sql.Identifier
    defs = sql.SQL(", ").join(
        sql.SQL("{} text NOT NULL{}").format(
            ident(c), sql.SQL(" CHECK (juminhyo_code ~ '^[0-9]{11}$')" if c == "juminhyo_code" else "")
        )
        for c in columns
    )
    conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(ident(_UPLOAD_TABLE), defs))
    names = sql.SQL(", ").join(ident(c) for c in columns)
    copy_sql = sql.SQL(
        "COPY {} ({}) FROM STDIN (FORMAT csv, HEADER false, ENCODING 'UTF8', FORCE_NOT_NULL ({}))"
    ).format(ident(_UPLOAD_TABLE), names, names)
    with conn.cursor() as cur:
        with cur.copy(copy_sql) as copy:
            for chunk in upload.data():
                copy.write(chunk)
            if upload.data_bytes and upload.last_byte != b"\n":
                raise ReconcileError(
                    E_TRUNCATED, "アップロードが行の途中で終わっています（最後の行に改行がありません）"
                )
        return max(cur.rowcount, 0)


def _diff_batches(
    conn: psycopg.Connection[Any], tables: FileSpec, items: tuple[str, ...], scope: tuple[str, ...]
) -> Iterator[list[tuple[str, str, dict[str, Any] | None]]]:
    """Differences in 住民票コード order, in batches: (code, kind, fields)."""
    width = len(items)
    birth = items.index("birth_date")
    with conn.cursor(name="juki_recon_diff") as cur:
        cur.execute(_compare_query(tables, items), (list(scope),))
        while rows := cur.fetchmany(_FETCH):
            out: list[tuple[str, str, dict[str, Any] | None]] = []
            for row in rows:
                code, in_upload, in_server = row[0], row[1], row[2]
                if not in_server:
                    out.append((code, "missing_on_server", None))
                    continue
                if not in_upload:
                    out.append((code, "missing_on_municipal", None))
                    continue
                ours = row[3 : 3 + width]
                theirs = row[3 + width :]
                fields: dict[str, Any] = {}
                for i, item in enumerate(items):
                    if ours[i] != theirs[i] and not (i == birth and _same_date(ours[i], theirs[i])):
                        fields[item] = {"municipal": ours[i], "server": theirs[i]}
                if fields:
                    out.append((code, "different", fields))
            yield out


def reconcile(
    conn: psycopg.Connection[Any],
    file: FileKind,
    municipality_code: str,
    chunks: Iterable[bytes],
    *,
    requested_by: str,
    progress: Callable[[int], None] | None = None,
    expected_rows: int | None = None,
    timings: dict[str, float] | None = None,
    lg_table: LgTable | None = None,
) -> RunInfo:
    """Compare a municipality's complete upload with the file; keep and return the completed run.

    ``conn`` connects as the file's role, not in autocommit mode (any open transaction of it is rolled
    back first; it is left with none open). ``chunks``
    is the upload's bytes (CSV with `upload_columns` as header). ``progress`` gets the bytes read so
    far. ``expected_rows``, when the sender states it, must equal the rows received (a cut exactly at a
    row boundary is otherwise undetectable). ``timings``, when given, receives the seconds of each
    phase (upload, index, compare). Raises ReconcileError — after marking the run failed when
    it was recorded — for every upload that cannot be compared in full.
    """
    if conn.autocommit:
        raise ValueError("reconcile() needs a transactional connection (the TEMP table lives in it)")
    tables = file_spec(file)
    scope = municipality_scope(municipality_code, lg_table)
    items = tables.notified_items
    columns = upload_columns(file)
    conn.rollback()
    run_id = _start_run(conn, tables, municipality_code, scope, requested_by)
    upload = _Upload(iter(chunks), progress)
    clock = time.monotonic()
    phases: dict[str, float] = timings if timings is not None else {}

    def phase(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases[name] = round(now - clock, 3)
        clock = now

    try:
        header = upload.header()
        _check_header(header, columns, upload.leftover())
        # The cursor reads everything: no fast-start plan (an index-order merge join would be slow).
        conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        conn.execute("SET LOCAL work_mem = '64MB'")
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        uploaded = _copy_upload(conn, columns, upload)
        phase("upload")
        if expected_rows is not None and expected_rows != uploaded:
            raise ReconcileError(
                E_TRUNCATED, f"受信した行数 {uploaded} が送信側の行数 {expected_rows} と一致しません"
            )
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX ON {} (juminhyo_code)").format(sql.Identifier(_UPLOAD_TABLE))
        )
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(_UPLOAD_TABLE)))
        phase("index")
        counts: Counter[str] = Counter()
        fields: Counter[str] = Counter()
        seq = 0
        diff_copy = sql.SQL(
            "COPY {}.reconciliation_diff (run_id, seq, juminhyo_code, kind, fields) FROM STDIN"
        ).format(sql.Identifier(tables.schema))
        for batch in _diff_batches(conn, tables, items, scope):
            if not batch:
                continue
            with conn.cursor() as cur, cur.copy(diff_copy) as copy:
                for code, kind, diff in batch:
                    seq += 1
                    counts[kind] += 1
                    if diff:
                        fields.update(diff.keys())
                    copy.write_row(
                        (run_id, seq, code, kind, orjson.dumps(diff).decode() if diff is not None else None)
                    )
        matched = uploaded - counts["missing_on_server"]
        summary: dict[str, Any] = {
            "uploaded": uploaded,
            "server": matched + counts["missing_on_municipal"],
            "matched": matched,
            "identical": matched - counts["different"],
            **{kind: counts[kind] for kind in DIFF_KINDS},
            "differences": seq,
            "fields": dict(sorted(fields.items())),
        }
        conn.execute(
            sql.SQL(
                """UPDATE {}.reconciliation_run
                      SET status = 'completed', finished_at = clock_timestamp(), uploaded_rows = %s,
                          counts = %s::jsonb
                    WHERE id = %s"""
            ).format(sql.Identifier(tables.schema)),
            (uploaded, orjson.dumps(summary).decode(), run_id),
        )
        # S-53: a completed check answers the regular request(s) it covers, in the same transaction.
        answer_requests(conn, tables, run_id, scope)
        conn.commit()
        phase("compare")
    except ReconcileError as exc:
        exc.run_id = run_id
        _fail_run(conn, tables.schema, run_id, exc.code, exc.message)
        raise
    except _SourceFailed as exc:
        error = ReconcileError(
            E_TRUNCATED, f"アップロードの受信が途中で切断されました（{exc}）", run_id=run_id
        )
        _fail_run(conn, tables.schema, run_id, error.code, error.message)
        raise error from exc
    except psycopg.Error as exc:
        # A COPY aborted by our own ReconcileError / _SourceFailed surfaces as that exception above;
        # here only PostgreSQL's own verdicts on the data, or a server failure, arrive.
        error = _classify(exc)
        error.run_id = run_id
        _fail_run(conn, tables.schema, run_id, error.code, error.message)
        raise error from exc
    except BaseException:
        _fail_run(conn, tables.schema, run_id, E_INTERRUPTED, CATALOG[E_INTERRUPTED].message_ja)
        raise
    info = get_run(conn, file, run_id)
    assert info is not None
    return info


# ------------------------------------------------------------------------------------------- reading


def _run_from_row(file: FileKind, row: tuple[Any, ...]) -> RunInfo:
    return RunInfo(
        run_id=int(row[0]),
        file=file.value,
        municipality_code=str(row[1]),
        scope_codes=list(row[2]),
        requested_by=str(row[3]),
        status=str(row[4]),
        started_at=row[5],
        finished_at=row[6],
        uploaded_rows=None if row[7] is None else int(row[7]),
        counts=row[8],
        error_code=row[9],
        error=row[10],
    )


_RUN_COLUMNS = sql.SQL(
    "id, municipality_code, scope_codes, requested_by, status, started_at, finished_at, "
    "uploaded_rows, counts, error_code, error"
)


def get_run(conn: psycopg.Connection[Any], file: FileKind, run_id: int) -> RunInfo | None:
    """A kept run (runs whose session disappeared are first marked failed, never left 'running')."""
    schema = file_spec(file).schema
    _sweep_abandoned(conn, schema)
    row = conn.execute(
        sql.SQL("SELECT {} FROM {}.reconciliation_run WHERE id = %s").format(
            _RUN_COLUMNS, sql.Identifier(schema)
        ),
        (run_id,),
    ).fetchone()
    conn.commit()
    return _run_from_row(file, row) if row else None


def list_runs(
    conn: psycopg.Connection[Any], file: FileKind, municipality_code: str | None = None, limit: int = 20
) -> list[RunInfo]:
    """The latest runs, newest first (optionally of one municipality)."""
    schema = file_spec(file).schema
    _sweep_abandoned(conn, schema)
    where = sql.SQL("WHERE municipality_code = %s") if municipality_code else sql.SQL("")
    params: tuple[Any, ...] = (municipality_code, limit) if municipality_code else (limit,)
    rows = conn.execute(
        sql.SQL("SELECT {} FROM {}.reconciliation_run {} ORDER BY id DESC LIMIT %s").format(
            _RUN_COLUMNS, sql.Identifier(schema), where
        ),
        params,
    ).fetchall()
    conn.commit()
    return [_run_from_row(file, row) for row in rows]


def list_differences(
    conn: psycopg.Connection[Any], file: FileKind, run_id: int, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """One page of a run's differences, in 住民票コード order (``offset`` differences skipped)."""
    rows = conn.execute(
        sql.SQL(
            """SELECT seq, juminhyo_code, kind, fields FROM {}.reconciliation_diff
                WHERE run_id = %s AND seq > %s ORDER BY seq LIMIT %s"""
        ).format(sql.Identifier(file_spec(file).schema)),
        (run_id, offset, limit),
    ).fetchall()
    conn.commit()
    return [{"seq": r[0], "juminhyo_code": r[1], "kind": r[2], "fields": r[3]} for r in rows]
