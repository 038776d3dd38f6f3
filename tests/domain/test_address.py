"""Address search keys (DOMAIN §8)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from juki.domain.address import (
    PREFECTURES,
    address_key,
    address_keys,
    municipality_prefixes,
    strip_municipality,
)


@pytest.mark.parametrize(
    "variant",
    [
        "川崎市中原区小杉町一丁目520-11",
        "川崎市中原区小杉町1丁目520-11",
        "川崎市中原区小杉町１丁目５２０－１１",
        "川崎市中原区小杉町一丁目五百二十番地十一号",
        "川崎市中原区小杉町1丁目520番地11号",
        "川崎市中原区小杉町一丁目520番地の11",
        "川崎市中原区小杉町一丁目520番11号",
        "川崎市中原区小杉町一丁目520ー11",
        "川崎市中原区小杉町一丁目520―11",
        "川崎市中原区小杉町一丁目520‐11",
        "神奈川県川崎市中原区小杉町一丁目520-11",
        "神奈川県 川崎市中原区　小杉町一丁目 520-11",
    ],
)
def test_spellings_of_one_address_share_a_key(variant: str) -> None:
    """DOMAIN §8: digits/hyphens, 丁目 (漢数字), 番地・号 (arabic), prefecture and spaces are unified."""
    assert address_key(variant) == "川崎市中原区小杉町一丁目520-11"


def test_ke_variants_are_unified() -> None:
    """DOMAIN §8: ケ/ヶ/ヵ are one character in the key."""
    assert address_key("茅ヶ崎市") == address_key("茅ケ崎市") == address_key("茅ヵ崎市")
    assert address_key("横浜市保土ヶ谷区") == address_key("横浜市保土ケ谷区")


def test_names_with_numerals_keep_them() -> None:
    """DOMAIN §8: names like 八丁西町 keep their digits-as-name."""
    assert address_key("平塚市八丁西町1-2") == "平塚市八丁西町1-2"
    assert address_key("千代田区一番町5番") == "千代田区一番町5"
    assert address_key("港区麻布十番一丁目2番3号") == "港区麻布十番一丁目2-3"
    assert address_key("川崎市麻生区百合ヶ丘1丁目") == "川崎市麻生区百合ケ丘一丁目"
    assert address_key("国道一号線") == "国道一号線"
    assert address_key("豊岡町1番2号コスギハイツ101号室") == "豊岡町1-2コスギハイツ101号室"


def test_chome_numbers_become_kanji() -> None:
    """DOMAIN §8: 丁目 numbers are 漢数字 in the key (10 → 十, 12 → 十二)."""
    assert address_key("小杉町10丁目") == "小杉町十丁目"
    assert address_key("小杉町１２丁目") == "小杉町十二丁目"
    assert address_key("小杉町十二丁目") == "小杉町十二丁目"


def test_compatibility_ideographs_are_not_rewritten() -> None:
    """DOMAIN §6/§8: no NFKC on kanji — U+FA19 神 stays U+FA19 (it may be a registered 外字)."""
    key = address_key("\ufa19奈川町1番地")
    assert key == "\ufa19奈川町1"
    assert "\u795e" not in key


def test_half_width_kana_and_full_width_letters_fold() -> None:
    """DOMAIN §8: building names in half-width kana or full-width letters meet their usual spelling."""
    assert address_key("ｺｽｷﾞﾊｲﾂ Ａ棟") == address_key("コスギハイツＡ棟") == "コスギハイツA棟"


def test_every_prefecture_is_stripped() -> None:
    """DOMAIN §8: the prefecture prefix is optional."""
    assert len(PREFECTURES) == 47
    for pref in PREFECTURES:
        assert address_key(pref + "某市1番地") == "某市1"


@pytest.mark.parametrize(
    ("address", "rest"),
    [
        ("横浜市鶴見区豊岡町1-2", "豊岡町1-2"),
        ("鶴見区豊岡町1-2", "豊岡町1-2"),
        ("川崎市中原区小杉町一丁目520-11", "小杉町一丁目520-11"),
        ("足柄下郡箱根町湯本256", "湯本256"),
        ("箱根町湯本256", "湯本256"),
        ("鎌倉市雪ノ下3-1", "雪ノ下3-1"),
        ("茅ヶ崎市茅ヶ崎1-1", "茅ケ崎1-1"),
        ("横浜市保土ヶ谷区岩間町1-1", "岩間町1-1"),
        ("相模原市緑区橋本1-1", "橋本1-1"),
        ("千代田区一番町5", "一番町5"),
        ("札幌市中央区北一条西2", "北一条西2"),
    ],
)
def test_strip_municipality(address: str, rest: str) -> None:
    """DOMAIN §8: the city prefix is optional for search."""
    assert strip_municipality(address_key(address)) == rest


def test_municipality_prefixes_are_keys_longest_first() -> None:
    """DOMAIN §8: prefixes are matched against keys, longer names before their shorter parts."""
    prefixes = municipality_prefixes()
    assert "横浜市鶴見区" in prefixes and "足柄下郡箱根町" in prefixes and "茅ケ崎市" in prefixes
    assert all(address_key(p) == p for p in prefixes)
    assert [len(p) for p in prefixes] == sorted((len(p) for p in prefixes), reverse=True)


ADDRESS_ALPHABET = (
    "0123456789０１２３４５６７８９〇一二三四五六七八九十百千"
    "丁目番地号の-ー―－‐ ケヶヵ町区市郡村小杉八西神奈川県東京都\ufa19ハイツ室棟ｺｽｷﾞﾊｲﾂＡA"
)


@given(st.text(alphabet=ADDRESS_ALPHABET, max_size=30))
def test_address_key_is_idempotent(s: str) -> None:
    """DOMAIN §8: the key of a key is itself."""
    key = address_key(s)
    assert address_key(key) == key


@given(st.text(max_size=30))
def test_address_key_is_idempotent_on_any_text(s: str) -> None:
    """DOMAIN §8: idempotent on arbitrary text too."""
    key = address_key(s)
    assert address_key(key) == key


@given(st.text(alphabet="〇一二三四五六七八九十百千小杉町神\ufa19", max_size=20))
def test_kanji_are_never_normalised(s: str) -> None:
    """DOMAIN §6/§8: CJK compatibility ideographs survive; only numerals next to markers change."""
    assert address_key(s).count("\ufa19") == s.count("\ufa19")


# ---------------------------------------------------------------------------------------------
# Hardening issue, item 16: room numbers after 号, and 大字/字
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stored",
    [
        "横浜市鶴見区鶴見中央二丁目2番1号101号室",
        "横浜市鶴見区鶴見中央二丁目2番1号 101号室",
        "横浜市鶴見区鶴見中央二丁目2番1号-101",
        "横浜市鶴見区鶴見中央2丁目2-1-101",
    ],
)
def test_hardening_16_F1_6_room_number_after_go_joins_the_house_number(stored: str) -> None:
    key = address_key(stored)
    assert key == "横浜市鶴見区鶴見中央二丁目2-1-101"
    own_prefix = stored[: stored.index("1号") + 2] if "号" in stored else stored[: stored.rindex("-")]
    for query in ("横浜市鶴見区鶴見中央2丁目2-1", "横浜市鶴見区鶴見中央二丁目2番1号", own_prefix):
        assert key.startswith(address_key(query)), query
    assert address_key(key) == key


def test_hardening_16_F1_6_room_in_a_named_building_is_kept() -> None:
    assert address_key("豊岡町1番2号コスギハイツ101号室") == "豊岡町1-2コスギハイツ101号室"


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("小田原市大字荻窪300番地", "小田原市荻窪300"),
        ("神奈川県小田原市字荻窪300番地", "小田原市荻窪300"),
        ("足柄上郡山北町大字山北1番地", "足柄上郡山北町山北1"),
        ("山北町大字山北1番地", "山北町山北1"),
    ],
)
def test_hardening_16_F1_6_oaza_and_aza_markers_are_not_part_of_the_key(stored: str, query: str) -> None:
    assert address_key(stored) == address_key(query)
    assert strip_municipality(address_key(stored)) == strip_municipality(address_key(query))


def test_hardening_16_F1_6_aza_inside_a_name_is_kept() -> None:
    """Only the marker where the 町字 part starts is dropped; 大字X字Y keeps its inner 字."""
    assert address_key("足柄上郡山北町大字山北字岸100番地") == "足柄上郡山北町山北字岸100"


_PIECES = st.sampled_from(
    [
        "神奈川県", "東京都", "横浜市", "中区", "足柄下郡箱根町", "大字", "字", "小杉町", "一番町",
        "八丁西町", "一", "二", "十", "百", "〇", "1", "23", "５", "丁目", "番", "番地", "号", "号室",
        "の", "ノ", "-", "－", "ー", "ｱ", "ﾊﾟ", "ｶﾞ", "ヶ", " ", "　", "𠮷", "\ufa19", "室", "線", "\n",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=12).map("".join), max_size=20))
@example(["神奈川県神奈川県横浜市中区1-2", "東京都\n神奈川県小杉町1丁目2番3号101号室", "大字一番町", ""])
def test_address_keys_of_a_batch_equal_each_address_key(texts: list[str]) -> None:
    """The bulk loader keys a chunk's addresses in one pass over the joined texts (issue 14 item 4):
    the same keys as :func:`address_key` of each text, line breaks in a text included."""
    assert address_keys(texts) == [address_key(t) for t in texts]
