"""Shared pieces of the bulk provision tests: a small population, request files, result parsing."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

from juki.config import Settings
from juki.services.access import operators
from juki.services.access.actor import Actor, TerminalKind
from juki.services.provision.bulk.results import ResultStore, result_directory
from juki.store.db import Database
from tests.factories import apply_accepted, born, juminhyo, my_number
from tests.services.access.support import Conn, System, operator_with_roles

HEADER = "request_ref,key_type,juminhyo_code,my_number,name_kana,birth_date,sex,address"
BORN_ON = "2026-09-01"


def population(db: Database) -> None:
    """Persons 1–4 (present, File 1): 1 山田太郎, 2 佐藤花子, 3 and 4 twins of one name and birth (複数該当)."""
    apply_accepted(
        db,
        born(1),
        born(2, name_kanji="佐藤　花子", name_kana="サトウ　ハナコ", sex="2"),
        born(3, name_kanji="鈴木　一郎", name_kana="スズキ　イチロウ"),
        born(4, name_kanji="鈴木　一郎", name_kana="スズキ　イチロウ"),
    )


def request(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode("utf-8")


#: One row of each kind, with what each must answer (for the koan task: basic4 + resident_code), when
#: no J-LIS is configured.
MIXED_ROWS: tuple[tuple[str, str], ...] = (
    (f"r1,resident_code,{juminhyo(1)},,,,,", "P_MATCH"),
    (f"r2,resident_code,{juminhyo(99)},,,,,", "P_UNAVAILABLE"),  # nobody here, and no J-LIS to ask
    (f"r3,basic4,,,さとう はなこ,{BORN_ON},2,", "P_MATCH"),
    (f"r4,basic4,,,スズキ イチロウ,{BORN_ON},,", "P_AMBIGUOUS"),
    (f"r5,my_number,,{my_number(501)},,,,", "P_KEY_NOT_ALLOWED"),
    ("r6,resident_code,12345,,,,,", "P_INVALID"),
    ("r7,basic4,,,ヤマダ タロウ,,,", "P_INVALID"),
    (f"r8,basic4,,,ヤマダ タロウ,{BORN_ON},,横浜市鶴見区", "P_MATCH"),
)


def read_result(data: bytes, encoding: str = "utf-8") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(encoding))))


def store_of(settings: Settings) -> ResultStore:
    return ResultStore(result_directory(settings))


def requester_actor(conn: Conn, settings: Settings, system: System, login: str, *roles: str) -> Actor:
    """An operator holding ``roles`` (bound ones as "role@code"), acting from the console (代表端末 kind)."""
    operator_with_roles(conn, settings, system, login, *roles)
    return operators.console_actor(conn, login)


def at_business_terminal(actor: Actor, *, bulk: bool) -> Actor:
    return replace(actor, terminal_kind=TerminalKind.BUSINESS, bulk_enabled=bulk)


def count(conn: Conn, query: str, *params: Any) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])
