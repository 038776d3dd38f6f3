"""外字 detection against the declared standard repertoire (DOMAIN §7)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juki.domain.gaiji import (
    REPERTOIRE_NAME,
    count_gaiji,
    gaiji_chars,
    gaiji_counts,
    gaiji_pattern,
    has_gaiji,
    is_private_use,
    is_standard_char,
)

IVS0 = "\U000e0100"
IVS1 = "\U000e0101"


@pytest.mark.parametrize(
    "text",
    [
        "山田太郎",
        "やまだ たろう",
        "ﾔﾏﾀﾞ ﾀﾛｳ",  # JIS X 0201 half-width katakana
        "神奈川県横浜市鶴見区1-2-3",
        "\ufa19",  # CJK compatibility ideograph 神, in JIS X 0213
        "𠀋",  # supplementary-plane kanji in JIS X 0213 plane 2
        "鷗外",
        "か\u309a",  # JIS X 0213 sequence か゚
        "か\u3099",  # decomposed が
        "葛" + IVS1 + "城",  # Moji_Joho IVS on a standard base
        "辻" + IVS0,
        "Smith John",
        "",
    ],
)
def test_standard_text_has_no_gaiji(text: str) -> None:
    """DOMAIN §7: JIS X 0213 + ASCII + IVS on a standard base are standard."""
    assert gaiji_chars(text) == []
    assert count_gaiji(text) == 0
    assert not has_gaiji(text)


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("髙橋", ["髙"]),  # はしご高: outside JIS X 0213
        ("𠮷田", ["𠮷"]),  # つちよし
        ("髙" + IVS0 + "橋", ["髙" + IVS0]),  # the selector travels with its 外字
        ("\ue000山", ["\ue000"]),  # private use (BMP)
        ("\U000f0001", ["\U000f0001"]),  # private use (plane 15)
        ("\U00100000", ["\U00100000"]),  # private use (plane 16)
        ("𠮷田髙橋𠮷", ["𠮷", "髙", "𠮷"]),
        ("\u3099", ["\u3099"]),  # a sound mark with nothing before it
        (IVS0 + "山", [IVS0]),  # a selector with nothing before it
        ("🀄", ["🀄"]),
    ],
)
def test_gaiji_units(text: str, units: list[str]) -> None:
    """DOMAIN §7: private use and characters outside the repertoire are 外字, one unit each."""
    assert gaiji_chars(text) == units
    assert count_gaiji(text) == len(units)
    assert has_gaiji(text)


def test_private_use_ranges() -> None:
    """DOMAIN §7: U+E000–U+F8FF and planes 15–16 are private use."""
    assert is_private_use(0xE000) and is_private_use(0xF8FF)
    assert is_private_use(0xF0000) and is_private_use(0x10FFFD)
    assert not is_private_use(0xDFFF) and not is_private_use(0xF900) and not is_private_use(0xEFFFF)
    assert not is_standard_char("\ue000")
    assert is_standard_char("A") and is_standard_char("\x00")


def test_gaiji_pattern() -> None:
    """DOMAIN §7 (project interpretation of 外字パターン): distinct units, first appearance first."""
    assert gaiji_pattern("髙橋 𠮷", "𠮷田", "山田") == "U+9AD9 U+20BB7"
    assert gaiji_pattern("髙" + IVS0) == "U+9AD9+U+E0100"
    assert gaiji_pattern("山田太郎") == ""
    assert gaiji_pattern() == ""


def test_repertoire_is_declared() -> None:
    """DOMAIN §7: the repertoire is decided once and named."""
    assert "JIS X 0213" in REPERTOIRE_NAME and "IVS" in REPERTOIRE_NAME


JIS_SAMPLE = "山田太郎花子鈴木佐藤高橋渡辺伊藤神\ufa19鷗𠀋あいうアイウｱｲｳ0aZ-ー　 "


@given(st.text(alphabet=JIS_SAMPLE, max_size=20), st.text(alphabet="髙𠮷\ue000\U000f0000", max_size=5))
def test_count_is_additive(standard: str, gaiji: str) -> None:
    """DOMAIN §7: 外字数 counts exactly the non-standard characters, wherever they are."""
    mixed = "".join(a + b for a, b in zip(standard, gaiji, strict=False)) + standard[len(gaiji) :]
    mixed += gaiji[len(standard) :]
    assert count_gaiji(mixed) == len(gaiji)
    assert count_gaiji(standard) == 0


@given(st.text(max_size=20))
def test_units_reassemble_subset(s: str) -> None:
    """DOMAIN §7: every reported unit is a substring of the text, and flags agree with counts."""
    units = gaiji_chars(s)
    assert all(u in s for u in units)
    assert has_gaiji(s) == (count_gaiji(s) > 0)
    for u in units:
        assert not u.isascii()


@given(st.text(alphabet=JIS_SAMPLE, min_size=1, max_size=10))
def test_ivs_on_standard_base_is_standard(s: str) -> None:
    """DOMAIN §7: a variation selector after a standard character adds no 外字."""
    with_ivs = "".join(c + IVS0 for c in s)
    assert count_gaiji(with_ivs) == 0


_GAIJI_PIECES = st.sampled_from(
    ["田", "髙", "𠮷", "\ufa19", "葛\U000e0100", "\ue000", "か", "\u309a", "\u3099", "ﾊﾟ", "a", "\n", "", "̀"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_GAIJI_PIECES, max_size=6).map("".join), max_size=40))
def test_gaiji_counts_of_a_batch_equal_each_count(texts: list[str]) -> None:
    """The bulk loader counts a chunk's 外字 in one encode of the joined texts, halving a batch that
    holds one (issue 14 item 4): the same counts as :func:`count_gaiji` of each text."""
    assert gaiji_counts(texts) == [count_gaiji(t) for t in texts]
