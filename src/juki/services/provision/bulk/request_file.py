"""The 照会要求ファイル (bulk request file) of F1-2b: its layout, encoding and per-row reading.

Layout (docs/provision.md "一括提供"): CSV, UTF-8 (with or without BOM) or Shift_JIS (CP932), one header
row naming exactly the columns of :data:`REQUEST_COLUMNS` (the English names or their Japanese labels),
then one target per physical line: the requester's own reference, the key type and the keys of that
type. The other key columns stay empty.

What is a *file* error (the whole file is refused before anything is stored: :class:`BulkFileError`):
an encoding that is neither UTF-8 nor CP932, a wrong header, no data row, more rows than
:data:`MAX_ROWS`. What is a *row* error (the row is answered with its result code and a reason, the
other rows are processed): a line that does not decode in the file's encoding or is no CSV record, the
wrong number of fields, a missing reference, an unknown key type, a key the task does not allow
(P_KEY_NOT_ALLOWED), an unreadable key (P_INVALID).

The 4情報 keys are read by the one 4情報 matcher's rules (:func:`juki.services.jlis.client.basic4_keys`,
the F1-2 search rule: a kana name and a birth date or an address) and become the key columns of
:func:`juki.services.search.matcher.basic4_key_row`, so a bulk row matches exactly the persons a single
4情報 request with the same keys would.

Memory stays flat: :func:`read_request` is a generator over the byte chunks of the upload.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from juki.domain.codes import is_ascii_digits, is_valid_my_number, normalize_digits
from juki.domain.errors import CATALOG
from juki.domain.provision import KeyType, ResultCode
from juki.services.jlis.client import Basic4, QueryConditionsError, basic4_keys
from juki.services.search.conditions import read_sex
from juki.services.search.matcher import basic4_key_row

__all__ = [
    "ENCODINGS",
    "KEY_TYPE_ALIASES",
    "MAX_LINE_BYTES",
    "MAX_ROWS",
    "REQUEST_COLUMNS",
    "REQUEST_LABELS",
    "BulkFileError",
    "RequestRow",
    "RequestStats",
    "read_request",
]

#: The request's columns, in order (the header names them in English or by their Japanese label).
REQUEST_COLUMNS: Final = (
    "request_ref",
    "key_type",
    "juminhyo_code",
    "my_number",
    "name_kana",
    "birth_date",
    "sex",
    "address",
)
REQUEST_LABELS: Final = (
    "依頼番号",
    "検索キー種別",
    "住民票コード",
    "個人番号",
    "氏名かな",
    "生年月日",
    "性別",
    "住所",
)
#: Key-type values a file may use: the code name or the Japanese label.
KEY_TYPE_ALIASES: Final[dict[str, KeyType]] = {
    **{k.value: k for k in KeyType},
    "住民票コード": KeyType.RESIDENT_CODE,
    "個人番号": KeyType.MY_NUMBER,
    "4情報": KeyType.BASIC4,
    "４情報": KeyType.BASIC4,
}
#: Which key columns each key type fills (the others must be empty: S-27, exactly the conditions given).
_KEY_COLUMNS: Final[dict[KeyType, frozenset[str]]] = {
    KeyType.RESIDENT_CODE: frozenset({"juminhyo_code"}),
    KeyType.MY_NUMBER: frozenset({"my_number"}),
    KeyType.BASIC4: frozenset({"name_kana", "birth_date", "sex", "address"}),
}
ENCODINGS: Final = ("utf-8", "cp932")
#: More rows than this is a file error: split the request (10M persons, one request per person at most).
MAX_ROWS: Final = 2_000_000
MAX_LINE_BYTES: Final = 4096
MAX_REF_CHARS: Final = 64
_SNIFF_BYTES: Final = 64 * 1024
_BOM: Final = codecs.BOM_UTF8
_MAX_PENDING: Final = 1024 * 1024


class BulkFileError(Exception):
    """The whole request file is refused: a stable E_BULK_* code and a Japanese message."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        spec = CATALOG[code]
        self.code = code
        self.message = f"{spec.message_ja}（{detail}）" if detail else spec.message_ja
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class RequestRow:
    """One data row as stored for matching (the columns of ``bulk_request_row`` after job_id)."""

    row_no: int
    request_ref: str
    key_type: str | None
    juminhyo_code: str | None = None
    my_number: str | None = None
    seion: str | None = None
    birth_lo: int | None = None
    birth_hi: int | None = None
    sex: str | None = None
    address_patterns: list[str] | None = None
    refusal: str | None = None  # a ResultCode decided before matching
    detail: str | None = None

    def values(self) -> tuple[object, ...]:
        return (
            self.row_no,
            self.request_ref,
            self.key_type,
            self.juminhyo_code,
            self.my_number,
            self.seion,
            self.birth_lo,
            self.birth_hi,
            self.sex,
            self.address_patterns,
            self.refusal,
            self.detail,
        )


#: The staging table's columns :meth:`RequestRow.values` fills.
ROW_COLUMNS: Final = (
    "row_no",
    "request_ref",
    "key_type",
    "juminhyo_code",
    "my_number",
    "seion",
    "birth_lo",
    "birth_hi",
    "sex",
    "address_patterns",
    "refusal",
    "detail",
)


@dataclass
class RequestStats:
    """What reading the file learnt, filled in while the rows stream past."""

    encoding: str = ""
    bom: bool = False
    rows: int = 0
    invalid: int = 0
    size: int = 0
    sha256: str = ""
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)


def _lines(chunks: Iterable[bytes], stats: RequestStats) -> Iterator[bytes]:
    """Physical lines (without the line end) of the byte stream; hashes and counts what passes.

    Linear in the input whatever the chunk sizes: each byte is searched for a line end once."""
    pending = bytearray()
    for chunk in chunks:
        if not chunk:
            continue
        stats.size += len(chunk)
        stats._hash.update(chunk)
        searched = len(pending)
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", max(start, searched))) != -1:
            line = bytes(pending[start:end])
            yield line[:-1] if line.endswith(b"\r") else line
            start = end + 1
        del pending[:start]
        if len(pending) > _MAX_PENDING:  # no line end for a megabyte: not a request file (memory stays flat)
            raise BulkFileError("E_BULK_TOO_LARGE", "改行のない長い行があります")
    if pending:
        line = bytes(pending)
        yield line[:-1] if line.endswith(b"\r") else line
    stats.sha256 = stats._hash.hexdigest()


def _detect(first: bytes, wanted: str | None) -> str:
    """The file's encoding: the caller's, else UTF-8 when the start decodes as UTF-8, else CP932."""
    if wanted is not None:
        if wanted not in ENCODINGS:
            raise BulkFileError("E_BULK_ENCODING", f"指定された文字コード {wanted} は扱えません")
        return wanted
    for encoding in ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(first[:_SNIFF_BYTES], final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise BulkFileError("E_BULK_ENCODING")


def _record(text: str) -> list[str] | None:
    """One CSV record of one physical line; None when the line is not a complete record."""
    try:
        return next(csv.reader((text,), strict=True))
    except (csv.Error, StopIteration):
        return None


def _header(line: str) -> None:
    fields = _record(line)
    if fields is None:
        raise BulkFileError("E_BULK_HEADER", "見出し行を読めません")
    names = tuple(f.strip() for f in fields)
    if names != REQUEST_COLUMNS and names != REQUEST_LABELS:
        raise BulkFileError("E_BULK_HEADER", "見出しは " + ",".join(REQUEST_COLUMNS) + " です")


def read_request(
    chunks: Iterable[bytes],
    *,
    allowed_keys: frozenset[KeyType],
    stats: RequestStats,
    encoding: str | None = None,
) -> Iterator[RequestRow]:
    """The data rows of a request file, each with its keys or its refusal; raises :class:`BulkFileError`.

    ``allowed_keys``: the key types the task allows (the others answer P_KEY_NOT_ALLOWED). ``stats`` is
    filled in as the rows go by (encoding at once; rows, size and SHA-256 when the stream ends).
    A file error can surface only before the first row (encoding, header) or at the end (no row, too
    many rows): the caller stores the rows in a transaction it rolls back on any BulkFileError.
    """
    source = iter(chunks)
    head = b""
    for chunk in source:  # the encoding is judged on the first 64 KiB, not on the (ASCII) header alone
        head += chunk
        if len(head) >= _SNIFF_BYTES:
            break
    if head.startswith(_BOM):
        stats.bom = True
        if encoding not in (None, "utf-8"):
            raise BulkFileError("E_BULK_ENCODING", "UTF-8 の BOM がありますが別の文字コードが指定されました")
        encoding = "utf-8"
    lines = _lines(itertools.chain((head,), source), stats)
    first = next(lines, None)
    if first is None:
        raise BulkFileError("E_BULK_EMPTY", "見出し行がありません")
    if stats.bom:
        first = first[len(_BOM) :]
    stats.encoding = _detect(head[len(_BOM) :] if stats.bom else head, encoding)
    try:
        header = first.decode(stats.encoding)
    except UnicodeDecodeError:
        raise BulkFileError("E_BULK_ENCODING", "見出し行") from None
    _header(header)
    for raw in lines:
        if not raw.strip():
            continue  # a blank line is no row: rows are numbered as the requester counts them
        stats.rows += 1
        if stats.rows > MAX_ROWS:
            raise BulkFileError("E_BULK_TOO_LARGE", f"{MAX_ROWS:,} 件まで")
        row = _row(stats.rows, raw, stats.encoding, allowed_keys)
        if row.refusal is not None:
            stats.invalid += 1
        yield row
    if stats.rows == 0:
        raise BulkFileError("E_BULK_EMPTY")


def _invalid(row_no: int, ref: str, detail: str, key_type: str | None = None) -> RequestRow:
    return RequestRow(row_no, ref, key_type, refusal=ResultCode.INVALID.value, detail=detail)


def _row(row_no: int, raw: bytes, encoding: str, allowed: frozenset[KeyType]) -> RequestRow:
    """One data row → its keys, or a refusal with the reason (Japanese, no key values in it)."""
    if len(raw) > MAX_LINE_BYTES:
        return _invalid(row_no, "", f"1行は {MAX_LINE_BYTES} バイトまでです")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return _invalid(row_no, "", f"文字コード（{encoding}）として読めない行です")
    if "\x00" in text:
        return _invalid(row_no, "", "NUL 文字を含む行です")
    fields = _record(text)
    if fields is None:
        return _invalid(row_no, "", "CSV の行として読めません（引用符が閉じていません）")
    if len(fields) != len(REQUEST_COLUMNS):
        return _invalid(row_no, "", f"項目の数が {len(fields)} です（{len(REQUEST_COLUMNS)} 項目）")
    values = dict(zip(REQUEST_COLUMNS, (f.strip() for f in fields), strict=True))
    ref = values["request_ref"]
    if not ref or len(ref) > MAX_REF_CHARS or not ref.isprintable():
        return _invalid(row_no, ref[:MAX_REF_CHARS] if ref.isprintable() else "", "依頼番号は1〜64文字です")
    key_type = KEY_TYPE_ALIASES.get(values["key_type"])
    if key_type is None:
        return _invalid(row_no, ref, "検索キー種別は resident_code / my_number / basic4 のいずれかです")
    extra = [c for c in REQUEST_COLUMNS[2:] if values[c] and c not in _KEY_COLUMNS[key_type]]
    if extra:
        return _invalid(row_no, ref, "検索キー種別に属さない項目が入力されています", key_type.value)
    if key_type not in allowed:
        return RequestRow(
            row_no, ref, key_type.value, refusal=ResultCode.KEY_NOT_ALLOWED.value, detail=key_type.label
        )
    if key_type is KeyType.RESIDENT_CODE:
        code = normalize_digits(values["juminhyo_code"])
        if not is_ascii_digits(code, 11):
            return _invalid(row_no, ref, "住民票コードは 11 桁の数字です", key_type.value)
        return RequestRow(row_no, ref, key_type.value, juminhyo_code=code)
    if key_type is KeyType.MY_NUMBER:
        number = normalize_digits(values["my_number"])
        if not is_valid_my_number(number):
            return _invalid(row_no, ref, "個人番号が不正です（12 桁、検査用数字）", key_type.value)
        return RequestRow(row_no, ref, key_type.value, my_number=number)
    sex = read_sex(values["sex"]) if values["sex"] else None
    if values["sex"] and sex is None:
        return _invalid(row_no, ref, "性別は 1（男）または 2（女）です", key_type.value)
    query = Basic4(
        name_kana=values["name_kana"] or None,
        birth_date=values["birth_date"] or None,
        sex=sex,
        address=values["address"] or None,
    )
    if query.name_kana is None:
        return _invalid(row_no, ref, "4情報には氏名（かな）が必要です", key_type.value)
    try:
        seion, low, high, sex, patterns = basic4_key_row(basic4_keys(query))
    except QueryConditionsError as exc:
        return _invalid(row_no, ref, exc.message, key_type.value)
    except ValueError:
        return _invalid(row_no, ref, "氏名（かな）を読み取れません", key_type.value)
    return RequestRow(
        row_no,
        ref,
        key_type.value,
        seion=seion,
        birth_lo=low,
        birth_hi=high,
        sex=sex,
        address_patterns=patterns,
    )
