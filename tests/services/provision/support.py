"""Helpers of the provision tests: operators of requesters signed in with 生体認証 (a software WebAuthn
authenticator, py_webauthn's real verification), and a small population applied through the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from juki.config import Settings
from juki.domain.provision import KeyType, Method
from juki.domain.records import FileKind
from juki.services.access import sessions, webauthn_auth
from juki.services.access.actor import Actor
from juki.services.provision.single import ProvisionRequest
from juki.store.db import Database
from tests.factories import fuhyo_record, juminhyo, my_number, notification, pref_record
from tests.services.access.support import Conn, SoftAuthenticator, System, operator_with_roles
from tests.services.jlis.accepted_changes import apply

#: The population: one 佐藤 一郎 (unique), two 山田 太郎 of the same birth date (ambiguous), a
#: 国外転出者 鈴木 花子 (File 1 and File 2 abroad) and a domestic 高橋 次郎 (File 1 and File 2).
SATO, YAMADA_A, YAMADA_B, SUZUKI, TAKAHASHI, DEAD_ABROAD = (juminhyo(n) for n in (1, 2, 3, 4, 5, 6))
SUZUKI_NUMBER = my_number(504)


@dataclass(frozen=True)
class Person:
    code: str
    name_kanji: str
    name_kana: str
    birth_date: str


PEOPLE = {
    "sato": Person(SATO, "佐藤　一郎", "サトウ　イチロウ", "1980-04-01"),
    "suzuki": Person(SUZUKI, "鈴木　花子", "スズキ　ハナコ", "1975-05-05"),
    "takahashi": Person(TAKAHASHI, "高橋　次郎", "タカハシ　ジロウ", "1970-07-07"),
}


def populate(db: Database) -> None:
    def pref(n: int, p: Person | None = None) -> dict[str, Any]:
        over = (
            {}
            if p is None
            else {"name_kanji": p.name_kanji, "name_kana": p.name_kana, "birth_date": p.birth_date}
        )
        return notification(
            "pref", "overseas_move_in", juminhyo(n), record=pref_record(n, **over), change_date="2026-09-01"
        )

    def fuhyo(n: int, p: Person) -> dict[str, Any]:
        record = fuhyo_record(name_kanji=p.name_kanji, name_kana=p.name_kana, birth_date=p.birth_date)
        return notification("fuhyo", "birth", juminhyo(n), record=record, change_date=p.birth_date)

    dead = Person(DEAD_ABROAD, "田中　三郎", "タナカ　サブロウ", "1960-06-06")
    abroad = {
        "address_municipality_code": "",
        "address": "アメリカ合衆国",
        "last_address": "神奈川県横浜市鶴見区豊岡町1番1号",
    }
    apply(
        db,
        pref(1, PEOPLE["sato"]),
        pref(2),
        pref(3),
        pref(4, PEOPLE["suzuki"]),
        pref(5, PEOPLE["takahashi"]),
        pref(6, dead),
        fuhyo(4, PEOPLE["suzuki"]),
        fuhyo(5, PEOPLE["takahashi"]),
        fuhyo(6, dead),
    )
    apply(
        db,
        notification(
            "fuhyo",
            "overseas_move_out",
            SUZUKI,
            record=fuhyo_record(
                name_kanji="鈴木　花子", name_kana="スズキ　ハナコ", birth_date="1975-05-05", **abroad
            ),
        ),
        notification(
            "fuhyo",
            "overseas_move_out",
            DEAD_ABROAD,
            record=fuhyo_record(
                name_kanji="田中　三郎", name_kana="タナカ　サブロウ", birth_date="1960-06-06", **abroad
            ),
        ),
        notification("pref", "death", DEAD_ABROAD, change_date="2026-10-02"),
    )


def requester_operator(conn: Conn, settings: Settings, system: System, login: str, *roles: str) -> Actor:
    """An operator holding `roles`, signed in with 生体認証 at the system's terminal: a live session."""
    _, token = operator_with_roles(conn, settings, system, login, *roles)
    key = SoftAuthenticator()
    options = webauthn_auth.registration_options(conn, settings, token, terminal=system.terminal)
    webauthn_auth.finish_registration(
        conn, settings, token, key.register(options.options_json), terminal=system.terminal
    )
    sign_in = sessions.webauthn_sign_in_options(conn, settings, system.terminal, login)
    signed = sessions.sign_in_webauthn(
        conn, settings, system.terminal, login, key.assert_(sign_in.options_json)
    )
    return signed.actor


def by_basic4(
    file: FileKind, requester: str, task: str, person: Person, method: Method = Method.SCREEN, **extra: Any
) -> ProvisionRequest:
    return ProvisionRequest(
        file=file,
        requester=requester,
        task=task,
        key_type=KeyType.BASIC4.value,
        method=method.value,
        name_kana=person.name_kana,
        birth_date=person.birth_date,
        **extra,
    )
