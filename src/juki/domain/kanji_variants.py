"""異体字 (kanji variants) for the opt-in variant-aware name search (F1-6, F2-6; issue 10 item 6).

高橋 and 髙橋 are one surname to a clerk but two strings to a computer, and the kanji-name key never
normalises (a compatibility ideograph stays itself, :func:`juki.services.search.matcher.kanji_key`).
When the operator asks for it (「異体字も検索」), the *search key* is expanded into every spelling
its characters have in the variant table; stored text is never changed or folded.

The table is data with its public source and licence in its header
(``juki/data/kanji_variants.tsv``): groups of characters that are one character in name usage.
"""

from __future__ import annotations

import itertools
from functools import cache
from importlib import resources
from typing import Final

__all__ = ["MAX_SPELLINGS", "VariantTableError", "spellings", "variant_groups", "variants_of"]

#: At most this many spellings of one key are searched: a name of many variant characters would
#: otherwise multiply into hundreds of index probes (six characters of two forms are 64 already).
MAX_SPELLINGS: Final = 64


class VariantTableError(ValueError):
    """The data file is malformed (a packaging mistake, never operator input)."""


@cache
def variant_groups() -> tuple[frozenset[str], ...]:
    """Every group of the table, as read from ``juki/data/kanji_variants.tsv``."""
    text = resources.files("juki").joinpath("data/kanji_variants.tsv").read_text(encoding="utf-8")
    groups: list[frozenset[str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        try:
            chars = [chr(int(token.removeprefix("U+"), 16)) for token in body.split()]
        except ValueError:
            raise VariantTableError(f"kanji_variants.tsv line {number}: not U+XXXX code points") from None
        if len(chars) < 2:
            raise VariantTableError(f"kanji_variants.tsv line {number}: a group needs two characters")
        groups.append(frozenset(chars))
    return tuple(groups)


@cache
def _index() -> dict[str, frozenset[str]]:
    index: dict[str, frozenset[str]] = {}
    for group in variant_groups():
        for ch in group:
            if ch in index:
                raise VariantTableError(f"kanji_variants.tsv: U+{ord(ch):04X} is in two groups")
            index[ch] = group
    return index


def variants_of(ch: str) -> frozenset[str]:
    """The characters ``ch`` stands for in a variant search (itself included)."""
    return _index().get(ch, frozenset({ch}))


def spellings(key: str) -> tuple[str, ...]:
    """Every spelling of ``key`` with each character replaced by its variants, ``key`` itself first.

    At most :data:`MAX_SPELLINGS` are returned; a caller that gets exactly that many says the list
    may be incomplete."""
    choices = [sorted(variants_of(ch), key=lambda c: (c != ch, c)) for ch in key]
    out: list[str] = []
    for combo in itertools.product(*choices):
        out.append("".join(combo))
        if len(out) == MAX_SPELLINGS:
            break
    return tuple(out)
