"""Where synthetic persons live: municipalities weighted by population, towns, addresses.

Any prefecture's population can be made (issue 14): its municipalities are the resident-register
municipalities — wards for the designated cities — of ``juki/data/lgcodes_japan.csv`` that exist on
the population's date (浜松市's three wards of 2024, not the seven before). For 神奈川県 the weights
are rounded resident populations (thousands, ca. 2024); no such figures are packaged for the other
prefectures, so there a municipality weighs what its kind typically holds (a 特別区 or a ward more
than a 市, a 市 more than a 町, a 村 least) — realistic in shape, not in each place's size.
Town names (町字) are synthetic, generated once per municipality from a fixed seed, so a town and its
大字・字コード are the same in every population.
Addresses are written the way municipalities send them: 丁目 in 漢数字 or arabic digits, full-width
digits in some, 番・号 or 番地 forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Final

from juki.domain.codes import lg_code_check_digit
from juki.domain.lgcodes import (
    DEFAULT_PREFECTURE,
    KIND_CITY,
    KIND_SPECIAL_WARD,
    KIND_TOWN,
    KIND_VILLAGE,
    KIND_WARD,
    LgTable,
    for_prefecture,
)
from juki.synth.draw import Draw, Weighted

__all__ = [
    "COUNTRIES",
    "Loc",
    "Place",
    "Town",
    "aza_code",
    "draw_address",
    "draw_loc",
    "draw_place",
    "draw_style",
    "other_ward",
    "out_of_pref_place",
    "place",
    "places",
    "render",
]

#: Resident population in thousands per 市町村コード (wards of 横浜・川崎・相模原; cities, towns, village).
_POPULATION_K: Final[dict[str, int]] = {
    # 横浜市 (18 wards, ~3.77M)
    "141011": 297, "141020": 248, "141038": 105, "141046": 151, "141054": 197, "141062": 206,
    "141071": 163, "141089": 195, "141097": 361, "141101": 282, "141119": 211, "141127": 240,
    "141135": 182, "141143": 121, "141151": 118, "141160": 150, "141178": 309, "141186": 215,
    # 川崎市 (7 wards, ~1.54M)
    "141313": 232, "141321": 171, "141330": 264, "141348": 235, "141356": 222, "141364": 232,
    "141372": 180,
    # 相模原市 (3 wards, ~0.72M)
    "141518": 168, "141526": 272, "141534": 280,
    # 市
    "142018": 385, "142034": 256, "142042": 176, "142051": 444, "142069": 186, "142077": 245,
    "142085": 59, "142107": 41, "142115": 160, "142123": 223, "142131": 243, "142140": 100,
    "142158": 137, "142166": 131, "142174": 40, "142182": 83,
    # 町・村
    "143014": 32, "143219": 48, "143413": 31, "143421": 27, "143618": 9, "143626": 17, "143634": 10,
    "143642": 9, "143669": 18, "143821": 11, "143839": 7, "143847": 23, "144011": 39, "144029": 3,
}  # fmt: skip

_PREFIX: Final = (
    "桜", "緑", "若葉", "富士見", "宮", "本", "中", "東", "西", "南", "北", "新", "上", "下", "大",
    "小", "岡", "松", "竹", "梅", "青葉", "栄", "旭", "柏", "高", "浜", "港", "泉", "星", "花",
    "朝日", "清水", "平", "長", "森", "白", "石", "山", "川", "千代", "鶴", "亀", "原", "寿", "幸",
    "曙",
)  # fmt: skip
_SUFFIX: Final = (
    "町", "台", "ケ丘", "が丘", "谷", "沢", "田", "原", "野", "山", "本町", "坂", "浜", "崎", "島",
    "見", "宿", "倉", "木", "里",
)  # fmt: skip
_KANJI_DIGITS: Final = "〇一二三四五六七八九"
_FULL_WIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")

#: Destinations abroad as recorded in a 附票 (country name as written in the 戸籍の附票).
COUNTRIES: Final[tuple[str, ...]] = (
    "アメリカ合衆国",
    "アメリカ合衆国カリフォルニア州",
    "タイ王国",
    "中華人民共和国",
    "大韓民国",
    "シンガポール共和国",
    "オーストラリア連邦",
    "ドイツ連邦共和国",
    "カナダ",
    "ベトナム社会主義共和国",
    "英国",
)

#: The day the population stands on: the municipalities that exist then are the ones persons live in
#: (the population module's POPULATION_AS_OF, which re-exports it).
PLACES_AS_OF: Final = date(2026, 10, 1)

#: Typical residents in thousands of a municipality of each kind, for prefectures without figures.
_TYPICAL_K: Final[dict[str, int]] = {KIND_SPECIAL_WARD: 400, KIND_WARD: 160, KIND_CITY: 90, KIND_TOWN: 15}
_TYPICAL_VILLAGE_K: Final = 4

# Municipalities outside the prefecture that persons move to (public 全国地方公共団体コード, 5 digits);
# the ones of the prefecture itself are left out. The last is for the prefectures other than 神奈川県.
_OUT_OF_PREF: Final[tuple[tuple[str, str, int], ...]] = (
    ("13101", "東京都千代田区", 2),
    ("13104", "東京都新宿区", 10),
    ("13112", "東京都世田谷区", 30),
    ("13113", "東京都渋谷区", 8),
    ("13120", "東京都練馬区", 12),
    ("12204", "千葉県船橋市", 8),
    ("11203", "埼玉県川口市", 7),
    ("01101", "北海道札幌市中央区", 3),
    ("18207", "福井県鯖江市", 1),
    ("14101", "神奈川県横浜市鶴見区", 10),
)

# Address number styles: 0 arabic (3丁目12番5号), 1 漢数字 丁目 (三丁目12番5号), 2 full-width digits
# (３丁目１２番５号), 3 番地 form (三丁目12番地5).
_N_STYLES: Final = 4


@dataclass(frozen=True, slots=True)
class Town:
    """A synthetic 町字: its name, its number of 丁目 (0 = a 番地-only area) and its 4-digit id."""

    name: str
    chome: int
    town_id: int


@dataclass(frozen=True, slots=True)
class Place:
    """A resident-register municipality with its towns and the way it writes addresses."""

    code: str
    prefix: str  # "神奈川県横浜市鶴見区"
    towns: tuple[Town, ...]
    style: int  # dominant number style
    has_aza: bool  # whether it uses 大字・字コード
    city_code: str  # designated city's code for a ward, else the code itself


Loc = tuple[int, int, int, int]  # (town index, 丁目 or 0, 番/番地, 号 or 0)


def _kanji_number(n: int) -> str:
    if n < 10:
        return _KANJI_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _KANJI_DIGITS[tens]) + "十" + (_KANJI_DIGITS[ones] if ones else "")


def _make_place(code: str, pop_k: int, small: bool, prefix: str, city_code: str) -> Place:
    d = Draw(f"towns/{code}")
    n_towns = max(6, min(60, int(pop_k**0.5 * 2.5)))
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n_towns:
        name = d.pick(_PREFIX) + d.pick(_SUFFIX)
        if name not in seen:
            seen.add(name)
            names.append(name)
    chome_share = 30 if small else 75
    towns = tuple(
        Town(name, d.between(1, 7) if d.below(100) < chome_share else 0, (i + 1) * 10 + d.below(10))
        for i, name in enumerate(names)
    )
    has_aza = not (small and d.below(2) == 0)
    return Place(code, prefix, towns, d.below(_N_STYLES), has_aza, city_code)


def _population_k(table: LgTable, codes: tuple[str, ...]) -> dict[str, int]:
    """Residents in thousands per code: 神奈川県's figures, else the typical size of each kind."""
    if table.prefecture_code == DEFAULT_PREFECTURE:
        if set(codes) != set(_POPULATION_K):
            raise RuntimeError("synth の人口表と地方公共団体コード表の市町村が一致しません")
        return _POPULATION_K
    out: dict[str, int] = {}
    for code in codes:
        row = table.get(code)
        assert row is not None
        out[code] = _TYPICAL_K.get(row.kind, _TYPICAL_VILLAGE_K)
    return out


@cache
def places(prefecture: str = DEFAULT_PREFECTURE) -> dict[str, Place]:
    """Every resident-register municipality of ``prefecture`` on :data:`PLACES_AS_OF`, keyed by code."""
    table = for_prefecture(prefecture)
    codes = table.resident_register_codes_on(PLACES_AS_OF)
    population = _population_k(table, codes)
    out: dict[str, Place] = {}
    for code in codes:
        row = table.get(code)
        assert row is not None
        city = table.city_of(code)
        out[code] = _make_place(
            code,
            population[code],
            row.kind in (KIND_TOWN, KIND_VILLAGE),
            table.prefecture().name + table.name_of(code),
            city.code if city is not None else code,
        )
    return out


@cache
def _weighted(prefecture: str) -> Weighted[Place]:
    p = places(prefecture)
    population = _population_k(for_prefecture(prefecture), tuple(p))
    return Weighted([(p[code], population[code]) for code in p])


@cache
def _out_of_pref(prefecture: str) -> Weighted[Place]:
    pairs = []
    for code5, name, weight in _OUT_OF_PREF:
        if code5.startswith(prefecture):
            continue
        code = code5 + lg_code_check_digit(code5)
        pairs.append((_make_place(code, 300, False, name, code), weight))
    return Weighted(pairs)


@cache
def _wards_of(city_code: str) -> tuple[Place, ...]:
    return tuple(p for p in places(city_code[:2]).values() if p.city_code == city_code)


def place(code: str) -> Place:
    """The Place of a resident-register municipality code (of the prefecture its code names)."""
    return places(code[:2])[code]


def draw_place(draw: Draw, prefecture: str = DEFAULT_PREFECTURE) -> Place:
    """A municipality of ``prefecture`` chosen with probability proportional to its population."""
    return _weighted(prefecture).pick(draw)


def other_ward(draw: Draw, p: Place) -> Place:
    """Another ward of the same designated city, or ``p`` itself when it is not a ward."""
    wards = _wards_of(p.city_code)
    if len(wards) < 2:
        return p
    while True:
        w = draw.pick(wards)
        if w is not p:
            return w


def out_of_pref_place(draw: Draw, prefecture: str = DEFAULT_PREFECTURE) -> Place:
    """A municipality outside ``prefecture`` (for persons who moved out of it)."""
    return _out_of_pref(prefecture).pick(draw)


def render(p: Place, loc: Loc, style: int) -> str:
    """The address text of ``loc`` in ``p`` written in number ``style``."""
    town_index, chome, ban, go = loc
    town = p.towns[town_index]
    if chome:
        if style == 0 or style == 2:  # style 2 is made full-width below
            s = f"{town.name}{chome}丁目{ban}番{go}号"
        elif style == 1:
            s = f"{town.name}{_kanji_number(chome)}丁目{ban}番{go}号"
        else:
            s = f"{town.name}{_kanji_number(chome)}丁目{ban}番地{go}"
    elif go == 0:
        s = f"{town.name}{ban}番地"
    elif style == 3:
        s = f"{town.name}{ban}番地の{go}"
    else:
        s = f"{town.name}{ban}番地{go}"
    if style == 2:
        s = s.translate(_FULL_WIDTH)
    return p.prefix + s


def aza_code(p: Place, loc: Loc) -> str:
    """The 7-digit 大字・字コード of ``loc`` (4 digits 町字 + 3 digits 丁目), or "" if ``p`` has none."""
    if not p.has_aza:
        return ""
    return f"{p.towns[loc[0]].town_id:04d}{loc[1]:03d}"


def draw_loc(draw: Draw, p: Place) -> Loc:
    """A random location (town, 丁目, 番, 号) in ``p``."""
    town_index = draw.below(len(p.towns))
    n_chome = p.towns[town_index].chome
    if n_chome:
        return (town_index, 1 + draw.below(n_chome), 1 + draw.below(30), 1 + draw.below(25))
    return (town_index, 0, 1 + draw.below(2500), draw.below(12))


def draw_style(draw: Draw, p: Place) -> int:
    """The number style of one address: mostly the municipality's own."""
    r = draw.below(100)
    return p.style if r < 85 else r % _N_STYLES


def draw_address(draw: Draw, p: Place) -> tuple[str, str, Loc]:
    """(address, aza_code, loc) of a random location in ``p``."""
    loc = draw_loc(draw, p)
    return render(p, loc, draw_style(draw, p)), aza_code(p, loc), loc
