"""The 照会要求ファイル reader (F1-2b): encodings, the header, and one clear result per malformed row."""

from __future__ import annotations

import pytest

from juki.domain.provision import KeyType
from juki.services.provision.bulk.request_file import (
    MAX_LINE_BYTES,
    BulkFileError,
    RequestRow,
    RequestStats,
    read_request,
)
from tests.factories import juminhyo
from tests.services.provision.bulk.support import HEADER

ALL = frozenset(KeyType)


def _read(data: bytes, keys: frozenset[KeyType] = ALL, **kw: str) -> tuple[list[RequestRow], RequestStats]:
    stats = RequestStats()
    # Split into small chunks: the reader must not depend on where the transport cut the bytes.
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    return list(read_request(chunks, allowed_keys=keys, stats=stats, **kw)), stats


def test_f1_2b_utf8_with_bom_and_crlf_is_read_and_hashed() -> None:
    """F1-2b: a BOM and CRLF line ends are accepted; blank lines are no rows; the SHA-256 covers the bytes."""
    data = ("\ufeff" + HEADER + "\r\n" + f"a,resident_code,{juminhyo(1)},,,,,\r\n\r\n").encode()
    rows, stats = _read(data)
    assert [(r.row_no, r.juminhyo_code) for r in rows] == [(1, juminhyo(1))]
    assert (stats.encoding, stats.bom, stats.rows, stats.size) == ("utf-8", True, 1, len(data))
    import hashlib

    assert stats.sha256 == hashlib.sha256(data).hexdigest()


def test_f1_2b_cp932_is_recognised_beyond_an_ascii_header() -> None:
    """F1-2b: the encoding is judged on the first 64 KiB, not the (ASCII) header alone."""
    data = (HEADER + "\r\nあ,basic4,,,ヤマダ タロウ,1980-01-01,,\r\n").encode("cp932")
    rows, stats = _read(data)
    assert stats.encoding == "cp932" and rows[0].request_ref == "あ" and rows[0].seion


@pytest.mark.parametrize(
    ("line", "code", "reason"),
    [
        ("a,resident_code,123,,,,,", "P_INVALID", "11 桁"),
        ("a,resident_code,12345678906,,,,,extra", "P_INVALID", "属さない"),
        ("a,resident_code,12345678906", "P_INVALID", "項目の数"),
        (",resident_code,12345678906,,,,,", "P_INVALID", "依頼番号"),
        ("a,phone,,,,,,", "P_INVALID", "検索キー種別"),
        ('a,"basic4,,,,,,', "P_INVALID", "CSV"),
        ("a,basic4,,,ヤマダ タロウ,,3,", "P_INVALID", "性別"),
        ("a,basic4,,,ヤマダ タロウ,,,", "P_INVALID", "生年月日または住所"),
        ("a,basic4,,,ヤマダ タロウ,1980-13-45,,", "P_INVALID", "生年月日"),
        ("a,my_number,,123456789012,,,,", "P_INVALID", "個人番号"),
        ("a\x00,resident_code,12345678906,,,,,", "P_INVALID", "NUL"),
        ("a," + "x" * MAX_LINE_BYTES, "P_INVALID", "バイト"),
    ],
)
def test_f1_2b_a_malformed_row_gets_its_code_and_a_reason(line: str, code: str, reason: str) -> None:
    """F1-2b: each malformed row is answered with P_INVALID and a reason; the rows around it are read."""
    data = "\n".join(
        (HEADER, f"ok1,resident_code,{juminhyo(1)},,,,,", line, f"ok2,resident_code,{juminhyo(2)},,,,,")
    )
    rows, stats = _read(data.encode())
    assert [r.refusal for r in rows] == [None, code, None]
    assert reason in (rows[1].detail or "") and stats.invalid == 1


def test_f1_2b_a_key_the_task_does_not_allow_is_refused_before_its_value_is_read() -> None:
    """F1-2b: P_KEY_NOT_ALLOWED for a key type outside the task, even with a malformed value."""
    data = "\n".join((HEADER, "a,my_number,,1,,,,")).encode()
    rows, _ = _read(data, frozenset({KeyType.BASIC4}))
    assert rows[0].refusal == "P_KEY_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "E_BULK_EMPTY"),
        ((HEADER + "\n").encode(), "E_BULK_EMPTY"),
        (b"request_ref,key_type\n", "E_BULK_HEADER"),
        (b"\x81\x7f\xff" + HEADER.encode(), "E_BULK_ENCODING"),
        (HEADER.encode() + b"\n" + b"x" * (2 * 1024 * 1024), "E_BULK_TOO_LARGE"),
    ],
)
def test_f1_2b_a_file_error_refuses_the_whole_file(data: bytes, code: str) -> None:
    """F1-2b: encoding, header, no row, a line without end: the whole file, with its E_BULK code."""
    with pytest.raises(BulkFileError) as refused:
        _read(data)
    assert refused.value.code == code


def test_f1_2b_the_japanese_header_and_key_labels_are_accepted() -> None:
    data = "依頼番号,検索キー種別,住民票コード,個人番号,氏名かな,生年月日,性別,住所\nx,住民票コード,１２３４５６７８９０６,,,,,\n"
    rows, _ = _read(data.encode())
    assert rows[0].key_type == "resident_code" and rows[0].juminhyo_code == "12345678906"
