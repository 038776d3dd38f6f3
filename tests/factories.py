"""Valid test codes and records shared by the test modules.

Codes carry computed check digits (never invented numbers); records hold every notified item.
Each test module overrides only what its cases are about.
"""

from __future__ import annotations

from juki.domain.codes import juminhyo_check_digit, my_number_check_digit

TSURUMI = "141011"  # 横浜市鶴見区 (a ward: keeps the resident register)
KANAGAWA_KU = "141020"  # 横浜市神奈川区 (same designated city as 鶴見区)
KAWASAKI_KU = "141313"  # 川崎市川崎区 (another designated city)
KAMAKURA = "142042"  # 鎌倉市
YOKOHAMA = "141003"  # 横浜市 itself (a designated city: never a 市町村コード)
CHIYODA = "131016"  # 東京都千代田区 (valid, another prefecture)


def jcode(first10: str) -> str:
    """A 住民票コード satisfying the mod11 hypothesis (DOMAIN §2)."""
    return first10 + juminhyo_check_digit(first10)


def mynum(first11: str) -> str:
    """A valid 個人番号 (DOMAIN §1)."""
    return first11 + my_number_check_digit(first11)


MY_NUMBER = mynum("12345678901")


def pref_record(**over: str) -> dict[str, str]:
    """A File 1 record (all notified items) of a resident of 鶴見区."""
    record = {
        "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ",
        "birth_date": "1985-03-04",
        "sex": "1",
        "address": "神奈川県横浜市鶴見区鶴見中央一丁目1番1号",
        "municipality_code": TSURUMI,
        "aza_code": "0001001",
        "my_number": MY_NUMBER,
        "former_surname_kanji": "",
        "former_surname_kana": "",
    }
    record.update(over)
    return record


def fuhyo_record(**over: str) -> dict[str, str]:
    """A File 2 record (all notified items) of a person living in 鶴見区."""
    record = {
        "name_kanji": "山田　花子",
        "name_kana": "ヤマダ　ハナコ",
        "birth_date": "1985-03-04",
        "sex": "2",
        "address_municipality_code": TSURUMI,
        "address": "神奈川県横浜市鶴見区鶴見中央一丁目1番1号",
        "last_address": "",
    }
    record.update(over)
    return record
