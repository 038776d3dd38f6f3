"""Random-access randomness: a cheap deterministic stream per (seed, index).

``random.Random(seed)`` costs ~6 µs to seed, which alone would be a sixth of the per-person budget
of the population writer. A person instead draws from the 512-bit BLAKE2b digest of its key, read as
one big integer in mixed radix (``below(n)`` takes the remainder and divides), and refilled from
the next digest of the same key when it runs low. Integers only: the result does not depend on the
platform or the Python version.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from hashlib import blake2b
from itertools import accumulate
from typing import Final, Generic, TypeVar

__all__ = ["Draw", "Weighted"]

_LOW: Final = 1 << 64
_T = TypeVar("_T")


class Draw:
    """A deterministic stream of integers for one key (e.g. one person of one seed)."""

    __slots__ = ("_key", "_n", "_s")

    def __init__(self, key: str) -> None:
        self._key = key.encode()
        self._n = 0
        self._s = int.from_bytes(blake2b(self._key, digest_size=64).digest(), "big")

    def _refill(self) -> None:
        self._n += 1
        extra = blake2b(self._key + b"#" + str(self._n).encode(), digest_size=64).digest()
        self._s = (self._s << 512) | int.from_bytes(extra, "big")

    def below(self, n: int) -> int:
        """A uniform integer in 0..n-1 (n ≤ 2**32; bias < 2**-32)."""
        s = self._s
        if s < _LOW:
            self._refill()
            s = self._s
        self._s, v = divmod(s, n)
        return v

    def chance(self, per_million: int) -> bool:
        """True with probability per_million / 1,000,000."""
        return self.below(1_000_000) < per_million

    def between(self, lo: int, hi: int) -> int:
        """A uniform integer in lo..hi inclusive (lo ≤ hi)."""
        return lo + self.below(hi - lo + 1)

    def pick(self, items: Sequence[_T]) -> _T:
        """A uniformly chosen element."""
        return items[self.below(len(items))]


class Weighted(Generic[_T]):
    """Items with integer weights, picked by bisecting cumulative weights."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[_T, int]]) -> None:
        if not pairs or any(w < 0 for _, w in pairs):
            raise ValueError("weights must be non-negative and not all missing")
        self.items: tuple[_T, ...] = tuple(item for item, _ in pairs)
        self.cum: tuple[int, ...] = tuple(accumulate(w for _, w in pairs))
        self.total: int = self.cum[-1]
        if self.total <= 0:
            raise ValueError("weights sum to zero")

    def pick(self, draw: Draw) -> _T:
        """One item, with probability proportional to its weight."""
        return self.items[bisect_right(self.cum, draw.below(self.total))]

    def __len__(self) -> int:
        return len(self.items)
