"""Accepted changes for tests of what follows the ledger (the outbox relay, J-LIS queries, faults):
notifications applied through the same path as `juki apply` (NotificationApplier), so the outbox rows
are the ledger's own."""

from __future__ import annotations

from typing import Any

import orjson

from juki.domain.records import FileKind
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.registry.ledger import ItemResult
from juki.store.db import Database, DbRole
from tests.factories import fuhyo_record, juminhyo, notification, pref_record


def apply(db: Database, *items: dict[str, Any]) -> list[ItemResult]:
    lines = [orjson.dumps(item) for item in items]
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo})
        results = sorted(
            applier.apply(iter_lines([b"\n".join(lines)]), source="test"), key=lambda r: r.line_no
        )
    assert all(r.status == "accepted" for r in results), results
    return results


def birth(n: int) -> dict[str, Any]:
    record = pref_record(n, birth_date="2026-09-01")
    return notification("pref", "birth", juminhyo(n), record=record, change_date="2026-09-01")


def move(n: int, house: int) -> dict[str, Any]:
    address = f"神奈川県横浜市鶴見区鶴見中央二丁目{house}番4号"
    record = pref_record(n, birth_date="2026-09-01", address=address)
    return notification("pref", "relocation", juminhyo(n), record=record)


def fuhyo_birth(n: int) -> dict[str, Any]:
    record = fuhyo_record(birth_date="2026-09-01")
    return notification("fuhyo", "birth", juminhyo(n), record=record, change_date="2026-09-01")


def fuhyo_move(n: int, house: int) -> dict[str, Any]:
    record = fuhyo_record(birth_date="2026-09-01", address=f"神奈川県横浜市鶴見区鶴見中央三丁目{house}番1号")
    return notification("fuhyo", "relocation", juminhyo(n), record=record)
