"""The bulk loader's COPY lines, written straight from a checked CSV row (issue 14 item 4).

The update ledger builds a row as a list of values (``rows.pref_values`` / ``rows.fuhyo_values``) and
the loader used to do the same, then render the list as COPY text. Per loaded row that was the largest
cost left in the interpreter: the item dict, the ``Meta`` object, a 39-value list, ``str`` of each
value and the join. Here each file's line is one f-string over the CSV fields and the keys from the
loader's :class:`~juki.domain.derive.KeyCache` — the same key functions the ledger calls, memoised.

The two layouts repeat the table's column order, which ``rows.py`` defines. They are siblings of
``pref_values`` / ``fuhyo_values`` and proven equal to them: the property test
``tests/services/registry/test_load_property.py`` renders the ledger's row (built without a cache, as
``ledger.py`` builds it) and requires the same line, byte for byte, on random valid rows, current and
superseded. A field that would need COPY escaping (a backslash or a tab in the CSV line) never comes
here: the loader renders that rare row from the ledger's list instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import NamedTuple

from juki.domain.dates import JukiDate
from juki.domain.derive import LATEST_RETAINABLE_YEAR, KeyCache, retain_until
from juki.domain.gaiji import gaiji_pattern
from juki.domain.records import FileKind, RecordStatus
from juki.files import FUHYO, PREF
from juki.services.registry.rows import NOTIFICATION_KIND

NULL = "\\N"  # COPY text's NULL


class Notified(NamedTuple):
    """A 届出日 as the row stores it: the day, 更新日時 (its midnight UTC) and R-02's date for a
    version superseded by a row notified that day. Few distinct days in a file: built once each."""

    on: date
    text: str  # str(on): the CSV may write the day in any form date.fromisoformat reads
    updated_at: str
    retain_superseded: str

    @classmethod
    def of(cls, on: date) -> Notified:
        # A day too late to count 150 years from is refused by the loader's checks for the files that
        # keep R-02's retention; File 2 keeps no retention date, so it needs none.
        retain = str(retain_until(None, on)) if on.year <= LATEST_RETAINABLE_YEAR else ""
        return cls(on, str(on), str(datetime.combine(on, dtime(), UTC)), retain)


class Checked(NamedTuple):
    """What the loader's checks found out about one CSV row (all a line needs besides the fields)."""

    birth: JukiDate
    change_date: str  # canonical
    notified: Notified
    end_kind: str | None
    ended: JukiDate | None  # File 1: the CSV's 消除日, when given
    old_code: str


#: A file's line builder: (CSV fields, checks, 更新順番号, version, the superseding row's checks and
#: 更新順番号 when the row is a history row (else None, 0), key cache) → one COPY text line.
LineBuilder = Callable[[list[str], Checked, int, int, "Checked | None", int, KeyCache], str]

_P = {name: i for i, name in enumerate(PREF.csv_columns)}
_P_CODE, _P_KANJI, _P_KANA, _P_SEX, _P_ADDRESS = (
    _P[c] for c in ("juminhyo_code", "name_kanji", "name_kana", "sex", "address")
)
_P_MUNICIPALITY, _P_AZA, _P_MY_NUMBER, _P_FORMER, _P_FORMER_KANA = (
    _P[c]
    for c in ("municipality_code", "aza_code", "my_number", "former_surname_kanji", "former_surname_kana")
)
_P_REASON, _P_STATUS = _P["change_reason"], _P["status"]
_ENDED = RecordStatus.ENDED.value
LOADER = "bulk-load"


def pref_line(
    v: list[str],
    c: Checked,
    seq: int,
    version: int,
    newer: Checked | None,
    newer_seq: int,
    cache: KeyCache,
) -> str:
    """File 1's row (``rows.PREF_COLUMNS``), plus ``rows.HISTORY_EXTRA`` for a superseded version."""
    kanji, kana, address, former = v[_P_KANJI], v[_P_KANA], v[_P_ADDRESS], v[_P_FORMER]
    names = cache.name(kana)
    name_gaiji, address_gaiji, former_gaiji = cache.gaiji(kanji), cache.gaiji(address), cache.gaiji(former)
    status = v[_P_STATUS]
    ended = status == _ENDED
    notified = c.notified
    ended_on = retain = NULL
    if ended:
        ended_on = c.change_date if c.ended is None else c.ended.canonical()
        if newer is None:  # an ended record is kept 150 years from its end
            end = cache.date(c.change_date) if c.ended is None else c.ended
            retain = str(retain_until(end, notified.on))
    if newer is None:
        retention, tail = ended, "\n"
    else:  # a superseded version is kept 150 years from the superseding one's 届出日
        retention, retain = True, newer.notified.retain_superseded
        tail = f"\t{newer.notified.updated_at}\t{newer_seq}\t{NULL}\n"
    birth = c.birth
    return (
        f"{v[_P_CODE]}\t{kanji}\t{name_gaiji}\t{kana}\t{birth.canonical()}\t{v[_P_SEX]}\t{address}\t"
        f"{address_gaiji}\t{v[_P_MY_NUMBER] or NULL}\t{v[_P_REASON]}\t{c.change_date}\t{retention}\t"
        f"{names.seion}\t{v[_P_MUNICIPALITY]}\t{v[_P_AZA]}\t{LOADER}\t{LOADER}\t{notified.updated_at}\t"
        f"{notified.text}\t{bool(name_gaiji or address_gaiji or former_gaiji)}\t{ended}\t{seq}\t0\t0\t"
        f"{former}\t{former_gaiji}\t{v[_P_FORMER_KANA]}\t0\t{status}\t{c.end_kind or NULL}\t{ended_on}\t"
        f"{retain}\t{c.old_code or NULL}\t{NULL}\t{version}\t{names.family}\t{names.given}\t"
        f"{cache.address(address)}\t{birth.sort_key}{tail}"
    )


_F = {name: i for i, name in enumerate(FUHYO.csv_columns)}
_F_CODE, _F_KANJI, _F_KANA, _F_SEX, _F_ADDRESS_MUNICIPALITY = (
    _F[c] for c in ("juminhyo_code", "name_kanji", "name_kana", "sex", "address_municipality_code")
)
_F_ADDRESS, _F_LAST, _F_MUNICIPALITY, _F_REASON, _F_STATUS = (
    _F[c] for c in ("address", "last_address", "fuhyo_municipality_code", "change_reason", "status")
)


def fuhyo_line(
    v: list[str],
    c: Checked,
    seq: int,
    version: int,
    newer: Checked | None,
    newer_seq: int,
    cache: KeyCache,
) -> str:
    """File 2's row (``rows.FUHYO_COLUMNS``), plus ``rows.HISTORY_EXTRA`` for a superseded version."""
    kanji, kana, address, last = v[_F_KANJI], v[_F_KANA], v[_F_ADDRESS], v[_F_LAST]
    names = cache.name(kana)
    name_gaiji, address_gaiji, last_gaiji = cache.gaiji(kanji), cache.gaiji(address), cache.gaiji(last)
    any_gaiji = bool(name_gaiji or address_gaiji or last_gaiji)
    pattern = gaiji_pattern(kanji, address, last) if any_gaiji else ""
    reason = v[_F_REASON]
    notified = c.notified
    tail = "\n" if newer is None else f"\t{newer.notified.updated_at}\t{newer_seq}\t{NULL}\n"
    birth = c.birth
    return (
        f"{v[_F_CODE]}\t{kanji}\t{name_gaiji}\t{kana}\t{birth.canonical()}\t{v[_F_SEX]}\t"
        f"{v[_F_ADDRESS_MUNICIPALITY]}\t{address}\t{address_gaiji}\t{last}\t{last_gaiji}\t{c.change_date}\t"
        f"{c.old_code}\t{v[_F_MUNICIPALITY]}\t{v[_F_STATUS]}\t{any_gaiji}\t{pattern}\t"
        f"{NOTIFICATION_KIND[reason]}\t{reason}\t{notified.text}\t{c.end_kind or NULL}\t{NULL}\t{seq}\t"
        f"{version}\t{notified.updated_at}\t{names.seion}\t{names.family}\t{names.given}\t"
        f"{cache.address(address)}\t{birth.sort_key}{tail}"
    )


LINE_BUILDERS: dict[FileKind, LineBuilder] = {FileKind.PREF: pref_line, FileKind.FUHYO: fuhyo_line}
#: The CSV columns whose 外字 each line counts (the loader counts a chunk's at once beforehand).
TEXT_COLUMNS: dict[FileKind, tuple[str, ...]] = {
    FileKind.PREF: ("name_kanji", "address", "former_surname_kanji"),
    FileKind.FUHYO: ("name_kanji", "address", "last_address"),
}
