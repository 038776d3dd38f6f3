"""The stream: draws events by weight, keeps the invalid share, yields the items."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from itertools import accumulate

from juki.domain.lgcodes import DEFAULT_PREFECTURE
from juki.domain.records import (
    FileKind,
)
from juki.synth.changes.base import (
    ACCEPTED,
    DEFAULT_RECEIVED_ON,
    INVALID_KINDS,
    SynthChange,
    _Out,
)
from juki.synth.changes.births_deaths import _BirthsAndDeaths
from juki.synth.changes.code_changes import _CodeChanges
from juki.synth.changes.corrections import _Corrections
from juki.synth.changes.invalid import _Invalid
from juki.synth.changes.moves import _Moves


class _Stream(_Moves, _BirthsAndDeaths, _Corrections, _CodeChanges, _Invalid):
    """Generates the items of one stream; holds the touched persons."""

    def items(self) -> Iterator[SynthChange]:
        events: tuple[tuple[Callable[[str], _Out], int], ...] = (
            (self.ev_relocation, 38),
            (self.ev_move_out, 9),
            (self.ev_move_in, 9),
            (self.ev_birth, 8),
            (self.ev_death, 6),
            (self.ev_correction, 8),
            (self.ev_former_surname, 3),
            (self.ev_my_number, 3),
            (self.ev_juminhyo_code, 1),
            (self.ev_overseas_out, 4),
            (self.ev_overseas_in, 2),
            (self.ev_fuhyo_transfer, 1),
        )
        cum = list(accumulate(w for _, w in events))
        total = cum[-1]
        d = self.d
        idle = n_invalid = 0
        while self.emitted < self.count:
            idle += 1
            if idle > 10_000:
                raise RuntimeError("no person fits any change: the population is too small")
            day = self.today()
            # Keep the invalid items at their share of the items emitted so far (a valid event may
            # yield two items, so a per-event coin would undershoot).
            if self.invalid_ppm and n_invalid * 1_000_000 < self.invalid_ppm * (self.emitted + 1):
                item = self.invalid(INVALID_KINDS[d.below(len(INVALID_KINDS))], day)
                if item is not None:
                    self.emitted += 1
                    n_invalid += 1
                    idle = 0
                    yield item
                continue
            event = events[bisect_right(cum, d.below(total))][0]
            for file, n in event(day):
                if file in self.files and self.emitted < self.count:
                    self.emitted += 1
                    idle = 0
                    if len(self.accepted) < 1000:
                        self.accepted.append(n)
                    yield SynthChange(n, None, ACCEPTED)


def generate_changes(
    persons: int,
    seed: int,
    count: int,
    *,
    stream: int = 1,
    invalid_share: float = 0.0,
    files: tuple[FileKind, ...] = (FileKind.PREF, FileKind.FUHYO),
    received_on: date | None = None,
    current: Sequence[tuple[Sequence[str], Sequence[str] | None]] | None = None,
    starts_on: date | None = None,
    prefecture: str = DEFAULT_PREFECTURE,
) -> Iterator[SynthChange]:
    """``count`` items of change stream ``stream`` against the population ``(persons, seed)``.

    Deterministic for equal arguments. Change dates run from ``starts_on`` (default
    :data:`POPULATION_AS_OF`) to ``received_on`` (default :data:`DEFAULT_RECEIVED_ON`) in stream
    order. Only notifications for ``files`` are yielded (the others still happen: the state stays realistic).

    With ``current`` the stream is drawn from a stored file instead of the synthetic population: a
    sample of its current rows (File 1 row and File 2 row or None, each in the CSV column order) whose
    persons the stream changes, as they stand now. ``persons`` must then be at least the number of
    records the file holds, so the persons the stream creates (indices from
    :func:`new_index_base`) get codes no stored person has; ``seed`` still varies the stream; and
    ``starts_on`` should be no earlier than the latest date in those rows (a change may not precede
    the birth or the change before it). ``prefecture`` is where the population lives (the one
    the server serves): senders, new residents and destinations are its municipalities.
    """
    if not 1 <= stream <= 9999:
        raise ValueError("stream must be 1..9999")
    if not 0.0 <= invalid_share <= 1.0:
        raise ValueError("invalid_share must be within 0..1")
    s = _Stream(
        persons,
        seed,
        count,
        stream,
        invalid_share,
        files,
        received_on or DEFAULT_RECEIVED_ON,
        current,
        starts_on,
        prefecture,
    )
    return s.items()
