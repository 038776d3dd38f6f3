"""清音化かな: the search key for kana names (DOMAIN §6, MIC 住民記録システム標準仕様書 2.1.2).

Search must not care about 濁音/半濁音, small kana, long-vowel marks or the space between family and
given name. The key is built in the order DOMAIN §6 prescribes, and the order matters: stripping dakuten
first would turn ヴァ into ウア (not バ) and ヂ into チ (not ジ).

1. NFKC (half-width kana → full width; ﾊﾟ → パ)
2. hiragana → katakana
3. remove spaces
4. explicit replacements ヴァ→バ ヴィ→ビ ヴェ→ベ ヴォ→ボ ヴ→ブ ヂ→ジ ヅ→ズ ヲ→オ
5. small → large kana
6. strip dakuten / handakuten
7. ワ→ハ
8. drop long-vowel marks

Project additions, all consistent with that order: spacing dakuten (゛゜) are turned into combining
marks so "カ゛" composes like "ガ"; the rare old kana ヰ/ヱ and ヷ/ヸ/ヹ/ヺ are replaced at
step 4 (→ イ/エ and バ/ビ/ベ/ボ) by analogy with ヲ and ヴ; the 中黒 (・) that separates parts of foreign
names is removed with the spaces at step 3.

The key runs ~20M times in a bulk load, so every per-character step is a ``str.translate`` table built
once at import: steps 2–3 are one table (also run before NFKC, see ``_PRE``), and steps 4
(single-character part) to 8 are composed into another.

The stored item 清音化かな氏名 is :func:`seion_key` of the whole kana name. The optional サトウ≈サトオ rule
is *not* in the stored key: :func:`sato_variant` applies it to both sides at query time.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = [
    "LONG_VOWEL_MARKS",
    "is_kana_text",
    "sato_variant",
    "seion_family_given",
    "seion_key",
    "split_kana_name",
]

#: Characters written for the long vowel (after NFKC: ｰ → ー, － → -, ‑ → ‐).
LONG_VOWEL_MARKS: Final = "ー―‐‑‒–—−-ｰ－"
_SPACES: Final = " \u3000\t\u00a0"
_NAME_SEPARATORS: Final = "・･"  # 中黒, full and half width

# Steps 2 + 3: hiragana → katakana (ぁ..ゖ, ゝゞ) and removal of spaces / name separators, plus the
# spacing sound marks (゛゜, ﾞﾟ) turned into combining ones so NFKC composes "カ゛" like "ガ". All are
# per-character and commute with NFKC for kana text, so one table does them, run before NFKC as well as
# after it: most names are already NFKC-normal once their full-width spaces are gone, and the cheap
# ``is_normalized`` check then saves the costly normalisation (the rare NFKC outputs that are hiragana,
# like ゟ → より, are caught by the second run).
_PRE: Final = str.maketrans(
    {
        **{chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)},
        "ゝ": "ヽ",
        "ゞ": "ヾ",
        "\u309b": "\u3099",
        "\u309c": "\u309a",
        "\uff9e": "\u3099",
        "\uff9f": "\u309a",
        **dict.fromkeys(_SPACES + _NAME_SEPARATORS),
    }
)

# Step 4, the two-character part (must run before small → large turns ァ into ア).
_VU_PAIRS: Final = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"))

# Step 4, single characters.
_STEP4: Final = {
    "ヴ": "ブ",
    "ヂ": "ジ",
    "ヅ": "ズ",
    "ヲ": "オ",
    "ヰ": "イ",
    "ヱ": "エ",
    "ヷ": "バ",
    "ヸ": "ビ",
    "ヹ": "ベ",
    "ヺ": "ボ",
}
# Step 5.
_SMALL_TO_LARGE: Final = dict(
    zip(
        "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ",
        "アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロ",
        strict=True,
    )
)


def _strip_marks(c: str) -> str:
    """Step 6 for one character: drop the (han)dakuten of a precomposed kana, or the mark itself."""
    if c in "\u3099\u309a":
        return ""
    base = unicodedata.normalize("NFD", c)
    return base[0] if len(base) == 2 and base[1] in "\u3099\u309a" else c


def _build_key_table() -> dict[int, str | None]:
    """Compose steps 4 (single characters) to 8 into one translate table over every kana."""
    chars = [chr(c) for c in range(0x30A0, 0x3100)] + [chr(c) for c in range(0x31F0, 0x3200)]
    chars += ["\u3099", "\u309a", *LONG_VOWEL_MARKS]
    table: dict[int, str | None] = {}
    for c in chars:
        out = _STEP4.get(c, c)
        out = "".join(_SMALL_TO_LARGE.get(x, x) for x in out)
        out = "".join(_strip_marks(x) for x in out)
        out = out.replace("ワ", "ハ")
        out = "".join(x for x in out if x not in LONG_VOWEL_MARKS)
        if out != c:
            table[ord(c)] = out or None
    return table


_KEY_TABLE: Final = _build_key_table()


def seion_key(s: str) -> str:
    """The 清音化かな search key of ``s`` (stable entry point; idempotent; hiragana and katakana agree)."""
    s = s.translate(_PRE)
    # A loop, not an if: removing a space that NFKC produced (´ → " ́") can leave a composable pair.
    while not unicodedata.is_normalized("NFKC", s):
        s = unicodedata.normalize("NFKC", s).translate(_PRE)
    if "ヴ" in s:
        for pair, repl in _VU_PAIRS:
            s = s.replace(pair, repl)
    return s.translate(_KEY_TABLE)


def split_kana_name(s: str) -> tuple[str, str]:
    """(family, given) split at the first space, half or full width; given is "" when there is none."""
    s = s.strip(_SPACES)
    for i, c in enumerate(s):
        if c in _SPACES:
            return s[:i], s[i + 1 :].strip(_SPACES)
    return s, ""


def seion_family_given(s: str) -> tuple[str, str]:
    """The seion keys of the family and given parts (for given-name-only search)."""
    family, given = split_kana_name(s)
    return seion_key(family), seion_key(given)


#: オ-row kana as they appear in a key (voiced and small forms are already folded, ヲ is オ).
_O_ROW: Final = frozenset("オコソトノホモヨロ")


def sato_variant(key: str) -> str:
    """Optional rule: ウ after an オ-row kana → オ (サトウ ≈ サトオ), applied to an existing key.

    Query time only, on both the stored key and the query key. Scanning left to right over the *output*
    makes it idempotent (トウウ → トオオ, which maps to itself).
    """
    if "ウ" not in key:
        return key
    out: list[str] = []
    prev = ""
    for c in key:
        if c == "ウ" and (prev in _O_ROW or prev == "オ"):
            c = "オ"
        out.append(c)
        prev = c
    return "".join(out)


def _is_kana_char(c: str) -> bool:
    o = ord(c)
    return (
        0x3041 <= o <= 0x3096  # hiragana
        or 0x3099 <= o <= 0x309E  # sound marks, ゝゞ
        or 0x30A1 <= o <= 0x30FA  # katakana
        or 0x30FC <= o <= 0x30FE  # ー ヽ ヾ
        or 0x31F0 <= o <= 0x31FF  # small katakana extension
        or 0xFF66 <= o <= 0xFF9F  # half-width katakana (incl. ｰ ﾞ ﾟ)
    )


_KANA_ALLOWED_OTHER: Final = frozenset(_SPACES + _NAME_SEPARATORS + LONG_VOWEL_MARKS)


def is_kana_text(s: str) -> bool:
    """Whether ``s`` may be a ふりがな item: kana (hiragana, katakana, half-width), spaces, long-vowel marks.

    The 中黒 (・) of foreign names is allowed. A text with no kana at all (empty, spaces only) is False:
    an absent reading is an empty item, checked by the caller.
    """
    has_kana = False
    for c in s:
        if _is_kana_char(c):
            has_kana = True
        elif c not in _KANA_ALLOWED_OTHER:
            return False
    return has_kana
