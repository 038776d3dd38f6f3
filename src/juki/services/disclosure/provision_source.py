"""The provision lines of a person, read from the provision records (services/provision, issue 11).

The provision-status disclosure (S-55) lists what ``provisions_of`` of services/provision/records.py
returns for the person within the 7-year window, leaving out refusals (nothing was given: LEGAL.md
§4). Until that module is installed the disclosure is refused with T_PROVISION_RECORDS_UNAVAILABLE
rather than printing an empty list that would tell the person "nobody received your data".
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

import psycopg

from juki.domain.items import item_label
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.disclosure.issue import ProvisionLine

__all__ = ["provision_lines"]


def provision_lines(
    conn: psycopg.Connection[Any], file: FileKind, code: str, since: date
) -> list[ProvisionLine]:
    """Every provision (not refusal) of ``code``'s data since ``since``."""
    try:
        records = importlib.import_module("juki.services.provision.records")
    except ImportError:
        raise Refusal("T_PROVISION_RECORDS_UNAVAILABLE") from None
    lines: list[ProvisionLine] = []
    for rec in records.provisions_of(conn, file, code, since=since):
        if not _was_given(rec):
            continue
        lines.append(
            ProvisionLine(
                at=rec.time,
                recipient=str(getattr(rec, "requester_label", None) or rec.requester),
                task=str(getattr(rec, "task_label", None) or rec.task),
                legal_basis=str(getattr(rec, "legal_basis", None) or getattr(rec, "legal_path", "")),
                items=tuple(item_label(i) for i in rec.items),
                method=str(getattr(rec, "method_label", None) or rec.method),
            )
        )
    return lines


def _was_given(rec: Any) -> bool:
    """A provision record that gave something: its result is a success and it names items."""
    result = str(getattr(rec, "result_code", "") or "")
    refused = bool(getattr(rec, "refused", False)) or result.startswith(("T_", "E_", "refused", "denied"))
    return not refused and bool(rec.items)
