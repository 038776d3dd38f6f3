"""Values the server derives from notified items: 外字 counts, search keys, sort keys, retention.

One place for both the update ledger and the bulk loader, so a record loaded in bulk and the same
record arriving as a notification get identical derived columns. Pure functions plus `KeyCache`,
a bounded memo the bulk loader uses because names and addresses repeat a lot across 10M persons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from juki.domain.address import address_key, address_keys
from juki.domain.dates import JukiDate
from juki.domain.gaiji import count_gaiji, gaiji_counts
from juki.domain.kana import seion_family_given, seion_key

#: R-02/R-03: history, 消除者 and dead persons' records are kept 150 years.
RETENTION_YEARS = 150
#: The last year :func:`retain_until` can count from (its result must still be a ``date``).
LATEST_RETAINABLE_YEAR = date.max.year - RETENTION_YEARS


@dataclass(frozen=True)
class NameKeys:
    """Search keys of a kana name (DOMAIN §6): whole, family part, given part."""

    seion: str
    family: str
    given: str


def name_keys(name_kana: str) -> NameKeys:
    family, given = seion_family_given(name_kana)
    return NameKeys(seion_key(name_kana), family, given)


def retain_until(ended: JukiDate | None, fallback: date) -> date:
    """The first day a record ended on ``ended`` may be purged (150 years; R-02, R-03).

    An incomplete end date counts from its latest possible day's year end — never earlier than the
    law allows — and an unknown one from ``fallback`` (the day the end was notified).
    """
    base = ended.to_date() if ended is not None else None
    if base is None and ended is not None and ended.year is not None:
        base = date(ended.year, 12, 31)
    if base is None:
        base = fallback
    try:
        return base.replace(year=base.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return date(base.year + RETENTION_YEARS, 3, 1)


class KeyCache:
    """Bounded memo of pure key functions for bulk work; cleared when full so memory stays flat."""

    def __init__(self, limit: int = 500_000) -> None:
        self._limit = limit
        self._names: dict[str, NameKeys] = {}
        self._addresses: dict[str, str] = {}
        self._gaiji: dict[str, int] = {}
        self._dates: dict[str, JukiDate] = {}

    def _get(self, table: dict[str, object], key: str, fn: Callable[[str], object]) -> object:
        """The miss path (callers look ``key`` up themselves first)."""
        if len(table) >= self._limit:
            table.clear()
        value = table[key] = fn(key)
        return value

    def name(self, kana: str) -> NameKeys:
        found = self._names.get(kana)  # the hit path inline: this runs for every loaded row
        if found is None:
            found = self._get(self._names, kana, name_keys)  # type: ignore[arg-type, assignment]
        return found  # type: ignore[return-value]

    def address(self, text: str) -> str:
        found = self._addresses.get(text)
        if found is None:
            found = self._get(self._addresses, text, address_key)  # type: ignore[arg-type, assignment]
        return found  # type: ignore[return-value]

    def gaiji(self, text: str) -> int:
        if not text:
            return 0
        # The hit path inline, and no KeyError on a miss: most addresses are unique, so misses are
        # the common case here and raising for each cost more than the count itself.
        found = self._gaiji.get(text)
        if found is None:
            found = self._get(self._gaiji, text, count_gaiji)  # type: ignore[arg-type, assignment]
        return found  # type: ignore[return-value]

    def prime(self, addresses: Sequence[str], texts: Sequence[str]) -> None:
        """Memoise, in one batch each, the keys of ``addresses`` and the 外字 counts of ``texts`` not
        memoised yet (:func:`address_keys`, :func:`gaiji_counts`: the per-text calls were a large
        share of a bulk-loaded row's cost, and almost every address is new)."""
        table = self._addresses
        missing = [t for t in dict.fromkeys(addresses) if t not in table]
        if len(table) + len(missing) >= self._limit:
            table.clear()
        table.update(zip(missing, address_keys(missing), strict=True))
        counts = self._gaiji
        missing = [t for t in dict.fromkeys(texts) if t and t not in counts]
        if len(counts) + len(missing) >= self._limit:
            counts.clear()
        counts.update(zip(missing, gaiji_counts(missing), strict=True))

    def date(self, canonical: str) -> JukiDate:
        found = self._dates.get(canonical)
        if found is None:
            found = self._get(self._dates, canonical, JukiDate.parse_canonical)  # type: ignore[arg-type, assignment]
        return found  # type: ignore[return-value]
