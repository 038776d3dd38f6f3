"""The answer of a provision as a file for electronic media (F1-2 / F2-2, method 電磁的記録媒体 /
フラッシュメモリ): a CSV of the task's items only.

p-bulk's media module writes these bytes to an approved medium and keeps the media register (REC-6,
S-23, S-30); the terminal hands the same bytes to a 代表端末 or bulk-enabled 業務端末 (S-29). The file
holds what the provision gave, nothing more: no 住民票コード (never provided), the labels of the data
specification as the header, and the result code so a refusal is a line too (S-27: no candidates).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from juki.services.provision.single import ProvisionResult

__all__ = ["answer_csv", "answer_rows"]

_LEAD = ("依頼元", "事務", "結果コード", "結果")


def answer_rows(result: ProvisionResult) -> tuple[list[str], list[str]]:
    """(header, row) of one answer: requester, task, result code and label, then the items given."""
    header = [*_LEAD, *(item.label for item in result.items)]
    row = [
        result.requester_name,
        result.task_name,
        result.result.value,
        result.result.label,
        *(item.value for item in result.items),
    ]
    return header, row


def answer_csv(results: Iterable[ProvisionResult]) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheet software reads the Japanese), CRLF line ends, one header
    per distinct item layout followed by its answers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    last: Sequence[str] | None = None
    for result in results:
        header, row = answer_rows(result)
        if header != last:
            writer.writerow(header)
            last = header
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
