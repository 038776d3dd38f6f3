"""清音化かな search keys (DOMAIN §6)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.kana import (
    is_kana_text,
    sato_variant,
    seion_family_given,
    seion_key,
    split_kana_name,
)

EQUAL_PAIRS = [
    ("ヂ", "ジ"),
    ("ズ", "ヅ"),
    ("ワ", "ハ"),
    ("ヴァ", "バ"),
    ("ヴィ", "ビ"),
    ("ヴ", "ブ"),
    ("オ", "ヲ"),
    ("ヒ", "ピ"),
    ("ッ", "ツ"),
    ("ャ", "ヤ"),
    ("ュ", "ユ"),
    ("ョ", "ヨ"),
    ("サトー", "サト"),
    ("ヤマダ　タロウ", "ヤマダタロウ"),
    ("ｻﾄｰ", "サト―"),
    ("ガ", "カ"),
    ("ﾊﾟ", "ハ"),
    ("がっこう", "カツコウ"),
]

# Hiragana, katakana (incl. small, voiced, ヴ, old kana), half-width kana, spaces and long-vowel marks.
KANA = (
    "".join(chr(c) for c in range(0x3041, 0x3097))
    + "".join(chr(c) for c in range(0x30A1, 0x30FB))
    + "".join(chr(c) for c in range(0xFF66, 0xFFA0))
    + "ーｰ―－‐-  　゛゜ゝゞヽヾ・"
)
kana_text = st.text(alphabet=KANA, max_size=20)


@pytest.mark.parametrize(("a", "b"), EQUAL_PAIRS)
def test_required_pairs_give_equal_keys(a: str, b: str) -> None:
    """DOMAIN §6: every listed pair gives equal keys."""
    assert seion_key(a) == seion_key(b)


def test_order_matters_for_vu_and_dji() -> None:
    """DOMAIN §6: explicit replacement before dakuten stripping (ヴァ→バ→ハ, not ウア; ヂ→ジ→シ, not チ)."""
    assert seion_key("ヴァ") == "ハ"
    assert seion_key("ヴァイオリン") == seion_key("バイオリン") == "ハイオリン"
    assert seion_key("ヂ") == "シ"
    assert seion_key("ヅ") == "ス"
    assert seion_key("ゔぁ") == seion_key("ｳﾞｧ") == "ハ"


def test_key_examples() -> None:
    """DOMAIN §6: small → large, sound marks, long vowels, spaces of both widths."""
    assert seion_key("やまだ たろう") == "ヤマタタロウ"
    assert seion_key("ｷｮｳｺ") == "キヨウコ"
    assert seion_key("カ゛") == seion_key("ガ") == "カ"
    assert seion_key("") == ""
    assert seion_key("ジョン・スミス") == seion_key("ジョン スミス")


def test_split_kana_name() -> None:
    """DOMAIN §6: family and given name split at the first space (half or full width)."""
    assert split_kana_name("ヤマダ　タロウ") == ("ヤマダ", "タロウ")
    assert split_kana_name("ヤマダ タロウ") == ("ヤマダ", "タロウ")
    assert split_kana_name(" ヤマダ  タロウ ") == ("ヤマダ", "タロウ")
    assert split_kana_name("ヤマダ") == ("ヤマダ", "")
    assert split_kana_name("スミス ジョン ポール") == ("スミス", "ジョン ポール")


def test_seion_family_given() -> None:
    """DOMAIN §6: given-name-only search needs the keys of the two parts."""
    assert seion_family_given("やまだ　じろう") == ("ヤマタ", "シロウ")
    assert seion_family_given("ヤマダ") == ("ヤマタ", "")


def test_sato_variant() -> None:
    """DOMAIN §6 optional rule: ウ after an オ-row kana ≈ オ, applied to both keys at query time."""
    assert sato_variant(seion_key("サトウ")) == sato_variant(seion_key("サトオ")) == "サトオ"
    assert sato_variant(seion_key("ゴウダ")) == "コオタ"
    assert sato_variant(seion_key("ユウコ")) == "ユウコ"  # ユ is not オ-row
    assert sato_variant("トウウ") == "トオオ"
    assert seion_key("サトウ") == "サトウ"  # the stored key is not changed


def test_is_kana_text() -> None:
    """DOMAIN §6: a ふりがな item holds only kana, spaces and long-vowel marks."""
    assert is_kana_text("やまだ　たろう")
    assert is_kana_text("ヤマダ タロウ")
    assert is_kana_text("ｻﾄｰ ﾀﾛｳ")
    assert is_kana_text("ジョン・スミス")
    assert is_kana_text("ヴァージニア")
    assert not is_kana_text("山田太郎")
    assert not is_kana_text("YAMADA")
    assert not is_kana_text("ヤマダ1")
    assert not is_kana_text("")
    assert not is_kana_text("　")


@given(kana_text)
def test_seion_key_is_idempotent(s: str) -> None:
    """DOMAIN §6: the key of a key is itself."""
    key = seion_key(s)
    assert seion_key(key) == key


@given(st.text(max_size=20))
def test_seion_key_is_idempotent_on_any_text(s: str) -> None:
    """DOMAIN §6: idempotent even on text that is not kana (the key is only a derived value)."""
    key = seion_key(s)
    assert seion_key(key) == key


@given(st.text(alphabet="".join(chr(c) for c in range(0x3041, 0x3097)) + "ー 　", max_size=20))
def test_hiragana_and_katakana_agree(s: str) -> None:
    """DOMAIN §6: seion_key(hiragana) == seion_key(katakana)."""
    katakana = "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in s)
    assert seion_key(s) == seion_key(katakana)


@given(kana_text)
def test_key_has_no_marks_small_kana_spaces_or_long_vowels(s: str) -> None:
    """DOMAIN §6: the key holds none of the characters search must ignore."""
    key = seion_key(s)
    assert not set(key) & set("ァィゥェォッャュョヮヵヶヲワヂヅヴー―‐-  　゙゚゛゜")
    assert not any("\u3041" <= c <= "\u3096" for c in key)
    assert all(c == "ヽ" or len(unicodedata.normalize("NFD", c)) == 1 for c in key)


@given(kana_text, kana_text)
def test_space_between_parts_is_ignored(family: str, given_name: str) -> None:
    """DOMAIN §6: spaces between family and given name do not change the key."""
    assert seion_key(family + "　" + given_name) == seion_key(family + given_name)


@given(kana_text)
def test_sato_variant_is_idempotent(s: str) -> None:
    """DOMAIN §6: the optional rule applied twice changes nothing more."""
    v = sato_variant(seion_key(s))
    assert sato_variant(v) == v
