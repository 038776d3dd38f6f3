"""Fixtures of the provision tests: the terminal role's connection (administration, the catalog), the
file roles' connections (provision, records), an administrator connection, a bootstrapped system."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from juki.config import Settings
from juki.services.access import operators, sessions, terminals
from juki.store.db import Database, DbRole
from tests.services.access.support import ADMIN_PASSWORD, Conn, System


@pytest.fixture
def conn(db: Database) -> Iterator[Conn]:
    """An autocommit connection as juki_term, like the terminal application's."""
    with db.connect(DbRole.TERM, autocommit=True) as c:
        yield c


@pytest.fixture
def pref_conn(db: Database) -> Iterator[Conn]:
    with db.connect(DbRole.PREF, autocommit=True) as c:
        yield c


@pytest.fixture
def fuhyo_conn(db: Database) -> Iterator[Conn]:
    with db.connect(DbRole.FUHYO, autocommit=True) as c:
        yield c


@pytest.fixture
def admin_conn(db: Database) -> Iterator[Conn]:
    with db.connect(autocommit=True) as c:
        yield c


@pytest.fixture
def settings(db: Database) -> Settings:
    return db.settings


@pytest.fixture
def system(conn: Conn, settings: Settings) -> System:
    boot = operators.bootstrap_first_admin(conn, settings, "admin1", display_name="管理 一郎")
    operators.enrol_password(conn, boot.enrolment_token, ADMIN_PASSWORD)
    terminal, secret = terminals.bind(conn, boot.binding_token)
    signed = sessions.sign_in_password(conn, settings, terminal, "admin1", ADMIN_PASSWORD)
    return System(signed.actor, terminal, secret, signed.secret)
