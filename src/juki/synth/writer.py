"""Stream a synthetic population to the four bulk-load CSV files (memory stays flat)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from juki.domain.lgcodes import DEFAULT_PREFECTURE
from juki.domain.records import (
    FUHYO_CSV_COLUMNS,
    FUHYO_HISTORY_CSV_COLUMNS,
    PREF_CSV_COLUMNS,
    PREF_HISTORY_CSV_COLUMNS,
)
from juki.files import all_files
from juki.synth.population import make_person

__all__ = ["FILE_NAMES", "PROGRESS_EVERY", "PopulationSummary", "write_population"]

#: File names written by :func:`write_population` (and read by the bulk loader).
FILE_NAMES: Final = tuple(
    f"{spec.value}_{part}.csv" for spec in all_files() for part in ("current", "history")
)
PROGRESS_EVERY: Final = 10_000
_BUFFER: Final = 1 << 20


@dataclass(frozen=True)
class PopulationSummary:
    """How many data rows each file received (headers not counted)."""

    persons: int
    pref_current: int
    pref_history: int
    fuhyo_current: int
    fuhyo_history: int

    def as_dict(self) -> dict[str, int]:
        """Rows per file name."""
        return dict(
            zip(
                FILE_NAMES,
                (self.pref_current, self.pref_history, self.fuhyo_current, self.fuhyo_history),
                strict=True,
            )
        )


def write_population(
    out_dir: Path,
    persons: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    prefecture: str = DEFAULT_PREFECTURE,
) -> PopulationSummary:
    """Write persons 0..persons-1 of ``seed`` living in ``prefecture`` as UTF-8 CSV files with a
    header row into ``out_dir``.

    ``progress(n_done)`` is called every :data:`PROGRESS_EVERY` persons and once at the end.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    headers = (PREF_CSV_COLUMNS, PREF_HISTORY_CSV_COLUMNS, FUHYO_CSV_COLUMNS, FUHYO_HISTORY_CSV_COLUMNS)
    files = [
        (out_dir / name).open("w", encoding="utf-8", newline="", buffering=_BUFFER) for name in FILE_NAMES
    ]
    try:
        writers = [csv.writer(f, lineterminator="\n") for f in files]
        for w, header in zip(writers, headers, strict=True):
            w.writerow(header)
        pc_row = writers[0].writerow
        ph_rows = writers[1].writerows
        fc_row = writers[2].writerow
        fh_rows = writers[3].writerows
        n_ph = n_fc = n_fh = 0
        for index in range(persons):
            p = make_person(seed, index, prefecture)
            pc_row(p.pref_current)
            if p.pref_history:
                ph_rows(p.pref_history)
                n_ph += len(p.pref_history)
            if p.fuhyo_current is not None:
                fc_row(p.fuhyo_current)
                n_fc += 1
                if p.fuhyo_history:
                    fh_rows(p.fuhyo_history)
                    n_fh += len(p.fuhyo_history)
            if progress is not None and (index + 1) % PROGRESS_EVERY == 0:
                progress(index + 1)
    finally:
        for f in files:
            f.close()
    if progress is not None and persons % PROGRESS_EVERY:
        progress(persons)
    return PopulationSummary(persons, persons, n_ph, n_fc, n_fh)
