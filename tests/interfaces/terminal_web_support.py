"""A small world for the terminal web application's tests (the TestClient tests here and the
Playwright tests in tests/browser): a bootstrapped system with operators and rights granted through
the real services, terminals waiting to be bound, and a few residents in File 1 and File 2.

Everything goes through the services the application uses (operators, rights, terminals, the
intake ledger): no row is written behind their back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from juki.config import Settings
from juki.domain.records import FileKind
from juki.services.access import operators, rights_ledger, terminals
from juki.services.access.actor import Actor, TerminalKind
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.store.db import Database, DbRole
from tests.factories import fuhyo_record, juminhyo, notification, pref_record

ADMIN_PASSWORD = "correct horse battery staple"
AUDITOR_PASSWORD = "audit-password-0123"
RESIDENT_NAME = "神奈川　太郎"
RESIDENT_KANA = "カナガワ　タロウ"
RESIDENT_BIRTH = "1985-03-04"
MOVED_ADDRESS = "神奈川県横浜市鶴見区鶴見中央二丁目3番4号"
_CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


@dataclass
class World:
    """What the tests need to know about the prepared system."""

    settings: Settings
    admin: Actor
    binding_tokens: dict[str, str] = field(default_factory=dict)  # terminal name → one-time token
    enrolment_tokens: dict[str, str] = field(default_factory=dict)  # login → one-time token
    resident_code: str = ""  # the person with a history (two versions)
    twins: list[str] = field(default_factory=list)  # persons sharing name and birth year
    fuhyo_code: str = ""


def grant(conn: Any, settings: Settings, admin: Actor, login: str, *roles: str) -> str:
    """Register `login`, have them apply for `roles` and the administrator approve; their enrolment token."""
    operator, token = operators.create_operator(conn, settings, login, f"{login} 表示名", by=admin)
    applicant = operators.console_actor(conn, login)
    for role in roles:
        application = rights_ledger.apply(conn, operator.id, role, "業務のため", by=applicant)
        rights_ledger.approve(conn, application, admin)
    return token


def apply_notifications(db: Database, *items: dict[str, Any]) -> None:
    lines = b"\n".join(orjson.dumps(item) for item in items)
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo}, batch_size=100)
        results = list(applier.apply(iter_lines([lines]), source="test"))
    assert all(r.status == "accepted" for r in results), results


def build_world(db: Database, settings: Settings) -> World:
    """admin1 (password), kensaku1 (pref_operator: 生体認証 only), kansa1 (auditor, password),
    shinki1 (no role yet); terminals 代表端末 and 業務端末1 waiting to be bound; residents."""
    with db.connect(DbRole.TERM, autocommit=True) as conn:
        boot = operators.bootstrap_first_admin(conn, settings, "admin1", display_name="管理 一郎")
        operators.enrol_password(conn, boot.enrolment_token, ADMIN_PASSWORD)
        admin = operators.console_actor(conn, "admin1")
        world = World(settings=settings, admin=admin)
        world.binding_tokens["代表端末"] = boot.binding_token
        _, business = terminals.register_terminal(
            conn, settings, "業務端末1", TerminalKind.BUSINESS, bulk_enabled=False, by=None
        )
        world.binding_tokens["業務端末1"] = business
        world.enrolment_tokens["kensaku1"] = grant(conn, settings, admin, "kensaku1", "pref_operator")
        kansa = grant(conn, settings, admin, "kansa1", "auditor")
        operators.enrol_password(conn, kansa, AUDITOR_PASSWORD)
        world.enrolment_tokens["shinki1"] = grant(conn, settings, admin, "shinki1")
    world.resident_code = juminhyo(7001)
    world.twins = [juminhyo(7002), juminhyo(7003), juminhyo(7004)]
    world.fuhyo_code = juminhyo(7005)
    resident = pref_record(7001, name_kanji=RESIDENT_NAME, name_kana=RESIDENT_KANA, birth_date=RESIDENT_BIRTH)
    apply_notifications(
        db,
        notification(
            "pref", "overseas_move_in", world.resident_code, record=resident, change_date="2026-09-01"
        ),
        notification(
            "pref",
            "relocation",
            world.resident_code,
            record={**resident, "address": MOVED_ADDRESS},
            change_date="2026-10-01",
        ),
        *(
            notification(
                "pref",
                "overseas_move_in",
                code,
                record=pref_record(
                    7002 + i,
                    name_kanji="横浜　次郎",
                    name_kana="ヨコハマ　ジロウ",
                    birth_date="1990-01-0" + str(i + 1),
                ),
                change_date="2026-09-01",
            )
            for i, code in enumerate(world.twins)
        ),
        notification(
            "fuhyo",
            "birth",
            world.fuhyo_code,
            record=fuhyo_record(birth_date="2026-09-01"),
            change_date="2026-09-01",
        ),
    )
    return world


def csrf_of(html: str) -> str:
    """The synchronizer token of the first form of a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_rows(db: Database, sql_where: str = "true", *params: Any) -> list[dict[str, Any]]:
    """Operation-log rows as dicts (read as the administrator)."""
    keys = ("seq", "operator_login", "terminal_name", "function", "file", "outcome", "target", "detail")
    with db.connect() as conn:
        rows = conn.execute(
            f"SELECT {', '.join(keys)} FROM audit.op_log WHERE {sql_where} ORDER BY seq", params
        ).fetchall()
    return [dict(zip(keys, row, strict=True)) for row in rows]
