"""The review's filtered listing as a CSV file an auditor opens in Excel (issue 10 item 8, S-17).

UTF-8 with a byte-order mark (Excel reads UTF-8 without one as Shift_JIS), CRLF line ends, the
columns and words of the review page (function, outcome and file labels; the detail as Japanese
sentences with every person it showed). A cell an operator typed (a search condition) that starts
like a formula is prefixed with an apostrophe, so opening the file never runs it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Final

from juki.interfaces.terminal.labels import FILE_LABELS, FUNCTION_LABELS, OUTCOME_LABELS, timestamp_label
from juki.services.audit.operation_log import LogEntry
from juki.services.audit.wording import describe_text

__all__ = ["COLUMNS", "log_csv"]

BOM: Final = "\ufeff"
COLUMNS: Final = ("番号", "日時", "操作者", "端末", "機能", "ファイル", "結果", "対象", "詳細")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _who(entry: LogEntry) -> str:
    if entry.operator_login:
        return entry.operator_login
    if entry.claimed_login:
        return f"（未認証）{entry.claimed_login}"
    if entry.actor_kind and entry.actor_kind.startswith("system:"):
        return f"（システム）{entry.actor_kind.removeprefix('system:')}"
    return ""


def log_csv(entries: Iterable[LogEntry]) -> tuple[bytes, int]:
    """The entries as CSV bytes (BOM, header, one line per entry) and how many entries it holds."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    for e in entries:
        writer.writerow(
            [
                str(e.seq),
                timestamp_label(e.at),
                _cell(_who(e)),
                _cell(e.terminal_name or ""),
                FUNCTION_LABELS.get(e.function, e.function),
                FILE_LABELS.get(e.file, e.file),
                OUTCOME_LABELS.get(e.outcome, e.outcome),
                _cell(e.target or ""),
                _cell(describe_text(e.detail, full=True)),
            ]
        )
        n += 1
    return out.getvalue().encode("utf-8"), n
