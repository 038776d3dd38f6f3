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
from juki.domain.lgcodes import DEFAULT_PREFECTURE, for_prefecture
from juki.domain.reasons import ChangeReason
from juki.domain.records import FileKind
from juki.services.registry import load
from juki.services.registry.load_lines import LINE_BUILDERS, Checked
from juki.services.registry.rows import HISTORY_EXTRA, Meta, row_spec
from juki.store.copy import RowFormatter, copy_line


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
        "ended_on": draw(st.sampled_from(["", "2020-01-02", "2020", "不詳", "2020/01/02"])),
        "notified_on": draw(
            _mostly(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["2024-02-30", "9900-01-01"]))
        ),
        "address_municipality_code": draw(st.sampled_from(["", *_MUNICIPALITIES[:3]])),
        "last_address": draw(_ADDRESS),
        "old_juminhyo_code": draw(st.sampled_from(["", "12345678901"])),
    }
    values["fuhyo_municipality_code"] = values["municipality_code"]
    return values


def _check(conv: load._Converter, line: str) -> tuple[list[str], Checked] | str:
    fields = load._parse_line(line.encode("utf-8"))
    assert not isinstance(fields, load._RowError)
    try:
        return fields, conv.check(fields)
    except load._RowError as exc:
        return exc.code


def _convert(conv: load._Converter, line: str) -> list[Any] | str:
    """The row as the loader's reference path builds it (the ledger's builder, with the cache)."""
    got = _check(conv, line)
    return got if isinstance(got, str) else conv.values_of(got[0], got[1], 7, 1)


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
    """A warm converter and a fresh one give the same verdict; an accepted row's COPY line, written
    by the loader's f-string (``load_lines``), is byte for byte the ledger's row rendered — current,
    and superseded by a random newer version — and its derived keys are what the ledger derives
    without any cache."""
    spec = row_spec(kind)
    values = data.draw(_csv_values(kind))
    line = ",".join(values[c] for c in spec.file.csv_columns)
    warm = _WARM.get(kind)
    if warm is None:
        warm = _WARM[kind] = load._Converter(kind, CheckDigitMode.ENFORCE, DEFAULT_PREFECTURE)
        warm.cache = KeyCache(limit=8)  # small, so the clear-when-full path runs too
    fresh = load._Converter(kind, CheckDigitMode.ENFORCE, DEFAULT_PREFECTURE)

    got, cold = _check(warm, line), _check(fresh, line)
    assert got == cold  # the same verdict (and error code) and the same checks, warm caches or not
    if isinstance(got, str):
        return
    fields, checked = got
    assert not isinstance(fields, load._NeedsEscape)  # the alphabets hold no backslash or tab
    reference = fresh.values_of(fields, checked, 7, 1)
    width = len(spec.columns)
    current_fmt = RowFormatter(range(width), width)
    history_fmt = RowFormatter(range(width + len(HISTORY_EXTRA)), width + len(HISTORY_EXTRA))
    build = LINE_BUILDERS[kind]
    assert build(fields, checked, 7, 1, None, 0, warm.cache) == current_fmt.line(reference)
    newer = _check(fresh, ",".join(data.draw(_csv_values(kind))[c] for c in spec.file.csv_columns))
    if not isinstance(newer, str):
        superseded = fresh.superseded(list(reference), newer[1], 9)
        assert build(fields, checked, 7, 1, newer[1], 9, warm.cache) == history_fmt.line(superseded)

    items: dict[str, object] = {name: values[name] for name in spec.file.notified_items}
    items["birth_date"] = JukiDate.parse_canonical(values["birth_date"])
    meta = Meta(
        juminhyo_code=values["juminhyo_code"],
        change_reason=values["change_reason"],
        change_date=JukiDate.parse_canonical(values["change_date"]).canonical(),
        status=values["status"],
        end_kind=None,
        notified_on=reference[spec.columns.index("notified_on")],
        update_seq=7,
        version=1,
        updated_at=reference[spec.columns.index("updated_at")],
        operator_id=load.LOADER_ID,
        terminal_id=load.LOADER_ID,
        municipality_code=values["municipality_code"],
    )
    ledger = spec.build_values(items, meta, None)  # as ledger.py builds a row: no cache
    for column in _DERIVED[kind]:
        at = spec.columns.index(column)
        assert reference[at] == ledger[at], column


def test_a_line_that_needs_copy_escaping_is_rendered_field_by_field() -> None:
    """A backslash or a tab in a CSV line would break the f-string line: such a row is rendered
    through the exact per-field COPY path, and PostgreSQL reads back the text as given."""
    spec = row_spec(FileKind.PREF)
    values = {c: "" for c in spec.file.csv_columns} | {
        "juminhyo_code": _code("1234567890", True),
        "name_kanji": "田中\\一郎",
        "name_kana": "タナカ\tイチロウ",
        "birth_date": "1980-01-02",
        "sex": "1",
        "address": "神奈川県綾瀬市深谷中一丁目1番1号",
        "municipality_code": _MUNICIPALITIES[0],
        "change_reason": "birth",
        "change_date": "1980-01-02",
        "status": "present",
        "notified_on": "1980-01-03",
    }
    raw = ",".join(values[c] for c in spec.file.csv_columns)
    fields = load._parse_line(raw.encode("utf-8"))
    assert isinstance(fields, load._NeedsEscape)
    width = len(spec.columns)
    conv = load._ChunkConverter(FileKind.PREF, CheckDigitMode.ENFORCE, DEFAULT_PREFECTURE, [], [])
    done = conv(load._Chunk([(2, fields, [], [])], 100))
    assert done.persons == 1 and not done.rejects
    assert done.current == copy_line(conv.conv.values_of(fields, conv.conv.check(fields), 100, 1))
    assert done.current.count("\t") == width - 1  # the name's tab is escaped, not a column break
    assert "田中\\\\一郎" in done.current


# -- chunks: every line ends loaded or rejected ----------------------------------------------------


@st.composite
def _person(draw: st.DrawFn, kind: FileKind) -> tuple[list[str], list[list[str]]]:
    """A current row and 0–2 history rows of the same person (same code), each drawn like a row;
    now and then a short row or one with an extra column."""
    columns = row_spec(kind).file.csv_columns
    rows = [draw(_csv_values(kind)) for _ in range(draw(st.integers(1, 3)))]
    code = rows[-1]["juminhyo_code"]
    fields = [[code if c == "juminhyo_code" else row[c] for c in columns] for row in rows]
    shape = draw(st.integers(0, 19))
    if shape == 0:
        fields[-1] = fields[-1][: draw(st.integers(0, len(columns) - 1))]
    elif shape == 1:
        fields[0] = [*fields[0], "extra"]
    return fields[-1], fields[:-1]


def _chunk(persons: list[tuple[list[str], list[list[str]]]], unreadable: set[int]) -> load._Chunk:
    built: list[load._Person] = []
    for n, (current, history) in enumerate(persons):
        values: load._Fields = load._RowError("E_LOAD_CSV", "x") if n in unreadable else current
        versions = [(10_000 + 10 * n + i, h) for i, h in enumerate(history)]
        stray = [(20_000 + n, load._RowError("E_ENCODING", "byte 3"))] if n in unreadable else []
        built.append((2 + n, values, versions, stray))
    return load._Chunk(built, 100)


@pytest.mark.parametrize("kind", [FileKind.PREF, FileKind.FUHYO])
@pytest.mark.parametrize("mode", list(CheckDigitMode))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_D1_A3_D2_A3_every_line_of_a_random_chunk_is_loaded_or_rejected_with_its_code(
    kind: FileKind, mode: CheckDigitMode, data: st.DataObject
) -> None:
    """Issue 14 item 4: on random chunks (valid and invalid rows, short and long rows, unreadable
    lines, history, all three check-digit modes) the converter never raises — two dates that stopped
    the whole load were found this way — and every line is accounted for: each person's current row
    and history rows are loaded, or each is in the rejects with a code and its own line number."""
    persons = data.draw(st.lists(_person(kind), min_size=1, max_size=12))
    unreadable = data.draw(st.sets(st.integers(0, len(persons) - 1), max_size=2))
    chunk = _chunk(persons, unreadable)
    width = len(row_spec(kind).columns)
    conv = load._ChunkConverter(kind, mode, DEFAULT_PREFECTURE, list(range(width)), list(range(width + 3)))
    conv.conv.cache = KeyCache(limit=8)  # small, so the clear-when-full path runs too
    done = conv(chunk)
    rejected = {(which, line): code for which, line, code, _ in done.rejects}
    assert len(rejected) == len(done.rejects)  # each line at most once
    assert all(code.startswith("E_") for code in rejected.values())
    history_lines = sum(len(p[2]) for p in chunk.persons)
    assert done.persons + sum(1 for which, _ in rejected if which == load.CURRENT) == len(persons)
    assert (
        done.history_rows + sum(1 for which, line in rejected if which == load.HISTORY and line < 20_000)
        == history_lines
    )
    assert sum(1 for which, line in rejected if which == load.HISTORY and line >= 20_000) == len(unreadable)
    assert done.current.count("\n") == done.persons and done.history.count("\n") == done.history_rows


def test_D1_A3_an_unreadable_ended_on_is_a_rejected_row_not_a_failed_load() -> None:
    """A 消除 row whose 消除日 is no date used to escape as DateParseError and stop the whole load."""
    spec = row_spec(FileKind.PREF)
    conv = load._Converter(FileKind.PREF, CheckDigitMode.ENFORCE, DEFAULT_PREFECTURE)
    values = {
        "juminhyo_code": _code("1234567890", True),
        "name_kanji": "田中　一郎",
        "name_kana": "タナカ　イチロウ",
        "birth_date": "1980-01-02",
        "sex": "1",
        "address": "神奈川県綾瀬市深谷中一丁目1番1号",
        "municipality_code": _MUNICIPALITIES[0],
        "aza_code": "",
        "my_number": "",
        "former_surname_kanji": "",
        "former_surname_kana": "",
        "change_reason": "death",
        "change_date": "2020-01-02",
        "status": "ended",
        "end_kind": "death",
        "ended_on": "20.2.2020",
        "notified_on": "2020-01-03",
    }
    line = ",".join(values[c] for c in spec.file.csv_columns)
    assert _convert(conv, line) == "E_DATE_FORMAT"
    values["ended_on"] = "2020-01-02"
    line = ",".join(values[c] for c in spec.file.csv_columns)
    assert isinstance(_convert(conv, line), list)


@pytest.mark.parametrize(("column", "value"), [("notified_on", "9900-01-01"), ("change_date", "9851"),
                                               ("ended_on", "9999-12-31")])  # fmt: skip
def test_R_02_a_date_too_late_to_count_150_years_from_is_a_rejected_row(column: str, value: str) -> None:
    """R-02 keeps an ended record 150 years from its end: from a year past 9849 there is no such day,
    and the retention date stopped the whole load with a ValueError (found by the property test)."""
    spec = row_spec(FileKind.PREF)
    conv = load._Converter(FileKind.PREF, CheckDigitMode.ENFORCE, DEFAULT_PREFECTURE)
    values = {c: "" for c in spec.file.csv_columns} | {
        "juminhyo_code": _code("1234567890", True),
        "name_kanji": "田中　一郎",
        "name_kana": "タナカ　イチロウ",
        "birth_date": "1980-01-02",
        "sex": "1",
        "address": "神奈川県綾瀬市深谷中一丁目1番1号",
        "municipality_code": _MUNICIPALITIES[0],
        "change_reason": "death",
        "change_date": "2020-01-02",
        "status": "ended",
        "end_kind": "death",
        "ended_on": "2020-01-02",
        "notified_on": "2020-01-03",
    }
    line = ",".join(values[c] for c in spec.file.csv_columns)
    assert isinstance(_convert(conv, line), list)
    values[column] = value
    line = ",".join(values[c] for c in spec.file.csv_columns)
    assert _convert(conv, line) == "E_DATE_RANGE"
