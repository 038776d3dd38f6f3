"""Bulk load of a population (the CSV files `juki synth` writes) into File 1 and File 2.

The same row builder as the update ledger derives every server-side column (外字数, search keys,
更新順番号 …), so a loaded record is indistinguishable from one built by notifications.

Speed: into an empty file the loader truncates, drops the indexes, COPYs with FREEZE (in the same
transaction as the TRUNCATE, so PostgreSQL writes no WAL for the rows under wal_level=minimal and
sets no hint bits later) and rebuilds the indexes once at the end. Into a non-empty file it COPYs
with the indexes live. File 1 and File 2 load in parallel processes.

Who: truncating, dropping and rebuilding indexes are DDL, which the servers' login roles do not have
(hardening item 8: schemas belong to NOLOGIN owner roles). A bulk load is an administrator's operation:
it connects as the administrator and acts as the file's owner role (the owner of the file's schema, read
from the catalog), so one load still touches only its own file.

Memory stays flat: rows stream from the CSV to COPY; history rows, which arrive in a second file
grouped by person in the same order, are spooled to a temporary file and copied after the current
rows. Bad rows are not loaded; each goes to a rejects file with its line number and error code.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from juki.domain.codes import CheckDigitMode, assess_juminhyo_code, is_valid_my_number
from juki.domain.dates import DateParseError, JukiDate
from juki.domain.derive import LATEST_RETAINABLE_YEAR, KeyCache, retain_until
from juki.domain.lgcodes import DEFAULT_PREFECTURE, for_prefecture
from juki.domain.reasons import ChangeReason, applies_to
from juki.domain.records import EndKind, FileKind
from juki.files import FileSpec
from juki.services.registry.load_lines import LINE_BUILDERS, TEXT_COLUMNS, Checked, Notified
from juki.services.registry.rows import HISTORY_EXTRA, PREF_COLUMNS, Meta, RowSpec, row_spec
from juki.store.copy import RowFormatter, deferred_indexes

Progress = Callable[[int], None]
# R-02's retention columns (RowSpec.retention): only File 1's table has them.
_ENDED_ON = PREF_COLUMNS.index("ended_on")
_RETAIN_UNTIL = PREF_COLUMNS.index("retain_until")
_RETENTION_FLAG = PREF_COLUMNS.index("retention_flag")
LOADER_ID = "bulk-load"
_CHUNK_PERSONS = 2_000


class LoadError(RuntimeError):
    """The input cannot be loaded at all (missing file, wrong header, out-of-order history)."""


@dataclass
class LoadReport:
    file: str
    persons: int = 0
    history_rows: int = 0
    rejected: int = 0
    warnings: int = 0
    mode: str = ""
    seconds: float = 0.0
    copy_seconds: float = 0.0
    index_seconds: float = 0.0
    rejects_path: str | None = None
    reject_codes: dict[str, int] = field(default_factory=dict)


def csv_names(kind: FileKind) -> tuple[str, str]:
    return (f"{kind.value}_current.csv", f"{kind.value}_history.csv")


class _RowError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def __reduce__(self) -> tuple[type[_RowError], tuple[str, str]]:  # crosses to worker processes
        return (_RowError, (self.code, self.detail))


class _Converter:
    """CSV row → table row, with validation. One per file and process."""

    def __init__(self, kind: FileKind, check_mode: CheckDigitMode, prefecture: str) -> None:
        self.kind = kind
        self.spec: RowSpec = row_spec(kind)
        self.cache = KeyCache()
        self.check_mode = check_mode
        self.columns = self.spec.file.csv_columns
        self.items = self.spec.file.notified_items
        self.width = len(self.columns)
        self.index = {name: i for i, name in enumerate(self.columns)}
        # Every code the prefecture ever had: a loaded record may be years old (validity dates are
        # a rule for new notifications, not for the history a population brings).
        self.municipalities = frozenset(for_prefecture(prefecture).resident_register_codes())
        self.statuses = self.spec.statuses
        self.reasons = frozenset(r.value for r in ChangeReason)
        self.file_reasons = frozenset(r.value for r in ChangeReason if applies_to(r, kind))
        self.end_kinds = frozenset(e.value for e in EndKind)
        self.warnings = 0
        self._now = datetime.now(UTC)
        self._notified: dict[str, Notified] = {}
        # Column positions, unpacked once per row (a dict look-up per item was a visible share of a
        # row's cost); -1 where the file has no such column.
        at = self.index.get
        self._at = tuple(
            at(name, -1)
            for name in (
                "birth_date", "change_date", "sex", "change_reason", "status", "notified_on",
                self.spec.file.municipality_column, "my_number", "end_kind", "ended_on", "old_juminhyo_code",
            )
        )  # fmt: skip

    def check(self, values: list[str]) -> Checked:
        """Every check of one CSV row, in the order the update ledger's rules come (raises _RowError)."""
        if len(values) < self.width:
            raise _RowError("E_LOAD_COLUMNS", f"{len(values)} columns, expected {self.width}")
        p_birth, p_change, p_sex, p_reason, p_status, p_notified, p_lg, p_number, p_end, p_ended, p_old = (
            self._at
        )
        code = values[0]
        verdict = assess_juminhyo_code(code, self.check_mode)
        if not verdict.accepted:
            raise _RowError(verdict.error_code or "E_JUMINHYO_CODE_FORMAT", code)
        if verdict.warning_code:
            self.warnings += 1
        cache = self.cache
        try:
            birth = cache.date(values[p_birth])
            change_date = cache.date(values[p_change]).canonical()
        except DateParseError as exc:
            raise _RowError(exc.code, str(exc)) from None
        if values[p_sex] not in ("1", "2"):
            raise _RowError("E_SEX_INVALID", values[p_sex])
        reason = values[p_reason]
        if reason not in self.reasons:
            raise _RowError("E_REASON_UNKNOWN", reason)
        if reason not in self.file_reasons:
            # The ledger's rule (notification.py) and code: a 附票 row with a File 1-only reason used
            # to stop the whole load with a KeyError in the row builder (found by the property test).
            raise _RowError("E_REASON_NOT_FOR_FILE", reason)
        status = values[p_status]
        if status not in self.statuses:
            raise _RowError("E_LOAD_STATUS", status)
        notified_text = values[p_notified]
        notified = self._notified.get(notified_text)
        if notified is None:
            try:
                notified_on = date.fromisoformat(notified_text)
            except ValueError:
                raise _RowError("E_DATE_FORMAT", notified_text) from None
            # Parse each day once: bounded like KeyCache so memory stays flat, and large enough for
            # every day of 150 years (a smaller bound was cleared again and again by a population).
            if len(self._notified) >= 100_000:
                self._notified.clear()
            notified = self._notified[notified_text] = Notified.of(notified_on)
        file = self.spec.file
        municipality = values[p_lg]
        if municipality not in self.municipalities:
            raise _RowError("E_LG_CODE_NOT_IN_PREF", municipality)
        if file.holds_my_number:
            number = values[p_number]
            if number and not is_valid_my_number(number):
                raise _RowError("E_MY_NUMBER_INVALID", number)
        end_kind = self.spec.loaded_end_kind(status, reason, values[p_end] if p_end >= 0 else "")
        if end_kind is not None and end_kind not in self.end_kinds:
            raise _RowError("E_LOAD_STATUS", end_kind)
        if (end_kind is None) == (status in ("ended",)):
            raise _RowError("E_LOAD_STATUS", f"status {status} with end_kind {end_kind}")
        ended: JukiDate | None = None
        if self.spec.retention:
            ended_text = values[p_ended] if status == file.ended_status else ""
            if ended_text:
                try:
                    ended = cache.date(ended_text)
                except DateParseError as exc:
                    # Used to escape as a DateParseError and stop the whole load (no row error).
                    raise _RowError(exc.code, str(exc)) from None
            # R-02 counts 150 years from the 届出日 (of the version that supersedes a history row) and
            # from an ended record's 異動日/消除日: past year 9849 there is no such day, and the
            # retention date stopped the whole load with a ValueError (found by the property test).
            latest = notified.on.year
            if status == file.ended_status:
                latest = max(latest, cache.date(change_date).year or 0, ended.year or 0 if ended else 0)
            if latest > LATEST_RETAINABLE_YEAR:
                raise _RowError("E_DATE_RANGE", f"{latest}年: 150年の保存期間を数えられません")
        old_code = values[p_old] if p_old >= 0 else ""
        return Checked(birth, change_date, notified, end_kind, ended, old_code)

    def values_of(self, values: list[str], checked: Checked, update_seq: int, version: int) -> list[Any]:
        """The row as the update ledger builds it (``build_values``), in column order.

        The loader writes most rows with :data:`LINE_BUILDERS` instead; this is the reference the
        property test holds those lines to, and the path of a row that needs COPY escaping."""
        items: dict[str, object] = {name: values[self.index[name]] for name in self.items}
        items["birth_date"] = checked.birth
        meta = Meta(
            juminhyo_code=values[0],
            change_reason=values[self.index["change_reason"]],
            change_date=checked.change_date,
            status=values[self.index["status"]],
            end_kind=checked.end_kind,
            notified_on=checked.notified.on,
            update_seq=update_seq,
            version=version,
            updated_at=datetime.combine(checked.notified.on, dtime(), UTC),
            operator_id=LOADER_ID,
            terminal_id=LOADER_ID,
            municipality_code=values[self.index[self.spec.file.municipality_column]],
            old_juminhyo_code=checked.old_code or None,
        )
        row = self.spec.build_values(items, meta, self.cache)
        if checked.ended is not None:
            row[_ENDED_ON] = checked.ended.canonical()
            row[_RETAIN_UNTIL] = retain_until(checked.ended, checked.notified.on)
        return row

    def superseded(self, row: list[Any], newer: Checked, newer_seq: int) -> list[Any]:
        """A history row: ``row`` as superseded by a version with ``newer``'s checks (HISTORY_EXTRA)."""
        if self.spec.retention:  # a superseded version is kept 150 years
            row[_RETENTION_FLAG] = True
            row[_RETAIN_UNTIL] = retain_until(None, newer.notified.on)
        row.extend((datetime.combine(newer.notified.on, dtime(), UTC), newer_seq, None))
        return row


#: One CSV record per physical line: `juki synth` writes no field with a line break, and reading line
#: by line means a stray quote spoils only its own line (a CSV reader would swallow the following
#: lines into one field, and they would be neither loaded nor rejected).
class _NeedsEscape(list[str]):
    """The fields of a line with a backslash or a tab: COPY text must escape them, so the loader
    renders the row through the exact per-field path (rare in names and addresses)."""


def _parse_line(raw: bytes) -> list[str] | _RowError:
    """One physical line → its fields, or why it cannot be read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _RowError("E_ENCODING", f"byte {exc.start}")
    if "\x00" in text:
        return _RowError("E_LOAD_CSV", "NUL 文字があります")
    if '"' not in text and "\r" not in text and "\n" not in text:
        # Without a quote or a line break the csv module's result is exactly the comma split (the
        # synthetic and most real files quote nothing), and building a reader per line was the single
        # largest cost of reading. tests/services/registry/test_load_property.py proves they agree.
        if "\\" in text or "\t" in text:
            return _NeedsEscape(text.split(","))
        return text.split(",") if text else []
    try:
        fields = next(csv.reader((text,), strict=True), [])
    except csv.Error as exc:
        return _RowError("E_LOAD_CSV", str(exc))
    if any("\r" in f or "\n" in f for f in fields):
        return _RowError("E_LOAD_CSV", "項目の中に改行があります")
    return _NeedsEscape(fields) if "\\" in text or "\t" in text else fields


def _reader(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str] | _RowError]]:
    """(line number, fields or the line's error) for every data line, blank ones included."""
    with open(path, "rb") as handle:
        header_raw = handle.readline()
        header = _parse_line(header_raw.rstrip(b"\r\n").removeprefix(b"\xef\xbb\xbf"))
        if isinstance(header, _RowError) or tuple(header[: len(columns)]) != columns:
            raise LoadError(f"{path.name}: header does not match the expected columns {columns}")
        for line_no, raw in enumerate(handle, start=2):
            yield line_no, _parse_line(raw.rstrip(b"\r\n"))


#: A line's fields, or why the line could not be read.
_Fields = list[str] | _RowError
#: A person: (line number, current fields, [(line number, history fields)], [(line number, error) of
#: unreadable history lines met while reading its history — rejected on their own]).
_Person = tuple[int, _Fields, list[tuple[int, list[str]]], list[tuple[int, _RowError]]]
CURRENT, HISTORY = 0, 1  # which CSV a reject's line number is in


@dataclass
class _Chunk:
    """Persons to convert."""

    persons: list[_Person]
    seq_base: int  # 更新順番号 of the chunk's first version; every version takes one (rejects leave gaps)


@dataclass
class _Converted:
    current: str
    history: str
    rejects: list[tuple[int, int, str, str]]  # (CURRENT or HISTORY, line, code, detail)
    persons: int
    history_rows: int
    warnings: int


class _ChunkConverter:
    """Converts chunks of persons to COPY text; lives in a worker process (or inline)."""

    def __init__(
        self,
        kind: FileKind,
        check_mode: CheckDigitMode,
        prefecture: str,
        current_nullable: list[int],
        history_nullable: list[int],
    ) -> None:
        spec = row_spec(kind)
        self.conv = _Converter(kind, check_mode, prefecture)
        self.line = LINE_BUILDERS[kind]
        columns = spec.file.csv_columns
        self.at_address = columns.index("address")
        self.at_texts = tuple(columns.index(c) for c in TEXT_COLUMNS[kind])
        self.current_fmt = RowFormatter(current_nullable, len(spec.columns))
        self.history_fmt = RowFormatter(history_nullable, len(spec.columns) + len(HISTORY_EXTRA))

    def __call__(self, chunk: _Chunk) -> _Converted:
        # In a worker process too, the collector waits for the chunk's end (see _gc_paused).
        with _gc_paused():
            return self._convert(chunk)

    def _convert(self, chunk: _Chunk) -> _Converted:
        conv, cache = self.conv, self.conv.cache
        rejects: list[tuple[int, int, str, str]] = []
        warnings_before = conv.warnings
        accepted: list[tuple[_Person, list[Checked], int]] = []  # (person, checks, first 更新順番号)
        seq = chunk.seq_base
        for person in chunk.persons:
            line_no, values, versions, stray = person
            rejects.extend((HISTORY, hline, err.code, err.detail) for hline, err in stray)
            base = seq
            seq += len(versions) + 1
            try:
                if isinstance(values, _RowError):
                    raise values
                # Every version is checked before any line is written: the first failing check names
                # the person's reason, as it always has (history first, then the current row).
                checked = [conv.check(hvalues) for _, hvalues in versions]
                checked.append(conv.check(values))
            except _RowError as exc:
                # Every line of the person is rejected, each with the reason (nothing unaccounted).
                rejects.append((CURRENT, line_no, exc.code, exc.detail))
                rejects.extend(
                    (HISTORY, hline, exc.code, f"現在行 {line_no} の人が取り込まれなかったため")
                    for hline, _ in versions
                )
                continue
            accepted.append((person, checked, base))
        rows = [
            row for (_, values, versions, _), _, _ in accepted for row in (values, *(v for _, v in versions))
        ]
        at_address, at_texts = self.at_address, self.at_texts
        cache.prime([row[at_address] for row in rows], [row[at] for row in rows for at in at_texts])  # type: ignore[index]
        current, history = self._lines(accepted)
        return _Converted(
            "".join(current),
            "".join(history),
            rejects,
            len(current),
            len(history),
            conv.warnings - warnings_before,
        )

    def _lines(self, accepted: list[tuple[_Person, list[Checked], int]]) -> tuple[list[str], list[str]]:
        """The COPY lines of the accepted persons: each history row superseded by the next version."""
        conv, line, cache = self.conv, self.line, self.conv.cache
        current: list[str] = []
        history: list[str] = []
        for (_, values, versions, _), checked, base in accepted:
            assert not isinstance(values, _RowError)  # rejected in the first pass
            for number, (_, hvalues) in enumerate(versions, start=1):
                older, newer, newer_seq = checked[number - 1], checked[number], base + number
                if isinstance(hvalues, _NeedsEscape):
                    row = conv.values_of(hvalues, older, newer_seq - 1, number)
                    history.append(self.history_fmt.line(conv.superseded(row, newer, newer_seq)))
                else:
                    history.append(line(hvalues, older, newer_seq - 1, number, newer, newer_seq, cache))
            seq, version, now = base + len(versions), len(versions) + 1, checked[-1]
            if isinstance(values, _NeedsEscape):
                current.append(self.current_fmt.line(conv.values_of(values, now, seq, version)))
            else:
                current.append(line(values, now, seq, version, None, 0, cache))
        return current, history


_worker: _ChunkConverter | None = None


def _init_worker(
    kind: str, check_mode: str, prefecture: str, current_nullable: list[int], history_nullable: list[int]
) -> None:
    global _worker
    _worker = _ChunkConverter(
        FileKind(kind), CheckDigitMode(check_mode), prefecture, current_nullable, history_nullable
    )


def _convert_in_worker(chunk: _Chunk) -> _Converted:
    assert _worker is not None
    return _worker(chunk)


def _persons(
    current_csv: Path,
    history_csv: Path,
    columns: tuple[str, ...],
    trailing: Callable[[int, _RowError], None],
) -> Iterator[_Person]:
    """Each current row with its history rows (grouped by person, in the same order).

    An unreadable history line belongs to no one for sure: it is rejected by itself."""
    history_iter = _reader(history_csv, (*columns, "version")) if history_csv.exists() else iter(())
    pending = next(history_iter, None)
    for line_no, values in _reader(current_csv, columns):
        code = values[0] if not isinstance(values, _RowError) and values else None
        versions: list[tuple[int, list[str]]] = []
        stray: list[tuple[int, _RowError]] = []
        while pending is not None:
            hline, hvalues = pending
            if isinstance(hvalues, _RowError):
                stray.append((hline, hvalues))
            elif code is not None and hvalues and hvalues[0] == code:
                versions.append((hline, hvalues))
            else:
                break
            pending = next(history_iter, None)
        yield line_no, values, versions, stray
    while pending is not None and isinstance(pending[1], _RowError):
        trailing(pending[0], pending[1])  # unreadable lines after the last person's history
        pending = next(history_iter, None)
    if pending is not None:
        raise LoadError(
            f"{history_csv.name} line {pending[0]}: this history row is not grouped "
            "with its person in the order of the current file"
        )


def load_file(
    conninfo: str,
    kind: FileKind,
    src_dir: Path,
    *,
    rejects_dir: Path,
    check_mode: CheckDigitMode = CheckDigitMode.WARN,
    prefecture: str = DEFAULT_PREFECTURE,
    progress: Progress | None = None,
    workers: int = 0,
) -> LoadReport:
    """Load one file's CSVs; ``conninfo`` is the administrator's (the load acts as the file's owner role).

    ``workers`` > 0 converts rows in that many processes while this one reads the CSV and streams
    COPY in order (in-flight chunks are bounded, so memory stays flat); 0 converts inline.
    """
    started = time.monotonic()
    rows = row_spec(kind)
    spec = rows.file
    current_csv, history_csv = (src_dir / name for name in csv_names(kind))
    if not current_csv.exists():
        raise LoadError(f"{current_csv} がありません")
    report = LoadReport(file=kind.value)
    rejects_dir.mkdir(parents=True, exist_ok=True)
    rejects_path = rejects_dir / f"{kind.value}.rejects.csv"

    try:
        _load_into(
            conninfo,
            kind,
            report,
            current_csv,
            history_csv,
            rejects_dir,
            rejects_path,
            check_mode,
            prefecture,
            progress,
            workers,
        )
    except psycopg.errors.UniqueViolation as exc:
        raise LoadError(_duplicate_message(spec, report.mode, exc.diag.constraint_name or "")) from None
    with psycopg.connect(conninfo, autocommit=True) as conn:
        act_as_owner(conn, spec)
        conn.execute(f"ANALYZE {spec.current}")
        conn.execute(f"ANALYZE {spec.history}")
    if progress:
        progress(report.persons)
    report.rejects_path = str(rejects_path) if report.rejected else None
    if not report.rejected:
        rejects_path.unlink(missing_ok=True)
    report.seconds = time.monotonic() - started
    return report


def _load_into(
    conninfo: str,
    kind: FileKind,
    report: LoadReport,
    current_csv: Path,
    history_csv: Path,
    rejects_dir: Path,
    rejects_path: Path,
    check_mode: CheckDigitMode,
    prefecture: str,
    progress: Progress | None,
    workers: int,
) -> None:
    """The load itself, in one transaction (nothing stays of a load that fails)."""
    rows = row_spec(kind)
    spec = rows.file
    columns = spec.csv_columns
    history_cols = (*rows.columns, *HISTORY_EXTRA)
    with psycopg.connect(conninfo) as conn, conn.transaction():
        act_as_owner(conn, spec)
        conn.execute(f"LOCK TABLE {spec.current}, {spec.history} IN SHARE ROW EXCLUSIVE MODE")
        empty = conn.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {spec.current})").fetchone()
        fast = bool(empty and empty[0])
        report.mode = "empty-fast" if fast else "incremental"
        seq_row = conn.execute(f"SELECT last_value, is_called FROM {spec.seq}").fetchone()
        assert seq_row is not None
        next_seq = int(seq_row[0]) + 1 if seq_row[1] else int(seq_row[0])
        copy_opts = "(FREEZE)" if fast else ""
        nullable = (
            RowFormatter.for_table(conn, spec.schema, spec.current_table, rows.columns).nullable,
            RowFormatter.for_table(conn, spec.schema, spec.history_table, history_cols).nullable,
        )
        if fast:
            conn.execute(f"TRUNCATE {spec.current}, {spec.history}")
        pool = (
            ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(kind.value, check_mode.value, prefecture, *nullable),
            )
            if workers > 0
            else None
        )
        inline = _ChunkConverter(kind, check_mode, prefecture, *nullable) if pool is None else None
        with (
            _index_scope(conn, spec, fast),
            tempfile.TemporaryFile("w+", encoding="utf-8", dir=rejects_dir) as spool,
            open(rejects_path, "w", encoding="utf-8", newline="") as rejects_file,
            conn.cursor() as cur,
        ):
            rejects = csv.writer(rejects_file)
            rejects.writerow(["file", "line", "code", "detail"])
            copy_started = time.monotonic()
            in_flight: deque[Future[_Converted]] = deque()

            def trailing(line_no: int, error: _RowError) -> None:
                report.reject_codes[error.code] = report.reject_codes.get(error.code, 0) + 1
                report.rejected += 1
                rejects.writerow([history_csv.name, line_no, error.code, error.detail])

            def drain(copy: Any, keep: int) -> None:
                while len(in_flight) > keep:
                    done = in_flight.popleft().result()
                    copy.write(done.current)
                    spool.write(done.history)
                    for which, line_no, code, detail in done.rejects:
                        report.reject_codes[code] = report.reject_codes.get(code, 0) + 1
                        name = current_csv.name if which == CURRENT else history_csv.name
                        rejects.writerow([name, line_no, code, detail])
                    report.rejected += len(done.rejects)
                    report.persons += done.persons
                    report.history_rows += done.history_rows
                    report.warnings += done.warnings
                    if progress:
                        progress(report.persons)
                    # The collector is paused while the CSV is read (below): free a chunk's
                    # reference cycles (a rejected row's exception and its traceback) here.
                    gc.collect(0)

            try:
                with (
                    _gc_paused(),
                    cur.copy(
                        f"COPY {spec.current} ({', '.join(rows.columns)}) FROM STDIN {copy_opts}"
                    ) as copy,
                ):
                    batch: list[_Person] = []
                    for person in _persons(current_csv, history_csv, columns, trailing):
                        batch.append(person)
                        if len(batch) == _CHUNK_PERSONS:
                            chunk = _Chunk(batch, next_seq)
                            next_seq += sum(len(p[2]) + 1 for p in batch)
                            in_flight.append(_submit(pool, inline, chunk))
                            drain(copy, keep=3 * max(workers, 1))
                            batch = []
                    if batch:
                        chunk = _Chunk(batch, next_seq)
                        next_seq += sum(len(p[2]) + 1 for p in batch)
                        in_flight.append(_submit(pool, inline, chunk))
                    drain(copy, keep=0)
            finally:
                if pool is not None:
                    pool.shutdown(cancel_futures=True)
            spool.seek(0)
            with cur.copy(f"COPY {spec.history} ({', '.join(history_cols)}) FROM STDIN {copy_opts}") as copy:
                while data := spool.read(1 << 20):
                    copy.write(data)
            report.copy_seconds = time.monotonic() - copy_started
            index_started = time.monotonic()
        report.index_seconds = time.monotonic() - index_started
        if next_seq > 1:
            conn.execute("SELECT setval(%s::regclass, %s)", (spec.seq, next_seq - 1))


def _duplicate_message(spec: FileSpec, mode: str, constraint: str) -> str:
    """Why a load met a uniqueness rule, for the operator (the value itself is personal data and is
    not shown). Into an empty file only the CSV can clash with itself; into a filled one it may clash
    with the people already registered."""
    nothing, fix = "（何も読み込んでいません）", "CSVを直してから読み込んでください。"
    if "my_number" in constraint:
        where = (
            "読み込むCSVの中、または既に登録されている人との間"
            if mode == "incremental"
            else "読み込むCSVの中"
        )
        return f"{spec.label}: {where}に、同じ個人番号を持つ人が複数います{nothing}。{fix}"
    if mode != "incremental":
        return f"{spec.label}: 読み込むCSVの中に、同じ住民票コードの人が複数います{nothing}。{fix}"
    return (
        f"{spec.label}: 読み込むCSVに、既に登録されている住民票コードがあります{nothing}。一括ロードは人口の"
        "初回投入用です。登録済みの人の異動は異動通知として `juki apply` で適用し、既存の内容を入れ替える"
        "には空のデータベースに読み込んでください。"
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reading a chunk allocates ~100,000 short-lived lists and
    tuples, freed by reference counting; the collections they set off cost ~15 % of a row's CPU)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def act_as_owner(conn: psycopg.Connection[Any], spec: FileSpec) -> None:
    """Act as the owner of the file's schema; refuse clearly when ``conn`` is not the administrator."""
    row = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (spec.schema,)
    ).fetchone()
    if row is None:
        raise LoadError(f"スキーマ {spec.schema} がありません（migrate を先に実行してください）")
    try:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(str(row[0]))))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise LoadError(
            f"一括ロードは管理者の操作です：{spec.label}の所有者ロールになれない接続です（管理者の接続で実行してください）"
        ) from exc


def _submit(
    pool: ProcessPoolExecutor | None, inline: _ChunkConverter | None, chunk: _Chunk
) -> Future[_Converted]:
    if pool is not None:
        return pool.submit(_convert_in_worker, chunk)
    assert inline is not None
    future: Future[_Converted] = Future()
    future.set_result(inline(chunk))
    return future


class _index_scope:
    """Defer index builds for a fast load; a no-op for an incremental one."""

    def __init__(self, conn: psycopg.Connection[Any], spec: FileSpec, enabled: bool) -> None:
        self._scopes = (
            [
                deferred_indexes(conn, spec.schema, spec.current_table),
                deferred_indexes(conn, spec.schema, spec.history_table),
            ]
            if enabled
            else []
        )

    def __enter__(self) -> list[str]:
        statements: list[str] = []
        for scope in self._scopes:
            statements.extend(scope.__enter__())
        return statements

    def __exit__(self, *exc: object) -> None:
        for scope in reversed(self._scopes):
            scope.__exit__(*exc)  # type: ignore[arg-type]


def _load_worker(
    conninfo: str,
    kind: str,
    src_dir: str,
    rejects_dir: str,
    check_mode: str,
    prefecture: str,
    counter: Any,
    results: Any,
    workers: int,
) -> None:
    """Child-process entry: load one file, report progress through a shared counter."""

    def progress(done: int) -> None:
        counter.value = done

    try:
        report = load_file(
            conninfo,
            FileKind(kind),
            Path(src_dir),
            rejects_dir=Path(rejects_dir),
            check_mode=CheckDigitMode(check_mode),
            prefecture=prefecture,
            progress=progress,
            workers=workers,
        )
        results.put((kind, report, None))
    except LoadError as exc:  # a message for the operator, already clear
        results.put((kind, None, str(exc)))
    except Exception as exc:  # reported to the parent, which raises it with the file's name
        results.put((kind, None, f"{type(exc).__name__}: {exc}"))


def default_workers(files: int = 2) -> int:
    """Converter processes per file: the cores left once each file has its reader and its backend.

    On 2 cores that is 0 (inline): two files already keep 2 loaders and 2 backends busy, and worker
    processes would only add the pickling of every chunk both ways (the input side alone ≈ 14 % of a
    person's CPU, measured for issue 14 item 4; architecture note 73) without a core to run on.
    """
    cores = os.cpu_count() or 1
    return max(0, (cores - 2 * files) // max(files, 1))


def load_population(
    conninfos: dict[FileKind, str],
    src_dir: Path,
    *,
    rejects_dir: Path,
    check_mode: CheckDigitMode = CheckDigitMode.WARN,
    prefecture: str = DEFAULT_PREFECTURE,
    progress: Callable[[dict[FileKind, int]], None] | None = None,
    workers_per_file: int | None = None,
) -> list[LoadReport]:
    """Load File 1 and File 2 in two processes at once (each a COPY stream plus its own backend),
    each converting rows in ``workers_per_file`` worker processes (0: inline; None:
    :func:`default_workers`). ``conninfos`` names the files to load, each with an administrator
    connection (see the module's "Who"); ``prefecture`` (``Settings.prefecture``) is the one whose
    市町村コード the rows must carry."""
    import multiprocessing as mp

    if workers_per_file is None:
        workers_per_file = default_workers(len(conninfos))
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    counters = {kind: ctx.Value("q", 0) for kind in conninfos}
    procs = [
        ctx.Process(
            target=_load_worker,
            args=(
                conninfo,
                kind.value,
                str(src_dir),
                str(rejects_dir),
                check_mode.value,
                prefecture,
                counters[kind],
                results,
                workers_per_file,
            ),
            name=f"juki-load-{kind.value}",
        )
        for kind, conninfo in conninfos.items()
    ]
    for proc in procs:
        proc.start()
    reports: list[LoadReport] = []
    errors: list[str] = []
    try:
        while len(reports) + len(errors) < len(procs):
            try:
                kind, report, error = results.get(timeout=0.5)
            except Exception:  # queue.Empty: just a progress tick
                if progress:
                    progress({k: int(v.value) for k, v in counters.items()})
                if not any(p.is_alive() for p in procs) and results.empty():
                    errors.append("a loader process died without a report")
                continue
            if error:
                errors.append(f"{kind}: {error}")
            else:
                reports.append(report)
    except BaseException:
        # Interrupted (Ctrl-C, or SIGTERM turned into KeyboardInterrupt by `juki demo`): end the
        # loaders now. Left running, they would keep their database sessions open until the whole
        # file was loaded, and whoever stops the database would find it still in use.
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join()
        raise
    for proc in procs:
        proc.join()
    if progress:
        progress({k: int(v.value) for k, v in counters.items()})
    if errors:
        raise LoadError("; ".join(errors))
    return sorted(reports, key=lambda r: r.file)
