"""4情報 search conditions: what an operator (or a J-LIS query) enters, how it is read, and the minimum
rules a search must meet (REQUIREMENTS S-25; the J-LIS query rule of F1-5/F2-5).

Why the rules are data: S-25 requires that a search can only be made with a minimum set of conditions
so that every use is demonstrably work-related. The terminal search and the J-LIS query have different
minimum rules (S-25's table vs "a kana name and a birth date or an address"), but one mechanism
(:class:`RuleSet`): the matcher reports which :class:`Condition` s an input carries, the caller's rule
set says whether that is enough, with which refusal code and message. docs/terminals.md shows the
S-25 table (:data:`MINIMUM_RULES`).

The SQL the conditions become is :mod:`juki.services.search.matcher`; the use cases are
:mod:`juki.services.search.service`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from juki.domain.codes import normalize_digits
from juki.domain.dates import DateParseError, JukiDate, parse_entered_date
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal

__all__ = [
    "DEFAULT_SEARCH_CAP",
    "JLIS_QUERY_RULES",
    "MINIMUM_RULES",
    "S25_RULES",
    "Condition",
    "MinimumRule",
    "NameMatch",
    "NamePart",
    "RuleSet",
    "SearchConditions",
    "read_birth",
    "read_sex",
    "unmet_conditions_message",
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


def unmet_conditions_message(
    present: frozenset[Condition], hints: Sequence[str] = (), rules: Sequence[MinimumRule] = MINIMUM_RULES
) -> str:
    """The Japanese explanation of what is missing: what each closest rule still lacks."""
    allowed = "、".join(rule.label for rule in rules)
    parts = list(hints)
    if not present:
        parts.append("検索条件が入力されていません")
    else:
        missing = [rule.requires - present for rule in rules]
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


@dataclass(frozen=True)
class RuleSet:
    """Minimum rules of one kind of search, and how an input that meets none of them is refused.

    ``message`` is the fixed refusal text; without one the text says what the closest rules still lack
    (:func:`unmet_conditions_message`). ``too_many_code`` is the refusal of more than the cap of matches
    (never a truncated list).
    """

    rules: tuple[MinimumRule, ...]
    refusal_code: str
    too_many_code: str
    message: str | None = None

    def met(self, present: frozenset[Condition]) -> bool:
        """Whether ``present`` includes every condition of at least one rule."""
        return any(rule.requires <= present for rule in self.rules)

    def explain(self, present: frozenset[Condition], hints: Sequence[str] = ()) -> str:
        """The Japanese refusal text for ``present`` (which met no rule)."""
        if self.message is not None:
            return self.message
        return unmet_conditions_message(present, hints, self.rules)


#: The terminal search (F1-6/F2-6, S-25).
S25_RULES: Final = RuleSet(MINIMUM_RULES, "T_SEARCH_CONDITIONS", "T_SEARCH_TOO_MANY")

#: A 4情報 query to J-LIS (F1-5/F2-5), the local-first search (F1-2) and the J-LIS servers themselves:
#: a kana name of any length (whole, family or given part, counted as NAME) and a birth date or an
#: address (any address prefix, counted as ADDRESS).
JLIS_QUERY_RULES: Final = RuleSet(
    (
        MinimumRule(frozenset({Condition.NAME, Condition.BIRTH}), "a kana name and a birth date"),
        MinimumRule(frozenset({Condition.NAME, Condition.ADDRESS}), "a kana name and an address"),
    ),
    "E_QUERY_CONDITIONS",
    "E_TOO_MANY",
    "4情報による照会には、氏名（かな）に加えて生年月日または住所の指定が必要です",
)


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
    #: 「異体字も検索」: a kanji name also matches its variant spellings (髙橋 for 高橋); only the key
    #: is expanded, stored names are never changed (juki.domain.kanji_variants).
    kanji_variants: bool = False

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
        if self.kanji_variants:
            out["kanji_variants"] = True
        return out


_SEX: Final[Mapping[str, str]] = {"1": "1", "2": "2", "男": "1", "女": "2", "男性": "1", "女性": "2"}


def read_sex(value: str) -> str | None:
    """ "1" / "2" for 1, 2, 男, 女, 男性, 女性 (full width digits too); None for anything else."""
    return _SEX.get(normalize_digits(value.strip()))


def read_birth(value: str | JukiDate) -> JukiDate:
    """A birth-date condition (any form an operator types, 元号コード too); T_SEARCH_INPUT for an
    unreadable date or 不詳."""
    if isinstance(value, JukiDate):
        date = value
    else:
        try:
            date = parse_entered_date(value.strip())
        except DateParseError as exc:
            raise Refusal("T_SEARCH_INPUT", f"生年月日: {exc.message}") from None
    if date.year is None:
        raise Refusal("T_SEARCH_INPUT", "生年月日「不詳」は検索条件にできません")
    return date
