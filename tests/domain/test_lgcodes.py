"""The packaged Kanagawa 地方公共団体コード table (DOMAIN §3)."""

from __future__ import annotations

import pytest

from juki.domain.codes import is_valid_lg_code
from juki.domain.lgcodes import LgTable, kanagawa, load_table


@pytest.fixture(scope="module")
def table() -> LgTable:
    return kanagawa()


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
    """kanagawa() parses the packaged file once."""
    assert kanagawa() is kanagawa()


def test_load_table_rejects_bad_codes() -> None:
    """DOMAIN §3: a data file with a wrong check digit is refused, not loaded."""
    header = "lg_code6,lg_code5,name,parent_code5,kind\n"
    with pytest.raises(ValueError):
        load_table(header + "140000,14000,神奈川県,,都道府県\n")
    with pytest.raises(ValueError):
        load_table(header + "140007,14000,神奈川県,,県庁\n")
