"""Address search keys (DOMAIN §8).

The 住所 is stored exactly as the municipality sends it; this module only derives a *search key* so that
spellings of one address meet. Never store the key as the address.

:func:`address_key`, step by step (each step is idempotent and none re-enables an earlier one, so the
whole key is idempotent):

1. Fold full-width ASCII (digits, hyphen, Latin letters, punctuation: U+FF01–U+FF5E) and half-width
   katakana to their NFKC forms. NFKC is applied to those runs only, never to the whole text: it would
   rewrite CJK compatibility ideographs (U+FA19 神 → U+795E) and so change a 外字-bearing address.
2. Unify dash-like characters (ー ― － ‐ - …) to "-" — addresses write 番地 hyphens with any of them.
3. Unify ケ/ヶ/ヵ to ケ (茅ヶ崎 / 茅ケ崎; 保土ケ谷 is written both ways).
4. Remove spaces.
5. Strip a leading prefecture name (any of the 47, repeatedly).
6. 丁目 numbers → 漢数字 (小杉町1丁目 → 小杉町一丁目), the form 町字 names use.
7. 番地・号 numbers → arabic joined by "-" (五百二十番地十一号, 520番地の11, 520-11 → 520-11).
   A number counts as a 番地 only next to a marker (番地, 番, 号, の/ノ or "-" between numbers), so
   names with numerals (八丁西町, 一番町, 百合ケ丘) keep their digits-as-name. A room number right
   after the 号 joins the chain (2番1号101号室, 2番1号 101号室, 2番1号-101 → 2-1-101), so the
   address without its room, and the stored text's own prefix, find it.
8. A 大字 / 字 marker at the start of the 町字 part is dropped (小田原市大字荻窪300番地 → 小田原市荻窪300):
   municipalities write it or not, and a search never needs it.

Known limitation: "小杉町1-5-10" (丁目 written as the first hyphenated number) cannot be told apart from a
番地-号-枝番 and is not rewritten to 一丁目5-10.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Final

from kanjize import kanji2number, number2kanji

from juki.domain.lgcodes import DEFAULT_PREFECTURE, LgTable, for_prefecture

__all__ = ["PREFECTURES", "address_key", "address_keys", "municipality_prefixes", "strip_municipality"]

PREFECTURES: Final[tuple[str, ...]] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip

_PREFECTURE_SET: Final = frozenset(PREFECTURES)  # every name has 3 or 4 characters

_DASHES: Final = "ー―‐‑‒–—−－ｰ﹣⁃"
_CHAR_TABLE: Final = str.maketrans(
    {
        **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},  # full-width ASCII → ASCII
        **dict.fromkeys(_DASHES, "-"),
        "ヶ": "ケ",
        "ヵ": "ケ",
        " ": None,
        "\u3000": None,
        "\t": None,
        "\u00a0": None,
    }
)
# Half-width kana are folded before the dash table so that ｰ (→ ー) is unified like the other dashes.
_HALF_WIDTH_KANA_RE: Final = re.compile(r"[\uff61-\uff9f]+")

_KANJI_DIGITS: Final = "〇一二三四五六七八九十百千"
# A 丁目 number is a whole run of one kind of digit (一1丁目 is left alone rather than half-converted).
_CHOME_RE: Final = re.compile(rf"(?<![0-9{_KANJI_DIGITS}])(?:([0-9]+)|([{_KANJI_DIGITS}]+))丁目")

# A number in a 番地 chain: a whole run of arabic digits, or a whole run of kanji numerals that does not
# start a 丁目. "Whole" (no digit of either kind on either side) keeps the key idempotent: a chain may
# never end next to a digit that would join it on a second pass.
_N: Final = rf"(?:[0-9]+(?![0-9{_KANJI_DIGITS}])|[{_KANJI_DIGITS}]+(?![0-9{_KANJI_DIGITS}]|丁目))"
# Markers ending a chain must not start a word: 一番町, 麻布十番(一丁目) and 国道一号線 are names, and
# 101号室 is a room. So 番 ends a chain only when neither a (non-numeral) ideograph nor a 丁目 number
# follows, and 号 unless 室/線/棟/館 follows.
_IDEOGRAPHS: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_END: Final = (
    rf"(?:番地|番(?![{_KANJI_DIGITS}]+丁目)(?=[{_KANJI_DIGITS}]|[^{_IDEOGRAPHS}]|$)|号(?!室|線|棟|館))"
)
_SEP: Final = r"(?:番地の|番地ノ|番地|番の|番ノ|番|号の|号ノ|号-|の|ノ|-)"
# A room number directly after a chain's 号: "2番1号101号室" → "2番1号-101" before the chain is read.
_ROOM_RE: Final = re.compile(rf"(?<=[0-9{_KANJI_DIGITS}]号)([0-9]+)号室")
# A chain must stand alone: nothing after it that a second pass could join to it (another number, a
# separator, a marker, or 丁目). Otherwise the key would not be idempotent.
_AFTER: Final = rf"(?![0-9{_KANJI_DIGITS}\-のノ番号]|丁目)"
_CHAIN_RE: Final = re.compile(rf"(?<![0-9{_KANJI_DIGITS}]){_N}(?:{_SEP}{_N})*{_END}*{_AFTER}")
_NUM_RE: Final = re.compile(rf"[0-9]+|[{_KANJI_DIGITS}]+")
_MARKER_RE: Final = re.compile(r"番|号|の|ノ|-")


# kanjize is pure Python and comparatively slow; 丁目 and 番地 numbers are few distinct values, so both
# conversions are memoised (address_key runs once per person in a bulk load).
@lru_cache(maxsize=8192)
def _to_int(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    try:
        return int(kanji2number(token))
    except ValueError:
        return None


def _chome(m: re.Match[str]) -> str:
    token = m[1] or m[2]
    n = _to_int(token)
    if n is None or n <= 0:
        return m[0]
    return f"{_kanji_of(n)}丁目"


@lru_cache(maxsize=1024)
def _kanji_of(n: int) -> str:
    return str(number2kanji(n))


def _chain(m: re.Match[str]) -> str:
    text = m[0]
    if not _MARKER_RE.search(text):
        return text  # a bare numeral: part of a name (八丁西町)
    numbers: list[str] = []
    for token in _NUM_RE.findall(text):
        n = _to_int(token)
        if n is None:
            return text
        numbers.append(str(n))
    return "-".join(numbers)


def _fold_half_width_kana(m: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", m[0])


def address_key(s: str) -> str:
    """The search key of an address (idempotent; kanji, including compatibility ideographs, untouched)."""
    return _drop_aza_marker(_address_key(s))


_AZA_MARKERS: Final = ("大字", "字")


def _drop_aza_marker(key: str) -> str:
    """Step 8: drop 大字/字 where the 町字 part starts (after the municipality, when there is one)."""
    if "字" not in key:
        return key
    rest = strip_municipality(key)
    head = key[: len(key) - len(rest)]
    while rest.startswith(_AZA_MARKERS):
        rest = rest[2:] if rest.startswith("大字") else rest[1:]
    return head + rest


# Members of a household share an address and bulk files list them together: a small memo pays.
@lru_cache(maxsize=1 << 14)
def _address_key(s: str) -> str:
    if _HALF_WIDTH_KANA_RE.search(s):
        s = _HALF_WIDTH_KANA_RE.sub(_fold_half_width_kana, s)
    s = s.translate(_CHAR_TABLE)
    while True:  # repeatedly, so that the key stays idempotent even for "神奈川県神奈川県…"
        if s[:3] in _PREFECTURE_SET:
            s = s[3:]
        elif s[:4] in _PREFECTURE_SET:
            s = s[4:]
        else:
            break
    if "丁目" in s:
        s = _CHOME_RE.sub(_chome, s)
    if "号室" in s:
        s = _ROOM_RE.sub(r"-\1", s)
    return _CHAIN_RE.sub(_chain, s)


# Step 5 over many lines at once: one or more prefecture names where a line starts.
_PREFECTURE_PREFIX_RE: Final = re.compile("^(?:" + "|".join(PREFECTURES) + ")+", re.MULTILINE)


def address_keys(texts: Sequence[str]) -> list[str]:
    """:func:`address_key` of each text, computed for a whole batch at once (the bulk loader's path).

    The texts are joined with line breaks and each step runs once over the joined text: every
    pattern above stops at a line break exactly as it stops at the end of a text (a line break is no
    digit, marker or ideograph), so the result is the same while the per-address calls — a large
    share of a loaded row's cost — are paid once per batch. A text that holds a line break itself
    is keyed alone. ``tests/domain/test_address.py`` proves the two agree on random batches.
    """
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        return [address_key(t) for t in texts]
    if _HALF_WIDTH_KANA_RE.search(joined):
        joined = _HALF_WIDTH_KANA_RE.sub(_fold_half_width_kana, joined)
    joined = _PREFECTURE_PREFIX_RE.sub("", joined.translate(_CHAR_TABLE))
    if "丁目" in joined:
        joined = _CHOME_RE.sub(_chome, joined)
    if "号室" in joined:
        joined = _ROOM_RE.sub(r"-\1", joined)
    keys = _CHAIN_RE.sub(_chain, joined).split("\n")
    return [_drop_aza_marker(k) if "字" in k else k for k in keys]


def municipality_prefixes(table: LgTable | None = None) -> tuple[str, ...]:
    """Keys of the municipality names an address may start with, longest first.

    From the prefecture's table (``table``; None = the default prefecture, 神奈川県): 市+区
    (横浜市鶴見区), the ward alone, the designated city alone, 郡+町村 (足柄下郡箱根町), the town or
    village alone, and 市. Keys, because they are matched against keys.
    """
    return _municipality_prefixes(table if table is not None else for_prefecture(DEFAULT_PREFECTURE))


@cache
def _municipality_prefixes(table: LgTable) -> tuple[str, ...]:
    names: set[str] = set()
    for lg in table:
        if lg.is_ward:
            names.add(table.name_of(lg.code))
            names.add(lg.name)
        elif lg.is_designated_city or lg.is_resident_register_municipality:
            names.add(lg.name)
            parent = table.by_code5(lg.parent_code5) if lg.parent_code5 else None
            if parent is not None and parent.is_county:
                names.add(parent.name + lg.name)
    # _address_key: the names never start with 大字, and step 8 itself reads these prefixes.
    return tuple(sorted({_address_key(n) for n in names}, key=len, reverse=True))


@cache
def _names_of(code6: str, table: LgTable) -> frozenset[str]:
    """Keys of the names an address in municipality ``code6`` of ``table`` may start with."""
    lg = table.get(code6)
    if lg is None:
        return frozenset()
    names = {table.name_of(code6), lg.name}  # 横浜市鶴見区 and 鶴見区; 箱根町
    parent = table.by_code5(lg.parent_code5) if lg.parent_code5 else None
    if parent is not None and parent.is_county:
        names.add(parent.name + lg.name)  # 足柄下郡箱根町
    return frozenset(address_key(n) for n in names)


def lies_in(address: str, code6: str, table: LgTable) -> bool:
    """Whether ``address`` (with or without its prefecture's name) starts with the name of
    municipality ``code6`` of ``table`` — a record's 住所 must lie in the municipality its 市町村コード
    names.

    The longest known municipality prefix decides, so 横浜市中区 is not read as in 横浜市中央区's
    city and an address of another prefecture (東京都…) lies in no municipality of the table.
    """
    text = address.strip().translate(_CHAR_TABLE)
    own = table.prefecture().name
    if any(text.startswith(p) for p in _PREFECTURE_SET if p != own):
        return False
    key = address_key(address)
    longest = next((p for p in _municipality_prefixes(table) if key.startswith(p)), None)
    return longest is not None and longest in _names_of(code6, table)


# Other prefectures: a heuristic (郡+町村, 市+区, 市, 特別区). It misreads names with 市 inside
# (四日市市 → 四日市), which is acceptable for an optional search prefix.
_GENERIC_MUNICIPALITY_RE: Final = re.compile(
    r"(?:[^0-9-]{1,5}?郡[^0-9-]{1,5}?[町村]|[^0-9-]{1,5}?市[^0-9-]{1,4}?区|[^0-9-]{1,5}?[市区])"
)


def strip_municipality(key: str) -> str:
    """Drop a leading 市区町村 part of an address key, so an address given without its city matches.

    The default prefecture's names first, then a generic pattern that reads any other prefecture's
    市+区, 市, 郡+町村 and 特別区. The search keys derived from this are stored, so it does not
    change with the configured prefecture (a consolidation centre's prefectures share one rule)."""
    for prefix in municipality_prefixes():
        if key.startswith(prefix):
            return key[len(prefix) :]
    m = _GENERIC_MUNICIPALITY_RE.match(key)
    return key[m.end() :] if m else key
