"""外字: which characters fall outside the project's declared standard repertoire (DOMAIN §7).

The repertoire is declared here, once, and every 外字 item is derived from it:

* **JIS X 0213:2004** — membership tested with Python's ``euc_jis_2004`` codec, memoised per code point.
  This includes JIS X 0201 half-width katakana and the CJK compatibility ideographs JIS X 0213 maps to
  (U+FA19 神). JIS X 0213 also contains a few *sequences* (か゚ = か + U+309A, ˩˥ …): a combining sound
  mark counts as standard when its base + mark is such a sequence, or when base + mark composes (NFC) to
  one standard character (a decomposed が is not a 外字).
* **ASCII** (U+0000–U+007F), whatever the codec does with it.
* **Moji_Joho IVS**: a standard base character followed by an ideographic variation selector
  (U+E0100–U+E01EF) is one standard character. Whether the exact sequence is registered in the IVD's
  Moji_Joho collection cannot be verified offline (the IVD is not shipped), so any IVS on a standard base
  is accepted. Standardized variation selectors (U+FE00–U+FE0F) are treated the same way.
* **Private-use code points** (U+E000–U+F8FF, planes 15 and 16) are always 外字: their meaning exists
  only in some vendor's 外字 table, which is exactly what the 外字 registry is for.

A 外字 is reported as a *unit*: the character with its combining mark and variation selector, if any.

Interpretation of the record items (the J-LIS meanings are not public; REQUIREMENTS A-02):

* **外字数** (per item, File 1 D1-03/08/26): :func:`count_gaiji` of the item's text.
* **外字フラグ** (per record): true when any item of the record contains a 外字 (:func:`has_gaiji`).
* **外字変更連番** (per record): starts at 0 and is incremented whenever a glyph registered for a 外字 used
  by the record changes in the 外字 registry (code point → MJ文字図形名 and/or glyph image), so peers
  know to fetch the new image even though the record's text did not change.
* **外字パターン** (File 2): :func:`gaiji_pattern` of the record's texts — the distinct 外字 units in order
  of first appearance, space-separated, each as "U+XXXX" (a unit with a selector as "U+XXXX+U+E01xx").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final

__all__ = [
    "REPERTOIRE_NAME",
    "count_gaiji",
    "gaiji_chars",
    "gaiji_counts",
    "gaiji_pattern",
    "has_gaiji",
    "is_private_use",
    "is_standard_char",
]

REPERTOIRE_NAME: Final = "JIS X 0213:2004 + ASCII + Moji_Joho IVS（標準文字の異体字選択子付き）"

_CODEC: Final = "euc_jis_2004"
_COMBINING_SOUND_MARKS: Final = frozenset("\u3099\u309a")


def is_private_use(cp: int) -> bool:
    """Private-use code point (BMP area or supplementary planes 15–16): always 外字."""
    return 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000


def _is_variation_selector(cp: int) -> bool:
    return 0xE0100 <= cp <= 0xE01EF or 0xFE00 <= cp <= 0xFE0F


_standard_cache: dict[int, bool] = {}


def is_standard_char(c: str) -> bool:
    """Whether one code point is in the repertoire on its own (memoised per code point)."""
    cp = ord(c)
    known = _standard_cache.get(cp)
    if known is not None:
        return known
    if cp < 0x80:
        result = True
    elif is_private_use(cp):
        result = False
    else:
        try:
            c.encode(_CODEC)
            result = True
        except UnicodeEncodeError:
            result = False
    _standard_cache[cp] = result
    return result


@lru_cache(maxsize=4096)
def _is_standard_sequence(seq: str) -> bool:
    """A base + combining sound mark: a JIS X 0213 sequence, or composing to one standard character."""
    try:
        seq.encode(_CODEC)
        return True
    except UnicodeEncodeError:
        pass
    composed = unicodedata.normalize("NFC", seq)
    return len(composed) == 1 and is_standard_char(composed)


def _units(s: str) -> Iterator[tuple[str, bool]]:
    """Split ``s`` into (unit, is_gaiji): base character + optional sound mark + optional selector."""
    i, n = 0, len(s)
    while i < n:
        j = i + 1
        base = s[i]
        ok = is_standard_char(base)
        if base in _COMBINING_SOUND_MARKS or _is_variation_selector(ord(base)):
            ok = False  # a mark or selector with nothing before it
        elif j < n and s[j] in _COMBINING_SOUND_MARKS:
            j += 1
            ok = ok and _is_standard_sequence(s[i:j])
        if j < n and _is_variation_selector(ord(s[j])):
            j += 1
        yield s[i:j], not ok
        i = j


def _encodes(s: str) -> bool:
    try:
        s.encode(_CODEC)
        return True
    except UnicodeEncodeError:
        return False


def gaiji_chars(s: str) -> list[str]:
    """The 外字 units of ``s`` in order (each with its following mark / variation selector, if any)."""
    # Fast path: a text the codec encodes as a whole has no 外字 (selectors and private-use code points
    # never encode, and every sequence the codec accepts is standard by definition).
    if s.isascii() or _encodes(s):
        return []
    return [unit for unit, gaiji in _units(s) if gaiji]


def count_gaiji(s: str) -> int:
    """外字数 of an item: the number of 外字 units in its text."""
    return len(gaiji_chars(s))


def gaiji_counts(texts: Sequence[str]) -> list[int]:
    """:func:`count_gaiji` of each text, for a batch (the bulk loader's path).

    A batch the codec encodes as a whole, joined by line breaks, holds no 外字 (the fast path of
    :func:`gaiji_chars`, once per batch instead of once per text); otherwise each half is tried
    again, down to single texts, which are counted exactly. ``tests/domain/test_gaiji.py`` proves
    the batch and the single counts agree.
    """
    counts = [0] * len(texts)
    pending = [(0, len(texts))]
    while pending:
        lo, hi = pending.pop()
        if hi - lo == 1:
            counts[lo] = count_gaiji(texts[lo])
            continue
        joined = "\n".join(texts[lo:hi])
        if joined.isascii() or _encodes(joined):
            continue
        mid = (lo + hi) // 2
        pending += [(lo, mid), (mid, hi)]
    return counts


def has_gaiji(s: str) -> bool:
    """Whether ``s`` contains at least one 外字 unit."""
    return bool(gaiji_chars(s))


def gaiji_pattern(*texts: str) -> str:
    """外字パターン: the distinct 外字 units of ``texts``, first appearance first, as "U+XXXX" words."""
    seen: dict[str, None] = {}
    for text in texts:
        for unit in gaiji_chars(text):
            seen.setdefault(unit, None)
    return " ".join("+".join(f"U+{ord(c):04X}" for c in unit) for unit in seen)
