"""Persons and counter operators for the residents'-rights tests (registered through the real ledger)."""

from __future__ import annotations

from typing import Any

from juki.services.access.actor import Actor
from juki.store.db import Database
from tests.factories import apply_accepted, fuhyo_record, juminhyo, notification, pref_record
from tests.services.audit.support import actor as signed_in

FA19_NAME = "\ufa19田\u3000葛\U000e0102子"  # U+FA19 and 葛 + Moji_Joho IVS: printed and copied back exactly
ADDRESS = "神奈川県横浜市鶴見区豊岡町1番1号"
TWIN_NAME = "鈴木\u3000一郎"


def counter(db: Database, login: str = "madoguchi", *roles: str) -> Actor:
    return signed_in(db, login, "T-COUNTER", roles=frozenset(roles or ("counter",)))


def people(db: Database) -> dict[str, str]:
    """Person 1 (U+FA19 + IVS name), persons 2 and 3 sharing name, birth date and address (ambiguous
    without a code), person 4 in File 2 only. Returns their 住民票コード by role."""
    items: list[dict[str, Any]] = [
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(1),
            record=pref_record(
                1, name_kanji=FA19_NAME, name_kana="カミタ　カツコ", sex="2", birth_date="1985-03"
            ),
        ),
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(2),
            record=pref_record(2, name_kanji=TWIN_NAME, name_kana="スズキ　イチロウ"),
        ),
        notification(
            "pref",
            "domestic_move_in",
            juminhyo(3),
            record=pref_record(3, name_kanji=TWIN_NAME, name_kana="スズキ　イチロウ"),
        ),
        notification(
            "fuhyo",
            "birth",
            juminhyo(4),
            record=fuhyo_record(name_kanji=FA19_NAME, name_kana="カミタ　カツコ", birth_date="2026-09-01"),
            change_date="2026-09-01",
        ),
    ]
    apply_accepted(db, *items)
    return {"fa19": juminhyo(1), "twin_a": juminhyo(2), "twin_b": juminhyo(3), "fuhyo": juminhyo(4)}
