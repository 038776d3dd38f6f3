"""4情報 search of File 1 / File 2 and the record view (REQUIREMENTS F1-6, F2-6, S-16, S-25, S-27).

An operator at a 代表端末 or 業務端末 enters a combination of the 4情報 (氏名, 生年月日, 性別, 住所) and
gets a list of matching persons; opening one shows the current record and every earlier version.

Why the rules live here and not in the web UI: S-25 requires that a search can only be made with a
minimum set of conditions so that every use is demonstrably work-related. The service is the one
place every caller (web UI, CLI, tests, benchmark) passes through, so the rule is enforced here and
defined once, as data (:data:`MINIMUM_RULES`); docs/terminals.md shows the same table.

Matching (DOMAIN §5, §6, §8):

* **Name.** Kana input (hiragana, katakana, half width) is compared through the 清音化 key
  (:func:`juki.domain.kana.seion_key`): がくと finds かくと, spaces do not matter. Other input is compared
  with the kanji name as stored, with only spaces and variation selectors (IVS) left out of both sides
  — never NFC/NFKC, so U+FA19 神 stays U+FA19 and only matches itself. The name may be the whole name,
  the family part or the given part, each exact or by prefix.
* **Birth date.** Any form :func:`juki.domain.dates.parse_date` reads (1985-03-04, 昭和60年3月4日,
  S60.3.4, 1985年3月, 1985年, 1985年3月上旬). A partial date searches its whole period. A stored date
  with unknown parts also matches a query date it could be: 1985-03-04 finds persons recorded as
  "1985-03" or "1985" (their birth_key is YYYYMM00 / YYYY0000). A wholly unknown (不詳) stored date
  never matches a birth condition, and "不詳" cannot be a condition.
* **Address.** Compared through :func:`juki.domain.address.address_key` (漢数字 丁目, 番地 forms, dashes,
  ケ/ヶ, the prefecture name optional), as a prefix, in every spelling of its municipality (鶴見区… finds
  横浜市鶴見区…; 箱根町 and 足柄下郡箱根町 meet). For S-25 it must start with a municipality; one that
  does not ("鶴見中央一丁目") still filters, tried after each of Kanagawa's municipality names.
* **消除者.** Ended records (転出, 死亡, 職権消除, and File 2's 消除) are left out unless
  ``include_ended`` is set.

Results are capped: more than ``limit`` matches is a refusal (``T_SEARCH_TOO_MANY``, "narrow the
conditions"), never a truncated list, and no personal data is returned. Every call leaves exactly one
row in the operation log (S-16), in the same transaction as the search; a refusal's row is committed
before the refusal is raised (docs/terminals.md, "The operation-log pattern"). How the SQL steers
PostgreSQL's plans (and why) is told at :class:`_Cond` and in docs/terminals.md "4情報 search".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Final, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from juki.domain.address import address_key
from juki.domain.codes import is_ascii_digits, normalize_digits
from juki.domain.dates import DateParseError, DateQualifier, JukiDate, parse_date
from juki.domain.kana import is_kana_text, seion_key
from juki.domain.lgcodes import kanagawa
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.audit.operation_log import record_operation

__all__ = [
    "DEFAULT_SEARCH_CAP",
    "MINIMUM_RULES",
    "CompiledSearch",
    "Condition",
    "MinimumRule",
    "NameMatch",
    "NamePart",
    "RecordVersion",
    "RecordView",
    "SearchConditions",
    "SearchHit",
    "SearchResult",
    "compile_search",
    "kanji_key",
    "search",
    "unmet_conditions_message",
    "view_record",
]

#: More matches than this is "narrow the conditions" (Settings.search_cap overrides it).
DEFAULT_SEARCH_CAP: Final = 100
#: A prefix (前方一致) name needs at least this many characters of its key: two kanji, three kana (two
#: kana, ヤマ…, match 6% of the register; the specificity of two kanji needs about three kana).
MIN_PREFIX_KANJI: Final = 2
MIN_PREFIX_KANA: Final = 3


class NameMatch(StrEnum):
    """How the name is compared."""

    EXACT = "exact"  # 完全一致
    PREFIX = "prefix"  # 前方一致


class NamePart(StrEnum):
    """Which part of the name the input is."""

    FULL = "full"  # 氏名 (family + given; the space between them does not matter)
    FAMILY = "family"  # 氏 only
    GIVEN = "given"  # 名 only


# ------------------------------------------------------------------------- S-25 minimum conditions


class Condition(StrEnum):
    """What an entered condition counts as, for the S-25 minimum rules (values are the Japanese labels)."""

    NAME = "氏名"  # whole name or family part, exact or prefix (MIN_PREFIX_KANJI / MIN_PREFIX_KANA)
    NAME_FULL = "氏名（氏と名の完全一致）"  # the whole name, exactly
    GIVEN_NAME = "名"  # given part only
    BIRTH = "生年月日"  # at least the year known
    BIRTH_FULL = "生年月日（年月日）"  # year, month and day all known
    SEX = "性別"
    ADDRESS = "住所"  # from the 市区町村 on (the prefecture name may be left out)


@dataclass(frozen=True)
class MinimumRule:
    """One combination of conditions that is enough to search (S-25)."""

    requires: frozenset[Condition]
    why: str  # why this combination is specific enough (documentation)

    @property
    def label(self) -> str:
        return "＋".join(c.value for c in _ORDER if c in self.requires)


_ORDER: Final = tuple(Condition)

#: S-25: a search is allowed when the entered conditions include every condition of at least one rule.
#: A name alone, an address alone or a birth date alone is never enough.
MINIMUM_RULES: Final[tuple[MinimumRule, ...]] = (
    MinimumRule(
        frozenset({Condition.NAME, Condition.BIRTH}),
        "the usual identification: who, born when (a birth year is enough)",
    ),
    MinimumRule(
        frozenset({Condition.NAME_FULL, Condition.ADDRESS}),
        "who, living where (birth date unknown to the caller); the whole name, exactly: a family name"
        " and an address is a list of a neighbourhood's families, not the search for one person",
    ),
    MinimumRule(
        frozenset({Condition.BIRTH_FULL, Condition.SEX, Condition.ADDRESS}),
        "no name (e.g. a name whose reading is unknown): the full date, sex and address instead",
    ),
    MinimumRule(
        frozenset({Condition.GIVEN_NAME, Condition.BIRTH, Condition.ADDRESS}),
        "given name only (the family name changed or is unknown): needs both birth date and address",
    ),
)


def unmet_conditions_message(present: frozenset[Condition], hints: Sequence[str] = ()) -> str:
    """The Japanese explanation of what is missing: what each closest rule still lacks."""
    allowed = "、".join(rule.label for rule in MINIMUM_RULES)
    parts = list(hints)
    if not present:
        parts.append("検索条件が入力されていません")
    else:
        missing = [rule.requires - present for rule in MINIMUM_RULES]
        fewest = min(len(m) for m in missing)
        candidates = [m for m in missing if len(m) == fewest]
        # Drop an option that implies another one (adding 氏名 is enough where 氏名（完全一致） would be).
        options: list[str] = []
        for m in candidates:
            if any(other != m and other <= _closure(m) for other in candidates):
                continue
            label = "・".join(c.value for c in _ORDER if c in m)
            if label not in options:
                options.append(label)
        entered = "・".join(c.value for c in _ORDER if c in present and not _implied(c, present))
        parts.append(f"{entered}だけでは検索できません。次のいずれかを追加してください: {'／'.join(options)}")
    parts.append(f"必要な組み合わせ: {allowed}")
    return "。".join(parts)


def _closure(conditions: frozenset[Condition]) -> frozenset[Condition]:
    """The conditions together with those they imply (an exact full name is a name; a full date a date)."""
    out = set(conditions)
    if Condition.NAME_FULL in out:
        out.add(Condition.NAME)
    if Condition.BIRTH_FULL in out:
        out.add(Condition.BIRTH)
    return frozenset(out)


def _implied(c: Condition, present: frozenset[Condition]) -> bool:
    """BIRTH is implied by BIRTH_FULL, NAME by NAME_FULL: name each once in messages."""
    return (c is Condition.BIRTH and Condition.BIRTH_FULL in present) or (
        c is Condition.NAME and Condition.NAME_FULL in present
    )


def _rules_met(present: frozenset[Condition]) -> bool:
    return any(rule.requires <= present for rule in MINIMUM_RULES)


# ------------------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class SearchConditions:
    """A 4情報 search as the operator enters it. Blank fields are absent conditions.

    ``name`` is kana (any script of kana, any spacing) or the kanji name; ``birth_date`` any form
    :func:`parse_date` reads, or a :class:`JukiDate`; ``sex`` "1"/"2" (also 男/女, full width);
    ``address`` a prefix of the address, with or without the prefecture and municipality.
    """

    file: FileKind = FileKind.PREF
    name: str = ""
    name_match: NameMatch = NameMatch.EXACT
    name_part: NamePart = NamePart.FULL
    birth_date: str | JukiDate = ""
    sex: str = ""
    address: str = ""
    include_ended: bool = False

    def to_log(self) -> dict[str, object]:
        """The conditions as the operation log records them (what was entered, blanks left out)."""
        out: dict[str, object] = {"file": self.file.value}
        if self.name.strip():
            out["name"] = self.name
            out["name_match"] = self.name_match.value
            out["name_part"] = self.name_part.value
        birth = self.birth_date
        if isinstance(birth, JukiDate):
            out["birth_date"] = birth.canonical()
        elif birth.strip():
            out["birth_date"] = birth
        if self.sex.strip():
            out["sex"] = self.sex
        if self.address.strip():
            out["address"] = self.address
        out["include_ended"] = self.include_ended
        return out


# ---------------------------------------------------------------------------------- SQL pieces

# Spaces (half/full width, tab, NBSP) and variation selectors (standard U+FE00–FE0F, IVS
# U+E0100–E01EF). The kanji key leaves them out and nothing else; the same class is in the index
# expression of migration 0010, which must stay identical to _KANJI_KEY_SQL (the given-name key is
# not indexed: S-25 makes a given-name search carry a birth date and an address).
_KANJI_NOISE: Final = "\t \u00a0\u3000\ufe00-\ufe0f\U000e0100-\U000e01ef"
_KANJI_NOISE_RE: Final = re.compile(f"[{_KANJI_NOISE}]")
_KANJI_NOISE_SQL: Final = r"[\t \u00A0\u3000\uFE00-\uFE0F\U000E0100-\U000E01EF]"
_SPACE_SQL: Final = r"[\t \u00A0\u3000]"
_KANJI_KEY_SQL: Final = f"""(regexp_replace(name_kanji, '{_KANJI_NOISE_SQL}', '', 'g') COLLATE "C")"""
_KANJI_FAMILY_SQL: Final = (
    f"""regexp_replace(regexp_replace(name_kanji, '{_SPACE_SQL}.*$', ''), '{_KANJI_NOISE_SQL}', '', 'g')"""
)
_KANJI_GIVEN_SQL: Final = (
    f"(regexp_replace(substring(name_kanji from '{_SPACE_SQL}+(.*)$'), '{_KANJI_NOISE_SQL}', '', 'g')"
    ' COLLATE "C")'
)


def kanji_key(s: str) -> str:
    """The kanji-name search key: the text without spaces and variation selectors, nothing else changed.

    Mirrors the SQL expression of the 0010 index (so 山田　太郎 and 山田太郎 meet, and 葛󠄀城 with its
    IVS is found by 葛城), but never normalises: a compatibility ideograph (U+FA19 神) is kept.
    """
    return _KANJI_NOISE_RE.sub("", s)


@dataclass(frozen=True)
class _FileSql:
    table: sql.Composable
    history: sql.Composable
    present: sql.Composable
    municipality: str  # whose record it is: File 1 市町村コード, File 2 附票管理市町村コード
    address_municipality: str  # the municipality of the address (File 2: '' while abroad)
    #: Derived search keys: never shown in a record view.
    hidden: frozenset[str] = frozenset({"seion_family", "seion_given", "address_key", "birth_key"})


_FILES: Final[Mapping[FileKind, _FileSql]] = {
    FileKind.PREF: _FileSql(
        sql.SQL("pref.identity_current"),
        sql.SQL("pref.identity_history"),
        sql.SQL("status = 'present'"),
        "municipality_code",
        "municipality_code",
    ),
    FileKind.FUHYO: _FileSql(
        sql.SQL("fuhyo.fuhyo_current"),
        sql.SQL("fuhyo.fuhyo_history"),
        sql.SQL("status <> 'ended'"),
        "fuhyo_municipality_code",
        "address_municipality_code",
    ),
}


def _file_sql(file: FileKind) -> _FileSql:
    try:
        return _FILES[file]
    except KeyError:
        raise Refusal(
            "T_SEARCH_INPUT", "検索する情報（本人確認情報／附票本人確認情報）を指定してください"
        ) from None


@dataclass(frozen=True)
class CompiledSearch:
    """Conditions checked against S-25 and turned into one SQL query (the benchmark's baseline runs
    exactly this query, without the service around it)."""

    file: FileKind
    where: sql.Composed
    params: tuple[Any, ...]
    present: frozenset[Condition]

    def query(self, limit: int) -> tuple[sql.Composed, list[Any]]:
        """The SELECT fetching at most ``limit`` rows (the service asks for cap + 1).

        The rows are fetched through a MATERIALIZED CTE with no ORDER BY: the planner then picks the
        plan that is best for *all* matches instead of gambling, because of the LIMIT, on walking some
        other index until enough rows turn up; the LIMIT still stops the scan early. Ordering is done
        on the at most ``limit`` rows in Python.
        """
        files = _FILES[self.file]
        query = sql.SQL(
            "WITH m AS MATERIALIZED (SELECT juminhyo_code, name_kanji, name_kana, birth_date, sex, address,"
            " status, end_kind, change_reason, change_date, {mun} AS municipality_code, seion_kana, birth_key"
            " FROM {table} WHERE {where}) SELECT * FROM m LIMIT %s"
        ).format(mun=sql.Identifier(files.municipality), table=files.table, where=self.where)
        return query, [*self.params, limit]


def _blank(value: str) -> bool:
    return not value.strip()


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class _Cond:
    """One condition in two SQL forms: ``indexed`` lets an index drive the search, ``filter`` is the
    same test written so that no index matches it (prefixes as ``left(col, n) = key``).

    Why two forms: PostgreSQL estimates a prefix LIKE on multibyte keys badly (the range bounds of
    "ヤマサキ%" differ beyond the precision of its histogram interpolation, so the range looks nearly
    empty) and then drives the search by a name prefix that matches 1% of 10M persons. When a condition
    known to be selective is present — an exact full name, or a full birth date (a few hundred persons
    per day at 10M) — the broad prefix conditions are given to the planner as filters only.
    """

    indexed: sql.Composable
    filter: sql.Composable
    params_indexed: tuple[Any, ...]
    params_filter: tuple[Any, ...]
    selective: bool = False


def _same(cond: sql.Composable, params: Sequence[Any], *, selective: bool = False) -> _Cond:
    return _Cond(cond, cond, tuple(params), tuple(params), selective)


def _ident(column: str) -> sql.Composable:
    return sql.Identifier(column)


def _birth_ranges(d: JukiDate) -> list[tuple[int, int]]:
    """The birth_key ranges (inclusive) a query date matches: its own period, plus the keys of stored
    dates with fewer known parts that it could be (YYYYMM00 and YYYY0000)."""
    assert d.year is not None
    year = d.year * 10000
    if d.month is None:
        return [(year, year + 1299)]
    month = year + d.month * 100
    coarser = [(year, year)]
    if d.day is not None:
        return [(month + d.day, month + d.day), (month, month), *coarser]
    if d.qualifier is DateQualifier.EARLY:
        return [(month + 1, month + 10), (month, month), *coarser]
    if d.qualifier is DateQualifier.MIDDLE:
        return [(month + 11, month + 20), (month, month), *coarser]
    if d.qualifier is DateQualifier.LATE:
        return [(month + 21, month + 31), (month, month), *coarser]
    return [(month, month + 99), *coarser]


def _birth_condition(d: JukiDate) -> _Cond:
    """birth_key in any of the date's ranges. Several ranges are wrapped in their enclosing BETWEEN: an
    OR is not an index condition, the enclosing range is (also as the second column of a composite
    index). Integer ranges are estimated well, so one form serves."""
    ranges = _birth_ranges(d)
    points = [lo for lo, hi in ranges if lo == hi]
    spans = [(lo, hi) for lo, hi in ranges if lo != hi]
    parts: list[sql.Composable] = []
    params: list[Any] = []
    if points:
        parts.append(sql.SQL("birth_key = ANY(%s)"))
        params.append(points)
    for lo, hi in spans:
        parts.append(sql.SQL("birth_key BETWEEN %s AND %s"))
        params.extend([lo, hi])
    full = d.day is not None
    if len(parts) == 1:
        return _same(parts[0], params, selective=full)
    low, high = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    cond = sql.SQL("birth_key BETWEEN %s AND %s AND ({})").format(sql.SQL(" OR ").join(parts))
    return _same(cond, [low, high, *params], selective=full)


def _prefix_pair(expr: sql.Composable, key: str) -> _Cond:
    """``expr`` starts with ``key``: LIKE (index range) / left() = (no index)."""
    return _Cond(
        sql.SQL("{} LIKE %s").format(expr),
        sql.SQL("left({}, %s) = %s").format(expr),
        (_like_prefix(key),),
        (len(key), key),
    )


def _name_condition(name: str, match: NameMatch, part: NamePart) -> tuple[_Cond, bool] | None:
    """The name condition and whether it is specific enough for S-25 (a prefix long enough); None when
    the key is empty.

    The family part is searched through the whole-name key it starts (whose index exists in both
    files), then checked on the family key; a given part through its own key (both indexed, 0010).
    """
    prefix = match is NameMatch.PREFIX
    kana = is_kana_text(name)
    if kana:
        # The key drops spaces: for a part, a space typed inside it does not split it.
        key = seion_key(name)
        if not key:
            return None
        whole: sql.Composable = _ident("seion_kana")
        family: sql.Composable = _ident("seion_family")
        given: sql.Composable = _ident("seion_given")
    else:
        key = kanji_key(name)
        if not key:
            return None
        whole, family, given = sql.SQL(_KANJI_KEY_SQL), sql.SQL(_KANJI_FAMILY_SQL), sql.SQL(_KANJI_GIVEN_SQL)
    equal = sql.SQL("{} = %s")
    if part is NamePart.FULL:
        cond = _prefix_pair(whole, key) if prefix else _same(equal.format(whole), [key], selective=True)
    elif part is NamePart.FAMILY:
        check = _prefix_pair(family, key) if prefix else _same(equal.format(family), [key])
        lead = _prefix_pair(whole, key)
        cond = _Cond(
            sql.SQL("{} AND {}").format(lead.indexed, check.filter),
            check.filter,
            lead.params_indexed + check.params_filter,
            check.params_filter,
        )
    else:
        cond = _prefix_pair(given, key) if prefix else _same(equal.format(given), [key])
    minimum = MIN_PREFIX_KANA if kana else MIN_PREFIX_KANJI
    return cond, not prefix or len(key) >= minimum


@dataclass(frozen=True)
class _Municipality:
    """How an operator may start an address (``alias``), the ways a stored address key may start for
    it (``spellings``) and the 市町村コード its residents are recorded under (``codes``)."""

    alias: str
    spellings: frozenset[str]
    codes: frozenset[str]


@cache
def _municipalities() -> tuple[_Municipality, ...]:
    """Kanagawa's municipalities as address-key aliases, longest alias first.

    Aliases: 横浜市鶴見区 and 鶴見区 (a ward, with or without its city), 横浜市 (a designated city: the
    codes of all its wards), 足柄下郡箱根町 and 箱根町, 鎌倉市. An alias shared by several municipalities
    (緑区: 横浜市 and 相模原市) gets the spellings and codes of all of them.
    """
    table = kanagawa()
    spellings: dict[str, set[str]] = {}
    codes: dict[str, set[str]] = {}

    def add(forms: set[str], code_set: set[str]) -> None:
        keys = {address_key(f) for f in forms}
        for alias in keys:
            spellings.setdefault(alias, set()).update(keys)
            codes.setdefault(alias, set()).update(code_set)

    for lg in table:
        if lg.is_ward:
            add({table.name_of(lg.code), lg.name}, {lg.code})
        elif lg.is_designated_city:
            wards = {w.code for w in table if w.is_ward and w.parent_code5 == lg.code5}
            add({lg.name}, wards)
        elif lg.is_resident_register_municipality:
            forms = {lg.name}
            parent = table.by_code5(lg.parent_code5) if lg.parent_code5 else None
            if parent is not None and parent.is_county:
                forms.add(parent.name + lg.name)
            add(forms, {lg.code})
    return tuple(
        _Municipality(alias, frozenset(spellings[alias]), frozenset(codes[alias]))
        for alias in sorted(spellings, key=len, reverse=True)
    )


#: A 市区町村 at the start of an address key outside Kanagawa (郡+町村, 市+区, 市, 特別区).
_OTHER_MUNICIPALITY_RE: Final = re.compile(
    r"[^0-9-]{1,5}?郡[^0-9-]{1,5}?[町村]|[^0-9-]{1,5}?市[^0-9-]{1,4}?区|[^0-9-]{1,5}?[市区]"
)


def _address_condition(key: str, code_column: str) -> tuple[list[_Cond], bool]:
    """The address conditions, and whether the input names a municipality (S-25).

    The address key prefix is always a filter, never an index condition: S-25 never lets an address
    stand alone, and the planner misjudges a prefix LIKE on multibyte text (see :class:`_Cond`). What
    narrows the index scan instead is the record's municipality code: a Kanagawa municipality at the
    start of the input (any spelling: 横浜市鶴見区 / 鶴見区, 足柄下郡箱根町 / 箱根町, 横浜市 = its wards)
    adds ``code_column = ANY(codes)``, which the planner estimates well and which is the trailing column
    of every search index. An address of another prefecture (File 2) that starts with a 市区町村 is
    the prefix alone (the project has Kanagawa's code table only). Without a municipality
    ("鶴見中央一丁目") the input is tried after every Kanagawa municipality; it does not count for S-25.
    """

    def starts(prefixes: Sequence[str]) -> _Cond:
        tests = [sql.SQL("left(address_key, %s) = %s") for _ in prefixes]
        cond = sql.SQL(" OR ").join(tests)
        params = [v for p in prefixes for v in (len(p), p)]
        return _same(sql.SQL("({})").format(cond) if len(tests) > 1 else cond, params)

    for m in _municipalities():
        if key.startswith(m.alias):
            rest = key[len(m.alias) :]
            codes = _same(sql.SQL("{} = ANY(%s)").format(_ident(code_column)), [sorted(m.codes)])
            return [codes, starts(sorted(form + rest for form in m.spellings))], True
    if _OTHER_MUNICIPALITY_RE.match(key):
        return [starts([key])], True
    patterns = {_like_prefix(key)}
    patterns.update(_like_prefix(form + key) for m in _municipalities() for form in m.spellings)
    return [_same(sql.SQL("address_key LIKE ANY(%s)"), [sorted(patterns)])], False


_SEX: Final[Mapping[str, str]] = {"1": "1", "2": "2", "男": "1", "女": "2", "男性": "1", "女性": "2"}


def _read_birth(value: str | JukiDate) -> JukiDate:
    if isinstance(value, JukiDate):
        date = value
    else:
        try:
            date = parse_date(value.strip())
        except DateParseError as exc:
            raise Refusal("T_SEARCH_INPUT", f"生年月日: {exc.message}") from None
    if date.year is None:
        raise Refusal("T_SEARCH_INPUT", "生年月日「不詳」は検索条件にできません")
    return date


def compile_search(conditions: SearchConditions) -> CompiledSearch:
    """Read and check the conditions (S-25) and build the query. Raises :class:`Refusal`:
    ``T_SEARCH_INPUT`` for an unreadable value, ``T_SEARCH_CONDITIONS`` when no minimum rule is met."""
    files = _file_sql(conditions.file)
    conds: list[_Cond] = []
    present: set[Condition] = set()
    hints: list[str] = []

    if not _blank(conditions.name):
        try:
            match, part = NameMatch(conditions.name_match), NamePart(conditions.name_part)
        except ValueError:
            raise Refusal("T_SEARCH_INPUT", "氏名の一致方法または区分が正しくありません") from None
        name = _name_condition(conditions.name.strip(), match, part)
        if name is None:
            raise Refusal("T_SEARCH_INPUT", "氏名を読み取れません")
        cond, specific = name
        conds.append(cond)
        if not specific:
            hints.append(
                f"氏名の前方一致は漢字{MIN_PREFIX_KANJI}文字以上、かな{MIN_PREFIX_KANA}文字以上で指定してください"
            )
        elif part is NamePart.GIVEN:
            present.add(Condition.GIVEN_NAME)
        else:
            present.add(Condition.NAME)
            if match is NameMatch.EXACT and part is NamePart.FULL:
                present.add(Condition.NAME_FULL)

    birth = conditions.birth_date
    if isinstance(birth, JukiDate) or not _blank(birth):
        date = _read_birth(birth)
        conds.append(_birth_condition(date))
        present.add(Condition.BIRTH)
        if date.day is not None:
            present.add(Condition.BIRTH_FULL)

    if not _blank(conditions.sex):
        sex = _SEX.get(normalize_digits(conditions.sex.strip()))
        if sex is None:
            raise Refusal("T_SEARCH_INPUT", "性別は 1（男）または 2（女）で指定してください")
        conds.append(_same(sql.SQL("sex = %s"), [sex]))
        present.add(Condition.SEX)

    if not _blank(conditions.address):
        key = address_key(conditions.address.strip())
        if not key:
            raise Refusal("T_SEARCH_INPUT", "住所を読み取れません")
        address_conds, municipal = _address_condition(key, files.address_municipality)
        conds.extend(address_conds)
        if municipal:
            present.add(Condition.ADDRESS)
        else:
            hints.append("住所は市区町村名から指定してください（例: 横浜市鶴見区豊岡町）")

    found = frozenset(present)
    if not _rules_met(found):
        raise Refusal("T_SEARCH_CONDITIONS", unmet_conditions_message(found, hints))
    driven = any(c.selective for c in conds)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for c in conds:
        use_index = c.selective or not driven
        parts.append(c.indexed if use_index else c.filter)
        params.extend(c.params_indexed if use_index else c.params_filter)
    if not conditions.include_ended:
        parts.append(files.present)
    return CompiledSearch(conditions.file, sql.SQL(" AND ").join(parts), tuple(params), found)


T = TypeVar("T")


# ----------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SearchHit:
    """One person in the result list (the items the list shows; open the record for the rest)."""

    juminhyo_code: str
    name_kanji: str  # exactly as stored (IVS, compatibility ideographs kept)
    name_kana: str
    birth_date: str  # JukiDate canonical text ("1985-03-04", "1985", "不詳"…)
    sex: str  # "1" / "2"
    address: str
    status: str  # File 1: present / ended; File 2: domestic / abroad / ended
    end_kind: str | None  # removed / death / code_changed, when ended
    change_reason: str
    change_date: str
    municipality_code: str  # File 1: 市町村コード; File 2: 附票管理市町村コード

    @property
    def ended(self) -> bool:
        """A 消除者 (shown only when the search included them)."""
        return self.status == "ended"

    @property
    def birth(self) -> JukiDate:
        return JukiDate.parse_canonical(self.birth_date)


@dataclass(frozen=True)
class SearchResult:
    file: FileKind
    hits: tuple[SearchHit, ...]
    cap: int
    log_id: int  # the operation-log row of this search

    @property
    def count(self) -> int:
        return len(self.hits)


@dataclass(frozen=True)
class RecordVersion:
    """One version of a person's record: the current one or a superseded snapshot."""

    version: int
    is_current: bool
    items: Mapping[str, Any]  # every stored item (column → value), derived search keys left out
    superseded_at: datetime | None = None

    def __getitem__(self, item: str) -> Any:
        return self.items[item]


@dataclass(frozen=True)
class RecordView:
    """A person's record with its whole history (F1-6/F2-6 detail screen)."""

    file: FileKind
    juminhyo_code: str
    current: RecordVersion
    history: tuple[RecordVersion, ...] = field(default=())  # newest first
    log_id: int = 0

    @property
    def versions(self) -> tuple[RecordVersion, ...]:
        """Every version, newest (the current record) first."""
        return (self.current, *self.history)


# --------------------------------------------------------------------------------------- services


def _record_error(
    conn: psycopg.Connection[Any],
    actor: Actor,
    function: Function,
    file: FileKind,
    target: str | None,
    detail: Mapping[str, object],
    exc: BaseException,
) -> None:
    """Best effort: an operation that failed unexpectedly still leaves its one log row (ERROR)."""
    if conn.closed or conn.broken:
        return
    try:
        with conn.transaction():
            record_operation(
                conn,
                actor,
                function=function,
                file=file,
                outcome=Outcome.ERROR,
                target=target,
                detail={**detail, "error": type(exc).__name__},
            )
    except psycopg.Error:
        pass


def _run_logged(
    conn: psycopg.Connection[Any],
    body: Callable[[], T],
    *,
    actor: Actor,
    function: Function,
    file: FileKind,
    target: str | None,
    detail: Mapping[str, object],
    refusal_detail: Callable[[Refusal], Mapping[str, object]],
) -> T:
    """`guard.guarded` (a refusal is logged and committed, then raised) plus an ERROR row when the
    operation fails unexpectedly, so every call leaves exactly one log row (S-16)."""

    def on_refusal(refusal: Refusal) -> tuple[Refusal, Mapping[str, object]]:
        return refusal, {**detail, **refusal_detail(refusal)}

    try:
        return guarded(
            conn,
            body,
            actor=actor,
            function=function,
            event=function.value,
            target=target,
            file=file,
            on_refusal=on_refusal,
        )
    except Refusal:
        raise
    except Exception as exc:
        _record_error(conn, actor, function, file, target, detail, exc)
        raise


def search(
    conn: psycopg.Connection[Any],
    actor: Actor,
    conditions: SearchConditions,
    *,
    limit: int = DEFAULT_SEARCH_CAP,
) -> SearchResult:
    """F1-6 / F2-6: the persons matching ``conditions``, at most ``limit`` of them.

    ``conn`` is a connection as the file's role (juki_pref for PREF, juki_fuhyo for FUHYO), normally
    in autocommit mode (each call is then its own transaction, committed with its log row). Raises
    :class:`Refusal`: T_FORBIDDEN (no right, logged as deny), T_SEARCH_INPUT / T_SEARCH_CONDITIONS
    (S-25) and T_SEARCH_TOO_MANY (logged as rejected, nothing returned); the log row is committed
    before the refusal is raised. Hits are ordered by kana key, birth date and code.
    """
    file = conditions.file
    logged = conditions.to_log()

    def body() -> SearchResult:
        if not permissions.allows(actor, Function.SEARCH, file):
            raise Refusal("T_FORBIDDEN")
        compiled = compile_search(conditions)
        query, params = compiled.query(limit + 1)
        with conn.cursor(row_factory=dict_row) as cur:
            # prepare=False: a prepared (generic) plan cannot use an index for "LIKE $1".
            rows = cur.execute(query, params, prepare=False).fetchall()
        if len(rows) > limit:
            raise Refusal("T_SEARCH_TOO_MANY", f"{limit}件を超えました")
        rows.sort(key=lambda r: (r["seion_kana"], r["birth_key"], r["juminhyo_code"]))
        # Last, so the log's chain head is locked only until the commit that follows at once.
        log_id = record_operation(
            conn,
            actor,
            function=Function.SEARCH,
            file=file,
            outcome=Outcome.ALLOW,
            detail={"conditions": logged, "result_count": len(rows)},
        )
        return SearchResult(file, tuple(_hit(r) for r in rows), limit, log_id)

    def refusal_detail(refusal: Refusal) -> Mapping[str, object]:
        if refusal.code == "T_SEARCH_TOO_MANY":
            return {"result_count": None, "cap": limit}
        return {}

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=Function.SEARCH,
        file=file,
        target=None,
        detail={"conditions": logged},
        refusal_detail=refusal_detail,
    )


def _hit(row: Mapping[str, Any]) -> SearchHit:
    return SearchHit(
        juminhyo_code=row["juminhyo_code"],
        name_kanji=row["name_kanji"],
        name_kana=row["name_kana"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        address=row["address"],
        status=row["status"],
        end_kind=row["end_kind"],
        change_reason=row["change_reason"],
        change_date=row["change_date"],
        municipality_code=row["municipality_code"],
    )


def view_record(
    conn: psycopg.Connection[Any], actor: Actor, file: FileKind, juminhyo_code: str
) -> RecordView:
    """One person's record: the current version and every superseded one, newest first.

    ``conn`` is a connection as the file's role. Raises :class:`Refusal` (T_FORBIDDEN,
    T_SEARCH_INPUT for a malformed code, T_RECORD_NOT_FOUND), each logged and committed first.
    Ended records (消除者) can be opened: the view is how their history is read.
    """
    code = normalize_digits(juminhyo_code.strip())
    target = code or None

    def body() -> RecordView:
        if not permissions.allows(actor, Function.VIEW_RECORD, file):
            raise Refusal("T_FORBIDDEN")
        files = _FILES.get(file)
        if files is None or not is_ascii_digits(code, 11):
            raise Refusal("T_SEARCH_INPUT", "住民票コードは11桁の数字で指定してください")
        with conn.cursor(row_factory=dict_row) as cur:
            current = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s").format(files.table), [code]
            ).fetchone()
            if current is None:
                raise Refusal("T_RECORD_NOT_FOUND")
            history = cur.execute(
                sql.SQL("SELECT * FROM {} WHERE juminhyo_code = %s ORDER BY version DESC").format(
                    files.history
                ),
                [code],
            ).fetchall()
        log_id = record_operation(
            conn,
            actor,
            function=Function.VIEW_RECORD,
            file=file,
            outcome=Outcome.ALLOW,
            target=code,
            detail={"result_count": 1, "versions": 1 + len(history)},
        )
        return RecordView(
            file,
            code,
            _version(current, files, is_current=True),
            tuple(_version(r, files, is_current=False) for r in history),
            log_id,
        )

    def refusal_detail(refusal: Refusal) -> Mapping[str, object]:
        return {"result_count": 0} if refusal.code == "T_RECORD_NOT_FOUND" else {}

    return _run_logged(
        conn,
        body,
        actor=actor,
        function=Function.VIEW_RECORD,
        file=file,
        target=target,
        detail={},
        refusal_detail=refusal_detail,
    )


_HISTORY_BOOKKEEPING: Final = frozenset({"superseded_at"})


def _version(row: Mapping[str, Any], files: _FileSql, *, is_current: bool) -> RecordVersion:
    items = {k: v for k, v in row.items() if k not in files.hidden and k not in _HISTORY_BOOKKEEPING}
    return RecordVersion(
        version=int(row["version"]),
        is_current=is_current,
        items=items,
        superseded_at=None if is_current else row.get("superseded_at"),
    )
