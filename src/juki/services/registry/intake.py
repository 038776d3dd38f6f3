"""Turning a stream of notification lines (JSON Lines) into ledger batches, file by file.

Shared by `juki apply` and, later, the mTLS intake API: decoding happens here, per line, so one bad
line (not UTF-8, not JSON, too long) becomes one rejected item with its own inbox row while every
other line is still applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from juki.domain.codes import CheckDigitMode
from juki.domain.errors import Rejection
from juki.domain.lgcodes import LgTable
from juki.domain.records import FileKind
from juki.files import all_files
from juki.services.registry.ledger import Incoming, ItemResult, UpdateLedger

#: A notification is a few hundred bytes; anything far larger is refused before parsing.
MAX_LINE_BYTES = 64 * 1024
DEFAULT_BATCH = 500


def decode_line(line_no: int, raw: bytes) -> Incoming:
    """One line → an Incoming item: the parsed object, or the raw bytes with a boundary rejection."""
    if len(raw) > MAX_LINE_BYTES:
        return Incoming(line_no, raw=raw[:1024], error=Rejection("E_LINE_TOO_LONG", f"{len(raw)} bytes"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        try:
            raw.decode("cp932")
            hint = "（Shift_JIS の可能性があります）"
        except UnicodeDecodeError:
            pass
        return Incoming(line_no, raw=raw, error=Rejection("E_ENCODING", f"byte {exc.start}{hint}"))
    if line_no == 1 and text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte-order mark is tolerated on the first line only
    try:
        obj: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Incoming(line_no, raw=raw, error=Rejection("E_JSON", str(exc)))
    # Valid JSON that PostgreSQL or the ledger cannot keep (or that is ambiguous) is refused here, with
    # its bytes kept in the inbox's ``raw``: never stored as jsonb or text, never failing the batch.
    problem = _structure_problem(obj)
    if problem is None:
        problem = _duplicate_key(text)
    if problem is not None:
        return Incoming(line_no, raw=raw, error=problem)
    return Incoming(line_no, obj=obj)


#: A notification is 2 levels deep (its record); anything much deeper is not a notification. orjson
#: reads up to 1024 levels but writes only 254, and the ledger hashes what it read.
MAX_DEPTH = 16


def _structure_problem(obj: object) -> Rejection | None:
    """Too deep, or a string (key or value) holding U+0000, which no PostgreSQL text or jsonb can hold.

    The detail never quotes the value (it may be personal data), only where it is."""
    stack: list[tuple[object, int, str]] = [(obj, 1, "$")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return Rejection("E_JSON_NUL", path)
        elif isinstance(value, dict):
            if depth > MAX_DEPTH:
                return Rejection("E_JSON_TOO_DEEP", f"{depth} 段")
            for key, item in value.items():
                if "\x00" in key:
                    return Rejection("E_JSON_NUL", f"{path} の項目名")
                stack.append((item, depth + 1, f"{path}.{key}"))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return Rejection("E_JSON_TOO_DEEP", f"{depth} 段")
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))
    return None


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return out


def _duplicate_key(text: str) -> Rejection | None:
    """orjson keeps the last of duplicate keys silently; the standard parser's pair hook sees them all
    (a second parse of a line orjson already accepted, about 5 µs for a notification)."""
    try:
        json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKeyError as exc:
        return Rejection("E_JSON_DUPLICATE_KEY", f"「{exc.key[:64]}」")
    except (ValueError, RecursionError):  # what orjson read, the standard parser refuses: not JSON for us
        return Rejection("E_JSON", "JSON の解釈に失敗しました")
    return None


def iter_lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Split a byte stream into numbered non-blank lines (CRLF tolerated) without loading it whole."""
    carry = b""
    line_no = 0
    for chunk in chunks:
        carry += chunk
        *complete, carry = carry.split(b"\n")
        for line in complete:
            line_no += 1
            line = line.rstrip(b"\r")
            if line.strip():
                yield line_no, line
    if carry.strip():
        yield line_no + 1, carry.rstrip(b"\r")


_FILE_VALUES = frozenset(spec.value for spec in all_files())


def route(item: Incoming, default: FileKind) -> FileKind:
    """The file a line belongs to: its "file" field when valid, else ``default`` (whose inbox then
    records the rejection)."""
    if isinstance(item.obj, dict):
        value = item.obj.get("file")
        if value in _FILE_VALUES:
            return FileKind(value)
    return default


@dataclass
class Summary:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def add(self, result: ItemResult) -> None:
        setattr(self, result.status, getattr(self, result.status) + 1)


class NotificationApplier:
    """Applies decoded lines in batches of ``batch_size`` per file, preserving order within a file."""

    def __init__(
        self,
        connections: dict[FileKind, psycopg.Connection[Any]],
        *,
        check_digit_mode: CheckDigitMode = CheckDigitMode.WARN,
        lg_table: LgTable | None = None,
        batch_size: int = DEFAULT_BATCH,
        only: FileKind | None = None,
    ) -> None:
        self.ledgers = {
            kind: UpdateLedger(conn, kind, check_digit_mode=check_digit_mode, lg_table=lg_table)
            for kind, conn in connections.items()
        }
        self.batch_size = batch_size
        self.only = only

    def apply(
        self, lines: Iterable[tuple[int, bytes]], *, source: str, sender: str | None = None
    ) -> Iterator[ItemResult]:
        pending: dict[FileKind, list[Incoming]] = {kind: [] for kind in self.ledgers}
        default = self.only or FileKind.PREF
        for line_no, raw in lines:
            item = decode_line(line_no, raw)
            kind = self.only or route(item, default)
            pending[kind].append(item)
            if len(pending[kind]) >= self.batch_size:
                yield from self.ledgers[kind].apply(pending[kind], source=source, sender=sender)
                pending[kind] = []
        for kind, items in pending.items():
            if items:
                yield from self.ledgers[kind].apply(items, source=source, sender=sender)
