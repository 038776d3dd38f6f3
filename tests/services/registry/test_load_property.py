"""Property tests: the bulk loader's fast paths change nothing (issue 14 item 4).

The loader reads each line with a plain comma split when it can, memoises parsed dates, their
storage form, 外字 counts, name and address keys across rows (with a bounded cache that is cleared
when full), and parses each 届出日 once. None of that may change a verdict or a derived key, so on
random valid and invalid rows:

- the line reader agrees with the csv module (fields, or the same error code);
- a converter warm from earlier rows (small cache: it keeps being cleared) and a fresh one accept and
  reject the same rows with the same code and build identical rows;
- every derived key of an accepted row equals what the update ledger's builder (``build_values`` with
  no cache, as ``ledger.py`` calls it) derives from the same items.
"""

from __future__ import annotations

import csv
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juki.domain.codes import CheckDigitMode, juminhyo_check_digit, my_number_check_digit
from juki.domain.dates import JukiDate
from juki.domain.derive import KeyCache
from juki.domain.lgcodes import for_prefecture
from juki.domain.reasons import ChangeReason
from juki.domain.records import FileKind
from juki.services.registry import load
from juki.services.registry.rows import Meta, row_spec


def _reference_parse(raw: bytes) -> list[str] | tuple[str]:
    """The loader's line reader before the fast path: the csv module on every line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return ("E_ENCODING",)
    if "\x00" in text:
        return ("E_LOAD_CSV",)
    try:
        fields = next(csv.reader((text,), strict=True), [])
    except csv.Error:
        return ("E_LOAD_CSV",)
    if any("\r" in f or "\n" in f for f in fields):
        return ("E_LOAD_CSV",)
    return fields


_LINE_CHARS = st.sampled_from([",", '"', " ", "\r", "\x00", "a", "1", "あ", "𠮷", "\\", "\t"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE_CHARS, max_size=30).map("".join), st.booleans())
def test_line_reader_agrees_with_the_csv_module(text: str, broken_utf8: bool) -> None:
    raw = text.encode("utf-8") + (b"\xff" if broken_utf8 else b"")
    got = load._parse_line(raw)
    want = _reference_parse(raw)
    if isinstance(got, load._RowError):
        assert (got.code,) == want
    else:
        assert got == want


# -- rows ----------------------------------------------------------------------------------------

_MUNICIPALITIES = sorted(for_prefecture("14").resident_register_codes())
_KANA = st.lists(
    st.sampled_from(["ア", "カ", "ガ", "パ", "ャ", "ッ", "ー", "ヴ", "　", " ", "ｶﾞ", "ﾊﾟ", "が", "ヰ", "ヂ"]),
    max_size=10,
).map("".join)
_KANJI = st.lists(
    st.sampled_from(["田", "中", "髙", "𠮷", "﨑", "葛\U000e0100", "\ue000", "黒", "　", "カ\u3099", "辻"]),
    max_size=8,
).map("".join)
_ADDRESS = st.lists(
    st.sampled_from(
        [
            "神奈川県",
            "横浜市",
            "中区",
            "綾瀬市",
            "足柄下郡箱根町",
            "大字",
            "字",
            "一",
            "二",
            "十",
            "１",
            "23",
            "丁目",
            "番",
            "番地",
            "号",
            "号室",
            "-",
            "－",
            "ｱ",
            "ﾊﾟ",
            "𠮷",
            "　",
            "東京都",
        ]
    ),
    max_size=10,
).map("".join)


def _mostly(valid: st.SearchStrategy[str], invalid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``valid`` nine times in ten: otherwise almost every random row is rejected by its first item."""
    return st.integers(0, 9).flatmap(lambda i: valid if i else invalid)


_DATE = _mostly(
    st.one_of(
        st.dates().map(lambda d: d.isoformat()),
        st.sampled_from(
            [
                "1985-03",
                "1985",
                "不詳",
                "1985-03 上旬",
                "1985-03-02 頃",
                "1985 推定",
                "2019 令和",
                "1989-01 平成",
                "1985～1987",
                "１９８５",
            ]
        ),
    ),
    st.sampled_from(["1985-02-30", "1985-13-01", "85-3-4", "", "x"]),
)


def _code(body: str, good: bool) -> str:
    check = juminhyo_check_digit(body)
    return body + (check if good else str((int(check) + 1) % 10))


_CODE = _mostly(
    st.builds(_code, st.text("0123456789", min_size=10, max_size=10), st.just(True)),
    st.one_of(
        st.builds(_code, st.text("0123456789", min_size=10, max_size=10), st.just(False)),
        st.sampled_from(["", "1234567890", "１２３４５６７８９０１", "abcdefghijk"]),
    ),
)
_MY_NUMBER = _mostly(
    st.one_of(
        st.just(""),
        st.text("0123456789", min_size=11, max_size=11).map(lambda b: b + my_number_check_digit(b)),
    ),
    st.text("0123456789", min_size=12, max_size=12),
)


@st.composite
def _csv_values(draw: st.DrawFn, kind: FileKind) -> dict[str, str]:
    spec = row_spec(kind)
    status = draw(_mostly(st.sampled_from(sorted(spec.statuses)), st.just("gone")))
    ended = status == spec.file.ended_status
    values = {
        "juminhyo_code": draw(_CODE),
        "name_kanji": draw(_KANJI),
        "name_kana": draw(_KANA),
        "birth_date": draw(_DATE),
        "sex": draw(_mostly(st.sampled_from(["1", "2"]), st.sampled_from(["3", ""]))),
        "address": draw(_ADDRESS),
        "municipality_code": draw(_mostly(st.sampled_from(_MUNICIPALITIES), st.just("999999"))),
        "aza_code": draw(st.sampled_from(["", "0155001"])),
        "my_number": draw(_MY_NUMBER),
        "former_surname_kanji": draw(st.sampled_from(["", "髙橋", "𠮷田"])),
        "former_surname_kana": draw(st.sampled_from(["", "タカハシ"])),
        "change_reason": draw(_mostly(st.sampled_from([r.value for r in ChangeReason]), st.just("nonsense"))),
        "change_date": draw(_DATE),
        "status": status,
        "end_kind": draw(
            _mostly(st.sampled_from(["death", "removed"]) if ended else st.just(""), st.just("weird"))
        ),
        "ended_on": draw(st.sampled_from(["", "2020-01-02", "2020", "不詳"])),
        "notified_on": draw(_mostly(st.dates().map(lambda d: d.isoformat()), st.just("2024-02-30"))),
        "address_municipality_code": draw(st.sampled_from(["", *_MUNICIPALITIES[:3]])),
        "last_address": draw(_ADDRESS),
        "old_juminhyo_code": draw(st.sampled_from(["", "12345678901"])),
    }
    values["fuhyo_municipality_code"] = values["municipality_code"]
    return values


def _convert(conv: load._Converter, line: str) -> list[Any] | str:
    fields = load._parse_line(line.encode("utf-8"))
    assert not isinstance(fields, load._RowError)
    try:
        return conv.convert(fields, 7, 1)
    except load._RowError as exc:
        return exc.code


#: Columns the server derives from the notified items (not metadata): they must match the ledger's.
_DERIVED = {
    FileKind.PREF: ("name_gaiji_count", "address_gaiji_count", "former_surname_gaiji_count", "gaiji_flag",
                    "seion_kana", "seion_family", "seion_given", "address_key", "birth_date", "birth_key"),
    FileKind.FUHYO: ("name_gaiji_count", "address_gaiji_count", "last_address_gaiji_count", "gaiji_flag",
                     "gaiji_pattern", "seion_kana", "seion_family", "seion_given", "address_key",
                     "birth_date", "birth_key"),
}  # fmt: skip

_WARM: dict[FileKind, load._Converter] = {}


@pytest.mark.parametrize("kind", [FileKind.PREF, FileKind.FUHYO])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bulk_path_and_ledger_agree_on_random_rows(kind: FileKind, data: st.DataObject) -> None:
    spec = row_spec(kind)
    values = data.draw(_csv_values(kind))
    line = ",".join(values[c] for c in spec.file.csv_columns)
    warm = _WARM.get(kind)
    if warm is None:
        warm = _WARM[kind] = load._Converter(kind, CheckDigitMode.ENFORCE, "14")
        warm.cache = KeyCache(limit=8)  # small, so the clear-when-full path runs too
    fresh = load._Converter(kind, CheckDigitMode.ENFORCE, "14")

    got, cold = _convert(warm, line), _convert(fresh, line)
    assert got == cold  # the same verdict (and error code) and the same row, warm caches or not
    if isinstance(got, str):
        return
    items: dict[str, object] = {name: values[name] for name in spec.file.notified_items}
    items["birth_date"] = JukiDate.parse_canonical(values["birth_date"])
    meta = Meta(
        juminhyo_code=values["juminhyo_code"],
        change_reason=values["change_reason"],
        change_date=JukiDate.parse_canonical(values["change_date"]).canonical(),
        status=values["status"],
        end_kind=None,
        notified_on=got[spec.columns.index("notified_on")],
        update_seq=7,
        version=1,
        updated_at=got[spec.columns.index("updated_at")],
        operator_id=load.LOADER_ID,
        terminal_id=load.LOADER_ID,
        municipality_code=values["municipality_code"],
    )
    ledger = spec.build_values(items, meta, None)  # as ledger.py builds a row: no cache
    for column in _DERIVED[kind]:
        at = spec.columns.index(column)
        assert got[at] == ledger[at], column
