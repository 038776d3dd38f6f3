"""Fixtures of the J-LIS tests (relay and queries): the PKI, the simulators, the file roles' connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from juki.domain.records import FileKind
from juki.services.jlis.client import jlis_connection
from juki.store.db import Database


@pytest.fixture
def pref_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    with jlis_connection(db, FileKind.PREF) as conn:
        yield conn


@pytest.fixture
def fuhyo_conn(db: Database) -> Iterator[psycopg.Connection[Any]]:
    with jlis_connection(db, FileKind.FUHYO) as conn:
        yield conn
