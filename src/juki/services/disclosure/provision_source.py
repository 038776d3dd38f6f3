"""The provision lines of a person, read from the provision records (services/provision/records.py).

The provision-status disclosure (S-55) lists every record of the person within the window that gave
something (``ProvisionRecord.provided``): a refusal gave nothing and is not provision (LEGAL.md §4).
Requester, task and legal basis are printed as the record copied them from the catalog at the time,
so the answer stays true after the catalog changed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from juki.domain.items import item_label
from juki.domain.provision import Method
from juki.domain.records import FileKind
from juki.services.disclosure.issue import ProvisionLine
from juki.services.provision.records import provisions_of

__all__ = ["provision_lines"]


def _method(value: str) -> str:
    try:
        return Method(value).label
    except ValueError:
        return value


def provision_lines(
    conn: psycopg.Connection[Any], file: FileKind, code: str, since: date
) -> list[ProvisionLine]:
    """Every provision (not refusal) of ``code``'s data since ``since``, oldest first."""
    return [
        ProvisionLine(
            at=rec.at,
            recipient=rec.requester_name or rec.requester_code,
            task=rec.task_name or rec.task_code,
            legal_basis=rec.legal_basis,
            items=tuple(item_label(i) for i in rec.items),
            method=_method(rec.method),
        )
        for rec in provisions_of(conn, file, code, since=since)
        if rec.provided
    ]
