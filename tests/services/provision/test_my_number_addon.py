"""F2-2's 個人番号 add-on (S-35, S-36, S-37, R-05, R-06, R-07): only for tasks that allow it, only for
国外転出者, through the bridge into the temporary area against a request a signed-in operator made;
kept for re-delivery while it lives, then purged."""

from __future__ import annotations

import pytest

from juki.config import Settings
from juki.domain.provision import ResultCode
from juki.domain.records import FileKind
from juki.services.access.actor import Actor
from juki.services.provision import records
from juki.services.provision.single import provide, redeliver
from juki.store.db import Database
from tests.services.access.support import Conn, System, log_rows
from tests.services.provision.support import (
    DEAD_ABROAD,
    PEOPLE,
    SUZUKI,
    SUZUKI_NUMBER,
    Person,
    by_basic4,
    populate,
    requester_operator,
)

TASK = ("zeimu", "kenzei-kokugai")


@pytest.fixture
def zeimu(db: Database, conn: Conn, settings: Settings, system: System) -> Actor:
    populate(db)
    return requester_operator(conn, settings, system, "zeimu1", "provision_operator@zeimu")


def _stash(admin_conn: Conn) -> list[tuple[object, ...]]:
    return admin_conn.execute(
        "SELECT juminhyo_code, my_number, request_ref FROM fuhyo_tmp.my_number_stash"
    ).fetchall()


def test_F2_2_S35_S36_S37_the_number_is_added_for_a_national_abroad_only_through_the_temporary_area(
    zeimu: Actor, fuhyo_conn: Conn, admin_conn: Conn
) -> None:
    """F2-2: a 国外転出者 of an allowed task gets D2-PS items of the task plus the 個人番号, which came
    through the bridge into fuhyo_tmp (S-36) against the logged request; nothing else of File 1."""
    result = provide(
        fuhyo_conn, zeimu, by_basic4(FileKind.FUHYO, *TASK, PEOPLE["suzuki"], with_my_number=True)
    )
    assert result.result is ResultCode.MATCH, result.reason
    values = {i.column: i.value for i in result.items}
    assert values["my_number"] == SUZUKI_NUMBER
    assert set(values) == {"name_kanji", "birth_date", "sex", "address", "my_number"}
    ((code, number, ref),) = _stash(admin_conn)
    assert (code, number) == (SUZUKI, SUZUKI_NUMBER) and ref.startswith("oplog:")
    (record,) = records.provisions_of(fuhyo_conn, FileKind.FUHYO, SUZUKI)
    assert record.my_number_added and record.my_number_ref == ref and "my_number" in record.items
    request = log_rows(admin_conn, seq=int(ref.removeprefix("oplog:")))[0]
    assert (request["function"], request["file"], request["detail"]["event"], request["operator_login"]) == (
        "provision",
        "fuhyo",
        "my_number_request",
        "zeimu1",
    )
    released = admin_conn.execute(
        "SELECT outcome, op_log_seq FROM pref.my_number_release_log ORDER BY id"
    ).fetchall()
    assert released == [("released", request["seq"])]


def test_F2_2_S37_no_number_for_a_resident_a_dead_person_or_a_task_without_the_addon(
    db: Database,
    zeimu: Actor,
    conn: Conn,
    settings: Settings,
    system: System,
    fuhyo_conn: Conn,
    admin_conn: Conn,
) -> None:
    """F2-2 / R-07: a dead 国外転出者 and a task without the add-on get P_NO_MY_NUMBER (nothing given,
    recorded); a domestic person is not there for a File 2 task at all (該当なし, LEGAL.md §1); the
    temporary area stays empty."""
    takahashi = provide(
        fuhyo_conn, zeimu, by_basic4(FileKind.FUHYO, *TASK, PEOPLE["takahashi"], with_my_number=True)
    )
    assert (takahashi.result, takahashi.reason, takahashi.items) == (
        ResultCode.NOT_FOUND,
        "not_subject",
        (),
    )
    dead = Person(DEAD_ABROAD, "田中　三郎", "タナカ　サブロウ", "1960-06-06")
    tanaka = provide(fuhyo_conn, zeimu, by_basic4(FileKind.FUHYO, *TASK, dead, with_my_number=True))
    assert (tanaka.result, tanaka.reason) == (ResultCode.NO_MY_NUMBER, "bridge")
    koan = requester_operator(conn, settings, system, "koan1", "provision_operator@koan")
    no_addon = provide(
        fuhyo_conn,
        koan,
        by_basic4(FileKind.FUHYO, "koan", "unten-menkyo", PEOPLE["suzuki"], with_my_number=True),
    )
    assert (no_addon.result, no_addon.reason) == (ResultCode.NO_MY_NUMBER, "task")
    without = provide(fuhyo_conn, zeimu, by_basic4(FileKind.FUHYO, *TASK, PEOPLE["suzuki"]))
    assert without.result is ResultCode.MATCH and "my_number" not in [i.column for i in without.items]
    assert _stash(admin_conn) == []
    reasons = admin_conn.execute(
        "SELECT outcome, reason FROM pref.my_number_release_log ORDER BY id"
    ).fetchall()
    assert reasons == [("not_found", "dead")]


def test_R05_R06_redelivery_while_the_number_lives_then_purged_on_schedule(
    zeimu: Actor, fuhyo_conn: Conn, admin_conn: Conn, conn: Conn, settings: Settings, system: System
) -> None:
    """R-05: a failed receipt is re-delivered from the temporary area (same number, recorded again);
    an operator of another requester cannot; after the expiry (< 1 year) the number is gone (R-06) and
    re-delivery is refused."""
    first = provide(
        fuhyo_conn, zeimu, by_basic4(FileKind.FUHYO, *TASK, PEOPLE["suzuki"], with_my_number=True)
    )
    again = redeliver(fuhyo_conn, zeimu, FileKind.FUHYO, first.record_id)
    assert again.result is ResultCode.MATCH
    assert {i.column: i.value for i in again.items}["my_number"] == SUZUKI_NUMBER
    koan = requester_operator(conn, settings, system, "koan1", "provision_operator@koan")
    other = redeliver(fuhyo_conn, koan, FileKind.FUHYO, first.record_id)
    assert (other.result, other.items) == (ResultCode.NOT_PERMITTED, ())
    # Move the clock: the stash row expired (a superuser ages it; triggers off for this session).
    admin_conn.execute("SET session_replication_role = replica")
    admin_conn.execute(
        "UPDATE fuhyo_tmp.my_number_stash SET created_at = now() - interval '31 days', "
        "expires_at = now() - interval '1 day'"
    )
    admin_conn.execute("SET session_replication_role = DEFAULT")
    late = redeliver(fuhyo_conn, zeimu, FileKind.FUHYO, first.record_id)
    assert (late.result, late.reason) == (ResultCode.NO_MY_NUMBER, "expired")
    assert fuhyo_conn.execute("SELECT fuhyo_tmp.purge_expired()").fetchone() == (1,)
    assert _stash(admin_conn) == []
    rows = records.provisions_of(fuhyo_conn, FileKind.FUHYO, SUZUKI)
    assert [(r.result_code, r.reason) for r in rows] == [
        ("P_MATCH", ""),
        ("P_MATCH", ""),
        ("P_NOT_PERMITTED", "requester"),
        ("P_NO_MY_NUMBER", "expired"),
    ]
