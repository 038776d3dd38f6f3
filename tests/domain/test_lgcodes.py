"""The packaged 地方公共団体コード table (DOMAIN §3): any prefecture, with validity dates (issue 14)."""

from __future__ import annotations

from datetime import date

import pytest

from juki.domain.codes import is_valid_lg_code
from juki.domain.lgcodes import LgTable, for_prefecture, load_table, load_validity, national_rows


@pytest.fixture(scope="module")
def table() -> LgTable:
    return for_prefecture("14")


def test_every_code_in_the_file_is_valid(table: LgTable) -> None:
    """DOMAIN §3: every 6-digit code of the data file passes the check-digit rule."""
    assert len(table) == 68
    for lg in table:
        assert is_valid_lg_code(lg.code), lg
        assert lg.code[:5] == lg.code5


def test_kanagawa_has_33_municipalities_and_its_wards(table: LgTable) -> None:
    """DOMAIN §3: 県, 33 市町村 (3 指定都市 + 16 市 + 13 町 + 1 村), the wards and 6 郡 rows."""
    kinds = [lg.kind for lg in table]
    assert kinds.count("都道府県") == 1
    assert kinds.count("指定都市") == 3
    assert kinds.count("市") == 16
    assert kinds.count("町") == 13
    assert kinds.count("村") == 1
    assert kinds.count("郡") == 6
    assert kinds.count("行政区") == 18 + 7 + 3
    municipalities = [lg for lg in table if lg.kind in {"指定都市", "市", "町", "村"}]
    assert len(municipalities) == 33


def test_resident_register_codes(table: LgTable) -> None:
    """DOMAIN §3: a designated city's residents carry the ward's code; 郡 and 県 never are 市町村コード."""
    codes = table.resident_register_codes()
    assert len(codes) == 30 + 28  # 33 − 3 designated cities, plus 28 wards
    assert len(set(codes)) == len(codes)
    assert "141003" not in codes and not table.is_resident_register_municipality("141003")  # 横浜市
    assert "141011" in codes and table.is_resident_register_municipality("141011")  # 鶴見区
    assert not table.is_resident_register_municipality("140007")  # 神奈川県
    for lg in table:
        if lg.is_county:
            assert lg.code not in codes
            assert not table.is_resident_register_municipality(lg.code)
    assert "144029" in codes  # 清川村
    assert not table.is_resident_register_municipality("999999")


def test_lookup_and_properties(table: LgTable) -> None:
    """DOMAIN §3: look-up by code; kind properties."""
    tsurumi = table.get("141011")
    assert tsurumi is not None and tsurumi.name == "鶴見区" and tsurumi.is_ward
    yokohama = table.get("141003")
    assert yokohama is not None and yokohama.is_designated_city and not yokohama.is_ward
    ashigarashimo = table.get("143804")
    assert ashigarashimo is not None and ashigarashimo.is_county and ashigarashimo.kind == "郡"
    assert "141011" in table and "141012" not in table
    assert table.get("141012") is None
    assert table.prefecture().code == "140007" and table.prefecture().name == "神奈川県"
    assert table.prefecture().parent_code5 is None


def test_city_of_and_same_designated_city(table: LgTable) -> None:
    """DOMAIN §3: ward names repeat across cities (緑区), so relations go by code, never by name."""
    city = table.city_of("141135")  # 横浜市緑区
    assert city is not None and city.code == "141003"
    city = table.city_of("141518")  # 相模原市緑区
    assert city is not None and city.code == "141500"
    assert table.city_of("142042") is None  # 鎌倉市
    assert table.city_of("141003") is None
    assert table.same_designated_city("141011", "141186")  # 鶴見区, 都筑区
    assert not table.same_designated_city("141135", "141518")  # two 緑区
    assert not table.same_designated_city("142042", "142042")


def test_name_of(table: LgTable) -> None:
    """DOMAIN §3: a ward's address name carries its city."""
    assert table.name_of("141011") == "横浜市鶴見区"
    assert table.name_of("141518") == "相模原市緑区"
    assert table.name_of("142042") == "鎌倉市"
    assert table.name_of("143821") == "箱根町"
    with pytest.raises(KeyError):
        table.name_of("999999")


def test_table_is_cached() -> None:
    """for_prefecture() builds each prefecture's table once."""
    assert for_prefecture("14") is for_prefecture("14")


def test_load_table_rejects_bad_codes() -> None:
    """DOMAIN §3: a data file with a wrong check digit is refused, not loaded."""
    header = "lg_code6,lg_code5,name,parent_code5,kind\n"
    with pytest.raises(ValueError):
        load_table(header + "140000,14000,神奈川県,,都道府県\n")
    with pytest.raises(ValueError):
        load_table(header + "140007,14000,神奈川県,,県庁\n")


# ---------------------------------------------------------------- the nationwide table (issue 14)


def test_national_table_has_every_prefecture_and_valid_codes() -> None:
    """DOMAIN §3: 47 都道府県; every code passes the check-digit rule; none repeats."""
    rows = national_rows()
    assert sum(1 for r in rows if r.kind == "都道府県") == 47
    assert len({r.code for r in rows}) == len(rows)
    for prefecture in range(1, 48):
        table = for_prefecture(f"{prefecture:02d}")
        assert table.prefecture_code == f"{prefecture:02d}"
        assert table.resident_register_codes(), prefecture


def test_kanagawa_from_the_national_table_is_the_same_as_before() -> None:
    """The default prefecture's table is unchanged: 68 rows, 58 resident-register codes."""
    table = for_prefecture("14")
    assert len(table) == 68 and len(table.resident_register_codes()) == 58
    assert table.resident_register_codes_on(date(2026, 10, 1)) == table.resident_register_codes()


@pytest.mark.parametrize("prefecture", ["", "1", "014", "４", "99", "00"])
def test_unknown_prefecture_is_a_clear_error(prefecture: str) -> None:
    with pytest.raises(ValueError, match="都道府県コード"):
        for_prefecture(prefecture)


def test_counties_and_statistical_areas_are_never_a_municipality_code() -> None:
    """DOMAIN §3, issue 14: 郡 and statistical rows (特別区部, 振興局) are never a 市町村コード; a
    designated city's wards are, the city itself is not; Tokyo's 特別区 are; the uninhabited
    北方領土 villages are not."""
    tokyo = for_prefecture("13")
    assert not tokyo.is_resident_register_municipality("131008")  # 特別区部 (statistical)
    assert tokyo.is_resident_register_municipality("131016")  # 千代田区
    assert tokyo.name_of("131016") == "千代田区"
    hokkaido = for_prefecture("01")
    assert not hokkaido.is_resident_register_municipality("016900")  # 根室振興局
    assert not hokkaido.is_resident_register_municipality("016951")  # 色丹村 (北方領土)
    assert hokkaido.is_resident_register_municipality("016918")  # 別海町
    assert not hokkaido.is_resident_register_municipality("011002")  # 札幌市 itself
    assert hokkaido.is_resident_register_municipality("011011")  # 札幌市中央区
    for table in (tokyo, hokkaido, for_prefecture("22")):
        for lg in table:
            if lg.is_county or lg.kind == "統計区域":
                assert not table.is_resident_register_municipality(lg.code), lg


def test_hamamatsu_wards_2024_have_validity_dates() -> None:
    """DOMAIN §3, issue 14: 浜松市 replaced seven wards by three on 2024-01-01. The old codes stay in
    the table (old records) but are valid to 2023-12-31 only; the new ones from 2024-01-01."""
    shizuoka = for_prefecture("22")
    old = ["221317", "221325", "221333", "221341", "221350", "221368"]  # 中・東・西・南・北・浜北区
    new = ["221384", "221392"]  # 中央区・浜名区
    for code in old:
        assert shizuoka.is_resident_register_municipality(code)
        assert shizuoka.valid_on(code, date(2023, 12, 31))
        assert not shizuoka.valid_on(code, date(2024, 1, 1))
    for code in new:
        assert not shizuoka.valid_on(code, date(2023, 12, 31))
        assert shizuoka.valid_on(code, date(2024, 1, 1))
    assert shizuoka.valid_on("221376", date(2010, 1, 1)) and shizuoka.valid_on(
        "221376", date(2030, 1, 1)
    )  # 天竜区
    assert shizuoka.name_of("221384") == "浜松市中央区" and shizuoka.name_of("221317") == "浜松市中区"
    assert shizuoka.city_of("221384") == shizuoka.city_of("221317")  # one city, old and new wards
    today = set(shizuoka.resident_register_codes_on(date(2026, 10, 1)))
    assert set(new) <= today and not set(old) & today and "221376" in today
    # a period overlapping the change: some day of it had the code
    assert shizuoka.valid_on("221317", date(2023, 12, 1), date(2024, 1, 31))
    assert not shizuoka.valid_on("221317", date(2024, 1, 1), date(2024, 1, 31))
    assert not shizuoka.valid_on("999999", date(2020, 1, 1))


def test_validity_file_is_checked() -> None:
    """A validity row with a bad code, a repeat or an inverted period is refused, not loaded."""
    header = "lg_code6,valid_from,valid_to,change\n"
    with pytest.raises(ValueError):
        load_validity(header + "221318,,2023-12-31,x\n")  # bad check digit
    with pytest.raises(ValueError):
        load_validity(header + "221317,,2023-12-31,x\n221317,,2023-12-31,x\n")
    with pytest.raises(ValueError):
        load_validity(header + "221384,2024-01-01,2023-12-31,x\n")


def test_table_of_one_prefecture_refuses_another_prefectures_rows() -> None:
    header = "lg_code6,lg_code5,name,parent_code5,kind\n"
    with pytest.raises(ValueError, match="他の都道府県"):
        load_table(header + "140007,14000,神奈川県,,都道府県\n131016,13101,千代田区,13100,特別区\n")
