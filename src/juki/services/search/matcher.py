"""The one 4情報 matcher: search conditions → SQL against a table of search keys (REQUIREMENTS F1-6,
F2-6, F1-2, F1-5/F2-5; DOMAIN §5, §6, §8).

Every 4情報 search compiles here: the terminal search (:func:`compile_search`, against the file's
current table named by :mod:`juki.files`), and the J-LIS query keys (:func:`basic4_where`) that the
local-first search runs against the file's current table and the J-LIS simulators against their own
copy. Prefix escaping, the kana and address keys and the birth-date periods are defined once. Which
inputs are enough to search is not decided here: the matcher says which :class:`Condition` s an
input carries and the caller's :class:`~juki.services.search.conditions.RuleSet` judges.

Matching of the terminal search:

* **Name.** Kana input (hiragana, katakana, half width) is compared through the 清音化 key
  (:func:`juki.domain.kana.seion_key`): がくと finds かくと, spaces do not matter. Other input is compared
  with the kanji name as stored, with only spaces and variation selectors (IVS) left out of both sides
  — never NFC/NFKC, so U+FA19 神 stays U+FA19 and only matches itself. The name may be the whole name,
  the family part or the given part, each exact or by prefix. With ``kanji_variants`` (「異体字も検索」)
  the kanji key is expanded into its spellings from the variant table
  (:func:`juki.domain.kanji_variants.spellings`: 高橋 → 高橋, 髙橋) and any of them matches; the stored
  names and their indexes are untouched, each spelling is one more probe of the same index.
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

How the SQL steers PostgreSQL's plans (and why) is told at :class:`_Cond` and in docs/terminals.md
"4情報 search".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from psycopg import sql

from juki.domain.address import address_key, municipality_prefixes, strip_municipality
from juki.domain.dates import DateQualifier, JukiDate, calendar_warning
from juki.domain.kana import is_kana_text, seion_key
from juki.domain.kanji_variants import MAX_SPELLINGS, spellings
from juki.domain.lgcodes import DEFAULT_PREFECTURE, for_prefecture
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.files import FileSpec, file_spec
from juki.services.search.conditions import (
    MIN_PREFIX_KANA,
    MIN_PREFIX_KANJI,
    S25_RULES,
    Condition,
    NameMatch,
    NamePart,
    SearchConditions,
    read_birth,
    read_sex,
)

__all__ = [
    "Basic4Keys",
    "CompiledSearch",
    "address_patterns",
    "basic4_join",
    "basic4_key_row",
    "basic4_where",
    "compile_search",
    "kanji_key",
    "like_prefix",
    "search_spec",
]


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


def search_spec(file: FileKind) -> FileSpec:
    """The file searched; T_SEARCH_INPUT when ``file`` is none of the two."""
    try:
        return file_spec(file)
    except (KeyError, ValueError):
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
    #: The spellings of a kanji name searched with 「異体字も検索」 (empty without it, or for kana).
    variant_spellings: tuple[str, ...] = ()
    #: Warnings for the operator that did not stop the search (a date not on the calendar).
    warnings: tuple[str, ...] = ()

    def query(self, limit: int) -> tuple[sql.Composed, list[Any]]:
        """The SELECT fetching at most ``limit`` rows (the service asks for cap + 1).

        The rows are fetched through a MATERIALIZED CTE with no ORDER BY: the planner then picks the
        plan that is best for *all* matches instead of gambling, because of the LIMIT, on walking some
        other index until enough rows turn up; the LIMIT still stops the scan early. Ordering is done
        on the at most ``limit`` rows in Python.
        """
        spec = file_spec(self.file)
        query = sql.SQL(
            "WITH m AS MATERIALIZED (SELECT juminhyo_code, name_kanji, name_kana, birth_date, sex, address,"
            " status, end_kind, change_reason, change_date, {mun} AS municipality_code, seion_kana, birth_key"
            " FROM {table} WHERE {where}) SELECT * FROM m LIMIT %s"
        ).format(mun=sql.Identifier(spec.municipality_column), table=sql.SQL(spec.current), where=self.where)
        return query, [*self.params, limit]


def _blank(value: str) -> bool:
    return not value.strip()


def like_prefix(value: str) -> str:
    """A LIKE pattern: starts with ``value`` (its %, _ and backslashes escaped)."""
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


_SEX_SQL: Final = sql.SQL("sex = %s")


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
        (like_prefix(key),),
        (len(key), key),
    )


#: The 清音化 kana keys of the whole name, the family part and the given part (all stored tables).
_KANA_COLUMNS: Final = (
    sql.Identifier("seion_kana"),
    sql.Identifier("seion_family"),
    sql.Identifier("seion_given"),
)
_KANJI_COLUMNS: Final = (sql.SQL(_KANJI_KEY_SQL), sql.SQL(_KANJI_FAMILY_SQL), sql.SQL(_KANJI_GIVEN_SQL))


def _name_sql(
    key: str, columns: tuple[sql.Composable, sql.Composable, sql.Composable], match: NameMatch, part: NamePart
) -> _Cond:
    """``key`` against the whole name, the family or the given part (``columns``), exact or prefix.

    The family part is searched through the whole-name key it starts (whose index exists in both
    files), then checked on the family key; a given part through its own key (both indexed, 0010).
    """
    whole, family, given = columns
    prefix = match is NameMatch.PREFIX
    equal = sql.SQL("{} = %s")
    if part is NamePart.FULL:
        return _prefix_pair(whole, key) if prefix else _same(equal.format(whole), [key], selective=True)
    if part is NamePart.FAMILY:
        check = _prefix_pair(family, key) if prefix else _same(equal.format(family), [key])
        lead = _prefix_pair(whole, key)
        return _Cond(
            sql.SQL("{} AND {}").format(lead.indexed, check.filter),
            check.filter,
            lead.params_indexed + check.params_filter,
            check.params_filter,
        )
    return _prefix_pair(given, key) if prefix else _same(equal.format(given), [key])


def _any_of(conds: Sequence[_Cond]) -> _Cond:
    """Any of ``conds`` (one name condition per spelling): an OR of each form, which PostgreSQL runs
    as a BitmapOr of the same index's probes."""
    if len(conds) == 1:
        return conds[0]

    def joined(forms: Sequence[sql.Composable]) -> sql.Composable:
        return sql.SQL("({})").format(sql.SQL(" OR ").join(sql.SQL("({})").format(f) for f in forms))

    return _Cond(
        joined([c.indexed for c in conds]),
        joined([c.filter for c in conds]),
        tuple(p for c in conds for p in c.params_indexed),
        tuple(p for c in conds for p in c.params_filter),
        all(c.selective for c in conds),
    )


def _name_condition(
    name: str, match: NameMatch, part: NamePart, *, variants: bool = False
) -> tuple[_Cond, bool, tuple[str, ...]] | None:
    """The name condition, whether it is specific enough for S-25 (a prefix long enough) and the
    spellings searched when ``variants`` expanded a kanji key; None when the key is empty. Kana input
    is compared through the kana keys, other input the kanji name."""
    kana = is_kana_text(name)
    # The kana key drops spaces: for a part, a space typed inside it does not split it.
    key = seion_key(name) if kana else kanji_key(name)
    if not key:
        return None
    columns = _KANA_COLUMNS if kana else _KANJI_COLUMNS
    keys = spellings(key) if variants and not kana else (key,)
    cond = _any_of([_name_sql(k, columns, match, part) for k in keys])
    minimum = MIN_PREFIX_KANA if kana else MIN_PREFIX_KANJI
    return cond, match is not NameMatch.PREFIX or len(key) >= minimum, keys if len(keys) > 1 else ()


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
    # The default prefecture's names (issue 14 left this for later): another prefecture's address
    # is read by _OTHER_MUNICIPALITY_RE — a prefix filter without the municipality-code narrowing.
    table = for_prefecture(DEFAULT_PREFECTURE)
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
    patterns = {like_prefix(key)}
    patterns.update(like_prefix(form + key) for m in _municipalities() for form in m.spellings)
    return [_same(sql.SQL("address_key LIKE ANY(%s)"), [sorted(patterns)])], False


def compile_search(conditions: SearchConditions) -> CompiledSearch:
    """Read and check the conditions (S-25) and build the query. Raises :class:`Refusal`:
    ``T_SEARCH_INPUT`` for an unreadable value, ``T_SEARCH_CONDITIONS`` when no minimum rule is met."""
    spec = search_spec(conditions.file)
    conds: list[_Cond] = []
    present: set[Condition] = set()
    hints: list[str] = []
    warnings: list[str] = []
    searched: tuple[str, ...] = ()

    if not _blank(conditions.name):
        try:
            match, part = NameMatch(conditions.name_match), NamePart(conditions.name_part)
        except ValueError:
            raise Refusal("T_SEARCH_INPUT", "氏名の一致方法または区分が正しくありません") from None
        name = _name_condition(conditions.name.strip(), match, part, variants=conditions.kanji_variants)
        if name is None:
            raise Refusal("T_SEARCH_INPUT", "氏名を読み取れません")
        cond, specific, searched = name
        conds.append(cond)
        if len(searched) == MAX_SPELLINGS:
            warnings.append(f"異体字の組み合わせが多いため、最初の{MAX_SPELLINGS}通りだけを検索しました")
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
        date = read_birth(birth)
        unusual = calendar_warning(date)
        if unusual is not None:
            warnings.append(f"生年月日: {unusual}")
        conds.append(_birth_condition(date))
        present.add(Condition.BIRTH)
        if date.day is not None:
            present.add(Condition.BIRTH_FULL)

    if not _blank(conditions.sex):
        sex = read_sex(conditions.sex)
        if sex is None:
            raise Refusal("T_SEARCH_INPUT", "性別は 1（男）または 2（女）で指定してください")
        conds.append(_same(_SEX_SQL, [sex]))
        present.add(Condition.SEX)

    if not _blank(conditions.address):
        key = address_key(conditions.address.strip())
        if not key:
            raise Refusal("T_SEARCH_INPUT", "住所を読み取れません")
        address_conds, municipal = _address_condition(key, spec.address_municipality_column)
        conds.extend(address_conds)
        if municipal:
            present.add(Condition.ADDRESS)
        else:
            hints.append("住所は市区町村名から指定してください（例: 横浜市鶴見区豊岡町）")

    found = frozenset(present)
    if not S25_RULES.met(found):
        raise Refusal(S25_RULES.refusal_code, S25_RULES.explain(found, hints))
    driven = any(c.selective for c in conds)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for c in conds:
        use_index = c.selective or not driven
        parts.append(c.indexed if use_index else c.filter)
        params.extend(c.params_indexed if use_index else c.params_filter)
    if not conditions.include_ended:
        parts.append(sql.SQL(spec.present_sql))
    return CompiledSearch(
        conditions.file, sql.SQL(" AND ").join(parts), tuple(params), found, searched, tuple(warnings)
    )


# ------------------------------------------------------------------------- J-LIS query keys (basic4)


@dataclass(frozen=True)
class Basic4Keys:
    """The keys of a 4情報 query to J-LIS in the stored key columns' forms (a kana name in its whole,
    family and given parts, any of them; a birth-date period; sex; an address key prefix)."""

    seion: str | None  # 清音化かな of the whole name
    family: str | None
    given: str | None
    prefix: bool
    birth_range: tuple[int, int] | None  # JukiDate.sort_key bounds, inclusive
    sex: str | None
    address: str | None  # address_key

    @property
    def present(self) -> frozenset[Condition]:
        """What the keys count as for a :class:`RuleSet` (any kana name part is a NAME)."""
        out: set[Condition] = set()
        if self.seion or self.family or self.given:
            out.add(Condition.NAME)
        if self.birth_range:
            out.add(Condition.BIRTH)
        if self.sex:
            out.add(Condition.SEX)
        if self.address:
            out.add(Condition.ADDRESS)
        return frozenset(out)

    def canonical(self) -> dict[str, Any]:
        return {
            "seion": self.seion,
            "family": self.family,
            "given": self.given,
            "prefix": self.prefix,
            "birth": list(self.birth_range) if self.birth_range else None,
            "sex": self.sex,
            "address": self.address,
        }


def basic4_where(
    keys: Basic4Keys, *, address_tail_column: str | None = None, prefixes: Sequence[str] | None = None
) -> tuple[sql.Composed, list[Any]]:
    """A WHERE condition over the key columns seion_kana / seion_family / seion_given / birth_key / sex /
    address_key, with its parameters. None of the keys: ValueError (the rule set refuses such keys
    before; a guard against an unbounded search).

    The address matches when the query's key is a prefix of the stored key, or of the stored key with
    its leading municipality part left out: through ``address_tail_column`` (a stored key without its
    市区町村) when the table has one — and then a query naming a municipality also matches inside the
    key ("鶴見区豊岡町" finds "横浜市鶴見区豊岡町…") — else by trying the query after each of
    ``prefixes`` (default: Kanagawa's municipality names).
    """
    parts: list[sql.Composable] = []
    params: list[Any] = []
    match = NameMatch.PREFIX if keys.prefix else NameMatch.EXACT
    for value, part in (
        (keys.seion, NamePart.FULL),
        (keys.family, NamePart.FAMILY),
        (keys.given, NamePart.GIVEN),
    ):
        if value is not None:
            # The same name conditions as the terminal search's (a kana name, every part given).
            cond = _name_sql(value, _KANA_COLUMNS, match, part)
            parts.append(cond.indexed)
            params.extend(cond.params_indexed)
    if keys.birth_range is not None:
        low, high = keys.birth_range
        if low == high:
            parts.append(sql.SQL("birth_key = %s"))
            params.append(low)
        else:
            parts.append(sql.SQL("birth_key BETWEEN %s AND %s"))
            params.extend([low, high])
    if keys.sex is not None:
        parts.append(_SEX_SQL)
        params.append(keys.sex)
    if keys.address is not None:
        pattern = like_prefix(keys.address)
        if address_tail_column is not None:
            alternatives = [
                sql.SQL("address_key LIKE %s"),
                sql.SQL("{} LIKE %s").format(sql.Identifier(address_tail_column)),
            ]
            params.extend([pattern, pattern])
            if strip_municipality(keys.address) != keys.address:
                # It names a municipality, maybe not from the top ("鶴見区…" of "横浜市鶴見区…").
                alternatives.append(sql.SQL("address_key LIKE %s"))
                params.append("%" + pattern)
            parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)))
        else:
            parts.append(sql.SQL("address_key LIKE ANY(%s)"))
            params.append(address_patterns(keys.address, prefixes))
    if not parts:
        raise ValueError("no search keys")
    return sql.SQL(" AND ").join(parts), params


def address_patterns(address: str, prefixes: Sequence[str] | None = None) -> list[str]:
    """The LIKE patterns an address key prefix matches through (without a tail column): the key itself,
    and — when it starts with none of ``prefixes`` (default: Kanagawa's municipality names) — the key
    after each of them. One rule for :func:`basic4_where` and the set-based :func:`basic4_join`."""
    names = municipality_prefixes() if prefixes is None else prefixes
    patterns = [like_prefix(address)]
    if not any(address.startswith(p) for p in names):
        patterns += [like_prefix(p + address) for p in names]
    return patterns


# ------------------------------------------------------------------ set-based 4情報 (bulk provision)

#: The key columns of a table of prepared 4情報 keys (one row per request), in :func:`basic4_key_row`'s
#: order: the 清音化 whole name, the birth-key bounds, the sex, the address LIKE patterns.
BASIC4_KEY_COLUMNS: Final = ("seion", "birth_lo", "birth_hi", "sex", "address_patterns")


def basic4_key_row(keys: Basic4Keys) -> tuple[str, int | None, int | None, str | None, list[str] | None]:
    """The values of :data:`BASIC4_KEY_COLUMNS` for one query, for matching many queries in one join.

    The keys must name the whole kana name exactly (bulk requests identify one person; a prefix or a
    name part is a search, not an identification): ValueError otherwise.
    """
    if keys.prefix or keys.seion is None or keys.family is not None or keys.given is not None:
        raise ValueError("a set-based 4情報 match needs the whole kana name, exactly")
    low, high = keys.birth_range if keys.birth_range is not None else (None, None)
    patterns = address_patterns(keys.address) if keys.address is not None else None
    return keys.seion, low, high, keys.sex, patterns


def basic4_join(keys: str, person: str) -> sql.Composed:
    """The join condition of a table of prepared keys (alias ``keys``, :data:`BASIC4_KEY_COLUMNS`) with
    a file's current table (alias ``person``): for each key row exactly the persons
    :func:`basic4_where` finds for the same :class:`Basic4Keys` — the name through the 清音化 key,
    the birth key in the period, the sex, the address key by prefix in every municipality spelling.
    """
    k, p = sql.Identifier(keys), sql.Identifier(person)
    return sql.SQL(
        "{p}.seion_kana = {k}.seion"
        " AND ({k}.birth_lo IS NULL OR {p}.birth_key BETWEEN {k}.birth_lo AND {k}.birth_hi)"
        " AND ({k}.sex IS NULL OR {p}.sex = {k}.sex)"
        " AND ({k}.address_patterns IS NULL OR {p}.address_key LIKE ANY ({k}.address_patterns))"
    ).format(k=k, p=p)


#: The literal prefix of a :func:`like_prefix` pattern (its escapes undone, the trailing % dropped), in SQL.
_PATTERN_PREFIX: Final = "regexp_replace(left({k}.address_patterns[1], -1), '\\\\(.)', '\\1', 'g')"


def basic4_join_parts(keys: str, person: str) -> list[tuple[sql.Composed, sql.Composed]]:
    """:func:`basic4_join` split by the shape of the key rows, for matching many rows at 10M persons:
    ``(which key rows, join condition)`` pairs whose key-row filters are disjoint and together cover
    every row, each condition being :func:`basic4_join` itself with a redundant conjunct an index can
    drive by. The persons found per key row are exactly :func:`basic4_join`'s (tested).

    Why: the one join condition can only be hashed on the name key, so every request row meets every
    person of the same name — thousands at 10M (the synthetic names repeat; so do common real ones)
    — before the birth or address test. Split, a row with a whole birth date hashes on name and
    birth key; a row with an address and no birth date walks the address index by its one prefix
    (the range is exact in the C collation, named explicitly; the LIKE stays the definition). A row
    with several address spellings or a birth period keeps the plain condition."""
    k, p = sql.Identifier(keys), sql.Identifier(person)
    whole = basic4_join(keys, person)
    prefix = sql.SQL(_PATTERN_PREFIX).format(k=k)
    return [
        (
            sql.SQL("{k}.birth_lo IS NOT NULL AND {k}.birth_lo = {k}.birth_hi").format(k=k),
            sql.SQL("{whole} AND {p}.birth_key = {k}.birth_lo").format(whole=whole, p=p, k=k),
        ),
        (
            sql.SQL(
                "{k}.birth_lo IS NULL AND {k}.address_patterns IS NOT NULL"
                " AND cardinality({k}.address_patterns) = 1"
            ).format(k=k),
            # basic4_join with no birth date, the name compared so that neither the name index nor a
            # hash on the name can drive the join (either meets every namesake; the address range
            # meets one address). seion_kana is NOT NULL, so this is the same test as "=".
            sql.SQL(
                "{p}.seion_kana IS NOT DISTINCT FROM {k}.seion AND ({k}.sex IS NULL OR {p}.sex = {k}.sex)"
                " AND {p}.address_key LIKE ANY ({k}.address_patterns)"
                ' AND {p}.address_key COLLATE "C" >= {prefix}'
                ' AND {p}.address_key COLLATE "C" < {prefix} || chr(1114111)'
            ).format(p=p, k=k, prefix=prefix),
        ),
        (
            sql.SQL(
                "({k}.birth_lo IS NOT NULL AND {k}.birth_lo IS DISTINCT FROM {k}.birth_hi)"
                " OR ({k}.birth_lo IS NULL AND ({k}.address_patterns IS NULL"
                " OR cardinality({k}.address_patterns) <> 1))"
            ).format(k=k),
            whole,
        ),
    ]
