"""The resident / counter simulator (SIM-6): written disclosure and correction requests as residents
lodge them at the prefecture's counter (L3402, L915, L1821).

It stands for the residents, who know their own 4情報: it reads present persons of File 1 with the
administrator's connection (a simulator's shortcut — the system under test never does this) and
writes requests of four kinds, each with the answer the counter must get:

* ``exact`` — name, birth date (as typed at a counter: 和暦 or 西暦), sex and address as recorded;
* ``with_code`` — name, birth date and 住民票コード, no address;
* ``no_match`` — a requester who is not in the file (a name changed by one character);
* ``ambiguous`` — two or more persons sharing name, birth date and address (only where the
  population has them), without a 住民票コード.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Final

from juki.domain.dates import JukiDate, format_wareki
from juki.domain.offices import Offices
from juki.domain.rights import IDENTITY_DOCUMENTS, Channel, RequestKind
from juki.files import PREF
from juki.services.disclosure.requests import RequestInput
from juki.store.db import Database

__all__ = ["SimulatedRequest", "simulated_requests"]

EXPECTED: Final = {
    "exact": "matched",
    "with_code": "matched",
    "no_match": "T_DISCLOSURE_NO_MATCH",
    "ambiguous": "T_DISCLOSURE_AMBIGUOUS",
}


@dataclass(frozen=True)
class SimulatedRequest:
    kind: str  # exact / with_code / no_match / ambiguous
    given: RequestInput
    code: str | None  # the person meant (None for no_match and ambiguous)

    @property
    def expected(self) -> str:
        return EXPECTED[self.kind]


def _typed(birth: str, rng: random.Random) -> str:
    """A birth date as a resident writes it: 和暦 on most forms, 西暦 on some."""
    try:
        d = JukiDate.parse_canonical(birth)
    except ValueError:
        return birth
    return format_wareki(d) if d.is_calendar_date and rng.random() < 0.6 else birth


def simulated_requests(db: Database, n: int, seed: int = 6, *, offices: Offices) -> list[SimulatedRequest]:
    """About ``n`` requests for File 1 in the mix 50 % exact, 20 % with a code, 20 % no match and up
    to 10 % ambiguous (as many as the population has such groups), lodged at ``offices``' counters."""
    counters = offices.lodging_offices
    rng = random.Random(seed)
    with db.connect() as conn:
        persons = conn.execute(
            f"SELECT juminhyo_code, name_kanji, birth_date, sex, address FROM {PREF.current}"
            " WHERE status = 'present' AND birth_date <> '不詳' ORDER BY md5(juminhyo_code || %s) LIMIT %s",
            [str(seed), n],
        ).fetchall()
        twins = conn.execute(
            f"SELECT name_kanji, birth_date, address FROM {PREF.current} WHERE status = 'present'"
            " GROUP BY name_kanji, birth_date, address HAVING count(*) > 1 LIMIT %s",
            [max(1, n // 10)],
        ).fetchall()
    out: list[SimulatedRequest] = []
    for i, (code, name, birth, sex, address) in enumerate(persons):
        base = RequestInput(
            kind=RequestKind.PROVISION_STATUS if i % 7 == 3 else RequestKind.DISCLOSURE,
            office=counters[i % len(counters)],
            channel=Channel.POST if i % 5 == 0 else Channel.COUNTER,
            identity_document=IDENTITY_DOCUMENTS[i % 3],
        )
        share = i % 10
        if share < 5:
            given = replace(base, name=name, birth_date=_typed(birth, rng), sex=sex, address=address)
            out.append(SimulatedRequest("exact", given, code))
        elif share < 7:
            out.append(
                SimulatedRequest(
                    "with_code", replace(base, name=name, birth_date=birth, juminhyo_code=code), code
                )
            )
        else:
            wrong = name[:-1] + ("子" if name[-1] != "子" else "美")
            out.append(
                SimulatedRequest(
                    "no_match", replace(base, name=wrong, birth_date=birth, address=address), None
                )
            )
    for name, birth, address in twins:
        out.append(
            SimulatedRequest("ambiguous", RequestInput(name=name, birth_date=birth, address=address), None)
        )
    return out
