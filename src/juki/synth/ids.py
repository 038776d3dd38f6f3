"""Unique 住民票コード and 個人番号 for any person index, without a lookup table.

The first 10 (resp. 11) digits are an affine bijection of the index modulo 10**10 (10**11): the
multiplier is coprime with 10, so distinct indices below the modulus give distinct codes — for the
population, for persons born or moving in during a change stream (indices ≥ the population size) and
for new numbers of change requests alike. The check digits are those of ``juki.domain.codes``
(DOMAIN §1, and the ``mod11-hypothesis`` of §2), computed here from two precomputed tables of
5-digit weighted sums because the writer needs two of them per person; the tests compare both with
``juki.domain.codes``.
"""

from __future__ import annotations

from functools import cache
from hashlib import blake2b
from typing import Final

__all__ = ["CodeMaker", "code_maker", "juminhyo_code_for", "my_number_for"]

_J_MOD: Final = 10**10
_M_MOD: Final = 10**11


def _table(weights: tuple[int, int, int, int, int]) -> tuple[int, ...]:
    a, b, c, d, e = weights
    return tuple(
        a * i + b * j + c * k + d * m + e * n
        for i in range(10)
        for j in range(10)
        for k in range(10)
        for m in range(10)
        for n in range(10)
    )


@cache
def _tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    # 住民票コード weights (5,4,3,2,7 | 6,5,4,3,2); 個人番号 = 6·d1 followed by the same two halves.
    return _table((5, 4, 3, 2, 7)), _table((6, 5, 4, 3, 2))


@cache
def _affine(seed: int, which: str, modulus: int) -> tuple[int, int]:
    h = int.from_bytes(blake2b(f"{which}/{seed}".encode(), digest_size=16).digest(), "big")
    # A large multiplier coprime with 10, so consecutive indices give unrelated-looking codes.
    mult = h % modulus
    if mult < modulus // 10:
        mult += modulus // 10
    mult |= 1
    while mult % 5 == 0:
        mult += 2
    offset = (h >> 64) % modulus
    return mult % modulus, offset


class CodeMaker:
    """Both bijections of one seed, bound once (the population writer calls them per person)."""

    __slots__ = ("_j_mult", "_j_off", "_m_mult", "_m_off", "_t_hi", "_t_lo")

    def __init__(self, seed: int) -> None:
        self._j_mult, self._j_off = _affine(seed, "juminhyo", _J_MOD)
        self._m_mult, self._m_off = _affine(seed, "my_number", _M_MOD)
        self._t_hi, self._t_lo = _tables()

    def juminhyo_code(self, index: int) -> str:
        """The 11-digit 住民票コード of person ``index`` (0 ≤ index < 10**10)."""
        n = (index * self._j_mult + self._j_off) % _J_MOD
        hi, lo = divmod(n, 100_000)
        r = (self._t_hi[hi] + self._t_lo[lo]) % 11
        return f"{n:010d}{0 if r <= 1 else 11 - r}"

    def my_number(self, index: int) -> str:
        """The 12-digit 個人番号 of number-index ``index`` (0 ≤ index < 10**11)."""
        n = (index * self._m_mult + self._m_off) % _M_MOD
        d1, rest = divmod(n, 10**10)
        hi, lo = divmod(rest, 100_000)
        r = (6 * d1 + self._t_hi[hi] + self._t_lo[lo]) % 11
        return f"{n:011d}{0 if r <= 1 else 11 - r}"


@cache
def code_maker(seed: int) -> CodeMaker:
    """The (cached) CodeMaker of ``seed``."""
    return CodeMaker(seed)


def juminhyo_code_for(seed: int, index: int) -> str:
    """The 11-digit 住民票コード of person ``index`` (0 ≤ index < 10**10) of ``seed``."""
    return code_maker(seed).juminhyo_code(index)


def my_number_for(seed: int, index: int) -> str:
    """The 12-digit 個人番号 of number-index ``index`` (0 ≤ index < 10**11) of ``seed``."""
    return code_maker(seed).my_number(index)
