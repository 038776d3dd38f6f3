"""The update ledger against a real PostgreSQL (REQUIREMENTS F1-1, F2-1, S-38, S-39)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest

from juki.domain.records import FileKind
from juki.services.registry.intake import NotificationApplier, iter_lines
from juki.services.registry.ledger import ItemResult
from juki.store.db import Database, DbRole
from tests.factories import (
    KAMAKURA,
    KANAGAWA_KU,
    TSURUMI,
    fuhyo_record,
    juminhyo,
    my_number,
    notification,
    pref_record,
)

ADDRESS2 = "神奈川県横浜市鶴見区鶴見中央二丁目3番4号"


def apply(db: Database, *items: Any, batch: int = 500) -> list[ItemResult]:
    """Apply notifications (dicts, or raw bytes lines) through the same path as `juki apply`."""
    lines = [item if isinstance(item, bytes) else orjson.dumps(item) for item in items]
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo}, batch_size=batch)
        return sorted(applier.apply(iter_lines([b"\n".join(lines)]), source="test"), key=lambda r: r.line_no)


def one(db: Database, sql: str, *args: Any) -> Any:
    with db.connect() as conn:
        row = conn.execute(sql, args).fetchone()
        assert row is not None
        return row[0] if len(row) == 1 else row


def born(db: Database, n: int, **over: str) -> str:
    code = juminhyo(n)
    record = pref_record(n, birth_date="2026-09-01", **over)
    [result] = apply(db, notification("pref", "birth", code, record=record, change_date="2026-09-01"))
    assert result.status == "accepted", result
    return code


def test_F1_1_accepted_change_keeps_history_sequence_inbox_and_outbox(db: Database) -> None:
    """F1-1: match by 住民票コード, update, keep the previous version, notify the national server."""
    code = born(db, 1)
    [moved] = apply(
        db,
        notification(
            "pref", "relocation", code, record=pref_record(1, birth_date="2026-09-01", address=ADDRESS2)
        ),
    )
    assert moved.status == "accepted" and moved.update_seq == 2
    assert one(db, "SELECT address FROM pref.identity_current WHERE juminhyo_code = %s", code) == ADDRESS2
    history = one(
        db,
        "SELECT version, address, superseded_by_seq FROM pref.identity_history WHERE juminhyo_code = %s",
        code,
    )
    assert history == (1, "神奈川県横浜市鶴見区豊岡町1番1号", 2)
    assert one(db, "SELECT version FROM pref.identity_current WHERE juminhyo_code = %s", code) == 2
    assert one(db, "SELECT count(*) FROM pref.notification_inbox") == 2
    notice = one(db, "SELECT payload FROM pref.outbox WHERE update_seq = 2")
    # D1-PS (L818): the 8 items J-LIS receives.
    for item in (
        "juminhyo_code",
        "name_kanji",
        "birth_date",
        "sex",
        "address",
        "my_number",
        "change_reason",
        "change_date",
    ):
        assert item in notice
    assert notice["address"] == ADDRESS2 and notice["change_reason"] == "relocation"
    assert one(db, "SELECT idempotency_key FROM pref.outbox WHERE update_seq = 2") == "pref:2"


def test_S39_F1_1_d_both_seed_examples_are_rejected_and_recorded(db: Database) -> None:
    """S-39: 転入 for a present person and 転居 that changes more than the address are errors,
    each recorded in the inbox with its code, and nothing changes."""
    code = born(db, 2)
    results = apply(
        db,
        notification("pref", "domestic_move_in", code, record=pref_record(2, birth_date="2026-09-01")),
        notification(
            "pref",
            "relocation",
            code,
            record=pref_record(2, birth_date="2026-09-01", address=ADDRESS2, name_kanji="山田　次郎"),
        ),
    )
    assert [r.error_code for r in results] == ["E_ENTRY_PERSON_PRESENT", "E_RELOCATION_NON_ADDRESS"]
    assert all(r.message for r in results)
    assert one(db, "SELECT count(*) FROM pref.notification_inbox WHERE status = 'rejected'") == 2
    assert one(db, "SELECT count(*) FROM pref.identity_history") == 0
    assert one(db, "SELECT count(*) FROM pref.outbox") == 1  # only the birth


def test_idempotency_duplicate_and_conflict(db: Database) -> None:
    """Idempotent by (municipality, notification id): a resend is a duplicate with the original
    更新順番号, never applied twice; the same id with other content is refused."""
    code = juminhyo(3)
    first = notification(
        "pref", "birth", code, record=pref_record(3, birth_date="2026-09-01"), change_date="2026-09-01"
    )
    conflict = dict(first, record=pref_record(3, birth_date="2026-09-01", name_kanji="山田　三郎"))
    results = apply(db, first, first)  # a duplicate inside one batch
    assert [r.status for r in results] == ["accepted", "duplicate"]
    assert results[1].update_seq == results[0].update_seq
    again = apply(db, first, conflict)  # and in a later batch
    assert [r.status for r in again] == ["duplicate", "rejected"]
    assert again[0].update_seq == results[0].update_seq
    assert again[1].error_code == "E_DUPLICATE_CONFLICT"
    assert one(db, "SELECT count(*) FROM pref.outbox") == 1
    assert one(db, "SELECT count(*) FROM pref.notification_inbox") == 4  # every receipt is recorded


def test_malformed_file_gives_per_item_errors_and_valid_items_still_apply(db: Database) -> None:
    """Done-means of the foundation issue: bad JSON line, wrong encoding, unknown reason, bad code
    each yield a per-item error; the valid items around them are applied; nothing is dropped."""
    good1 = notification(
        "pref",
        "birth",
        juminhyo(10),
        record=pref_record(10, birth_date="2026-09-01"),
        change_date="2026-09-01",
    )
    good2 = notification(
        "pref",
        "birth",
        juminhyo(11),
        record=pref_record(11, birth_date="2026-09-01"),
        change_date="2026-09-01",
    )
    unknown_reason = notification("pref", "teleportation", juminhyo(12), record=pref_record(12))
    bad_code = notification("pref", "birth", "1234567890X", record=pref_record(13))
    bad_lg = notification("pref", "birth", juminhyo(14), municipality="141004", record=pref_record(14))
    sjis = orjson.dumps(good1).decode().replace("141011-", "141011-S").encode("cp932")
    results = apply(db, good1, b'{"file": "pref", "reason": ', sjis, unknown_reason, bad_code, bad_lg, good2)
    assert [r.status for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert [r.error_code for r in results[1:6]] == [
        "E_JSON",
        "E_ENCODING",
        "E_REASON_UNKNOWN",
        "E_JUMINHYO_CODE_FORMAT",
        "E_LG_CODE_INVALID",
    ]
    assert one(db, "SELECT count(*) FROM pref.notification_inbox") == 7
    assert one(db, "SELECT count(*) FROM pref.identity_current") == 2
    raw = one(db, "SELECT raw FROM pref.notification_inbox WHERE error_code = 'E_ENCODING'")
    assert bytes(raw) == sjis  # the bytes are kept for investigation


def test_S38_item_not_notifiable_is_rejected(db: Database) -> None:
    """S-38 / F1-1 (b): only legally notified items are accepted (本籍 is not one of them)."""
    record = pref_record(20, birth_date="2026-09-01", honseki="神奈川県鎌倉市")
    [result] = apply(db, notification("pref", "birth", juminhyo(20), record=record, change_date="2026-09-01"))
    assert result.error_code == "E_ITEM_NOT_NOTIFIABLE"


def test_other_municipality_cannot_touch_the_resident(db: Database) -> None:
    code = born(db, 21)
    [result] = apply(
        db,
        notification(
            "pref",
            "minor_correction",
            code,
            municipality=KAMAKURA,
            record=pref_record(21, birth_date="2026-09-01", name_kana="ヤマダ　タロー"),
        ),
    )
    assert result.error_code == "E_OTHER_MUNICIPALITY"
    [moved] = apply(
        db,
        notification(
            "pref",
            "relocation",
            code,
            municipality=KAMAKURA,
            record=pref_record(21, KAMAKURA, birth_date="2026-09-01", address="神奈川県鎌倉市大町1番1号"),
        ),
    )
    assert moved.error_code == "E_RELOCATION_OTHER_CITY"  # a move to another city is 転出/転入, not 転居


def test_relocation_between_wards_of_one_city_is_sent_by_the_new_ward(db: Database) -> None:
    code = born(db, 22)
    record = pref_record(22, KANAGAWA_KU, birth_date="2026-09-01", address="神奈川県横浜市神奈川区反町1番1号")
    [result] = apply(db, notification("pref", "relocation", code, municipality=KANAGAWA_KU, record=record))
    assert result.status == "accepted"
    assert (
        one(db, "SELECT municipality_code FROM pref.identity_current WHERE juminhyo_code = %s", code)
        == KANAGAWA_KU
    )


def test_juminhyo_code_change_links_old_and_new_and_codes_are_never_reused(db: Database) -> None:
    """DOMAIN §2: the old code stays linked to the new one; a code is never assigned twice."""
    old = born(db, 30)
    new = juminhyo(31)
    record = pref_record(30, birth_date="2026-09-01")
    [changed] = apply(
        db, notification("pref", "juminhyo_code_change_request", old, record=record, new_juminhyo_code=new)
    )
    assert changed.status == "accepted"
    assert one(
        db, "SELECT status, end_kind, successor_code FROM pref.identity_current WHERE juminhyo_code = %s", old
    ) == ("ended", "code_changed", new)
    assert one(
        db, "SELECT status, old_juminhyo_code FROM pref.identity_current WHERE juminhyo_code = %s", new
    ) == ("present", old)
    assert (
        one(db, "SELECT payload->>'old_juminhyo_code' FROM pref.outbox WHERE juminhyo_code = %s", new) == old
    )
    # The old code cannot be taken again, neither by a new birth nor as another change target.
    [reuse] = apply(
        db, notification("pref", "juminhyo_code_change_request", new, record=record, new_juminhyo_code=old)
    )
    assert reuse.error_code == "E_JUMINHYO_CODE_IN_USE"


def test_my_number_changes_only_by_its_reasons_and_never_to_someone_elses(db: Database) -> None:
    a = born(db, 40)
    b = born(db, 41)
    mine = pref_record(40, birth_date="2026-09-01")
    other_number = pref_record(41, birth_date="2026-09-01")["my_number"]
    results = apply(
        db,
        notification("pref", "minor_correction", a, record=dict(mine, my_number=my_number(9000))),
        notification("pref", "my_number_change_request", a, record=dict(mine, my_number=other_number)),
        notification("pref", "my_number_change_request", a, record=dict(mine, my_number=my_number(9001))),
    )
    assert [r.error_code for r in results] == ["E_MY_NUMBER_CHANGE_REASON", "E_MY_NUMBER_IN_USE", None]
    assert one(db, "SELECT my_number FROM pref.identity_current WHERE juminhyo_code = %s", a) == my_number(
        9001
    )
    assert b


def test_death_is_final(db: Database) -> None:
    code = born(db, 50)
    results = apply(
        db,
        notification("pref", "death", code, change_date="2026-10-02"),
        notification(
            "pref", "relocation", code, record=pref_record(50, birth_date="2026-09-01", address=ADDRESS2)
        ),
        notification("pref", "domestic_move_in", code, record=pref_record(50, birth_date="2026-09-01")),
    )
    assert [r.status for r in results] == ["accepted", "rejected", "rejected"]
    assert {r.error_code for r in results[1:]} == {"E_DECEASED"}
    row = one(
        db,
        "SELECT status, end_kind, deleted_flag, retention_flag, retain_until FROM pref.identity_current WHERE juminhyo_code = %s",
        code,
    )
    assert row[:4] == ("ended", "death", True, True)
    assert row[4].year == 2026 + 150  # kept 150 years after death


def test_F2_1_removal_of_a_removed_fuhyo_person_is_an_error(db: Database) -> None:
    """F2-1 (L2525–2526): a deletion notification for a person already deleted is an error."""
    code = juminhyo(60)
    entry = notification(
        "fuhyo", "birth", code, record=fuhyo_record(birth_date="2026-09-01"), change_date="2026-09-01"
    )
    results = apply(
        db,
        entry,
        notification("fuhyo", "ex_officio_removal", code),
        notification("fuhyo", "ex_officio_removal", code),
    )
    assert [r.status for r in results] == ["accepted", "accepted", "rejected"]
    assert results[2].error_code == "E_ALREADY_ENDED"
    assert one(db, "SELECT count(*) FROM fuhyo.notification_inbox") == 3
    assert one(db, "SELECT count(*) FROM fuhyo.outbox") == 2


def test_F2_1_overseas_move_out_makes_an_abroad_record_and_no_my_number_leaves(db: Database) -> None:
    code = juminhyo(61)
    abroad = fuhyo_record(
        birth_date="2026-09-01",
        address_municipality_code="",
        address="アメリカ合衆国",
        last_address="神奈川県横浜市鶴見区豊岡町1番1号",
    )
    results = apply(
        db,
        notification(
            "fuhyo", "birth", code, record=fuhyo_record(birth_date="2026-09-01"), change_date="2026-09-01"
        ),
        notification("fuhyo", "overseas_move_out", code, record=abroad),
    )
    assert [r.status for r in results] == ["accepted", "accepted"], results
    assert one(db, "SELECT status, last_address FROM fuhyo.fuhyo_current WHERE juminhyo_code = %s", code) == (
        "abroad",
        "神奈川県横浜市鶴見区豊岡町1番1号",
    )
    notices = one(db, "SELECT array_agg(payload::text) FROM fuhyo.outbox")
    assert all("my_number" not in n for n in notices)  # N-H2: File 2 never carries 個人番号


def test_kanji_survive_exactly(db: Database) -> None:
    """DOMAIN §6/§7: U+FA19 (神) and an IVS sequence are stored exactly as received."""
    name = "\ufa19田　邉\U000e0101子"
    code = born(db, 70, name_kanji=name, address="神奈川県横浜市鶴見区\ufa19明町1番1号")
    assert one(db, "SELECT name_kanji FROM pref.identity_current WHERE juminhyo_code = %s", code) == name
    notice = one(db, "SELECT payload->>'name_kanji' FROM pref.outbox WHERE juminhyo_code = %s", code)
    assert notice == name


def test_concurrent_batches_apply_each_notification_exactly_once(db: Database) -> None:
    """Two appliers sending the same batches at once: every notification is applied exactly once."""
    codes = [juminhyo(100 + i) for i in range(40)]
    births = [
        notification(
            "pref", "birth", c, record=pref_record(100 + i, birth_date="2026-09-01"), change_date="2026-09-01"
        )
        for i, c in enumerate(codes)
    ]
    moves = [
        notification(
            "pref", "relocation", c, record=pref_record(100 + i, birth_date="2026-09-01", address=ADDRESS2)
        )
        for i, c in enumerate(codes)
    ]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            apply(db, *births, *moves, batch=25)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert one(db, "SELECT count(*) FROM pref.notification_inbox WHERE status = 'accepted'") == 80
    assert one(db, "SELECT count(*) FROM pref.notification_inbox WHERE status = 'duplicate'") == 80
    assert one(db, "SELECT count(*) FROM pref.outbox") == 80
    assert one(db, "SELECT count(DISTINCT update_seq) FROM pref.outbox") == 80
    assert one(db, "SELECT max(version) FROM pref.identity_current") == 2


@pytest.mark.parametrize("file", ["pref", "fuhyo"])
def test_every_line_gets_an_inbox_row(db: Database, file: str) -> None:
    """Nothing a municipality sends is ever silently dropped (ARCHITECTURE §3)."""
    lines = [b"not json", b"[]", orjson.dumps({"file": file})]
    results = apply(db, *lines)
    assert len(results) == 3 and all(r.status == "rejected" for r in results)
    total = one(
        db,
        "SELECT (SELECT count(*) FROM pref.notification_inbox) + (SELECT count(*) FROM fuhyo.notification_inbox)",
    )
    assert total == 3
    assert TSURUMI


def test_oversized_line_is_refused_before_parsing(db: Database) -> None:
    """A huge line (e.g. a corrupted file) is one rejected item; the next line still applies."""
    good = notification(
        "pref",
        "birth",
        juminhyo(80),
        record=pref_record(80, birth_date="2026-09-01"),
        change_date="2026-09-01",
    )
    results = apply(db, b'{"x": "' + b"a" * 70_000 + b'"}', good)
    assert [r.status for r in results] == ["rejected", "accepted"]
    assert results[0].error_code == "E_LINE_TOO_LONG"


def test_S40_notification_must_come_from_the_authenticated_municipality(db: Database) -> None:
    """S-40/S-42: on the mTLS channel the client certificate names the municipality; a notification
    claiming another sender is rejected (and recorded), one from the named municipality applies."""
    own = notification(
        "pref",
        "birth",
        juminhyo(90),
        record=pref_record(90, birth_date="2026-09-01"),
        change_date="2026-09-01",
    )
    forged = notification(
        "pref",
        "birth",
        juminhyo(91),
        municipality=KAMAKURA,
        record=pref_record(91, KAMAKURA, birth_date="2026-09-01"),
        change_date="2026-09-01",
    )
    lines = [orjson.dumps(own), orjson.dumps(forged)]
    with db.connect(DbRole.PREF) as pref, db.connect(DbRole.FUHYO) as fuhyo:
        applier = NotificationApplier({FileKind.PREF: pref, FileKind.FUHYO: fuhyo})
        results = list(applier.apply(iter_lines([b"\n".join(lines)]), source="cs:141011", sender=TSURUMI))
    assert [r.status for r in results] == ["accepted", "rejected"]
    assert results[1].error_code == "E_SENDER_MISMATCH"
    assert one(db, "SELECT count(*) FROM pref.notification_inbox WHERE error_code = 'E_SENDER_MISMATCH'") == 1


def test_R02_superseded_versions_are_kept_150_years(db: Database) -> None:
    """R-02: history (修正前の本人確認情報) is retained 150 years; the flag says the rule governs it."""
    code = born(db, 95)
    apply(
        db,
        notification(
            "pref", "relocation", code, record=pref_record(95, birth_date="2026-09-01", address=ADDRESS2)
        ),
    )
    flag, until, superseded = one(
        db,
        "SELECT retention_flag, retain_until, superseded_at FROM pref.identity_history WHERE juminhyo_code = %s",
        code,
    )
    assert flag is True
    assert until.year - superseded.year == 150


def test_hardening_14_S39_a_my_number_once_anyones_is_never_given_to_another(db: Database) -> None:
    """S-39 / issue item 14: a 個人番号 a person gave up (now only in the history) is still theirs; the
    same person may take it back, and a code change does not make their own number someone else's."""
    a = born(db, 60)
    b = born(db, 61)
    mine = pref_record(60, birth_date="2026-09-01")
    old_number = mine["my_number"]
    [changed] = apply(
        db, notification("pref", "my_number_change_request", a, record=dict(mine, my_number=my_number(9060)))
    )
    assert changed.status == "accepted"
    assert one(db, "SELECT count(*) FROM pref.identity_current WHERE my_number = %s", old_number) == 0
    # Another person, in a later batch: the number is only in a's history, and is refused.
    theirs = pref_record(61, birth_date="2026-09-01")
    [taken] = apply(
        db, notification("pref", "my_number_change_request", b, record=dict(theirs, my_number=old_number))
    )
    assert taken.error_code == "E_MY_NUMBER_IN_USE"
    # Nor can a newcomer be registered with it.
    [newcomer] = apply(
        db,
        notification(
            "pref",
            "birth",
            juminhyo(62),
            record=dict(pref_record(62, birth_date="2026-09-01"), my_number=old_number),
            change_date="2026-09-01",
        ),
    )
    assert newcomer.error_code == "E_MY_NUMBER_IN_USE"
    # a changes 住民票コード; the new code is the same person, so a's old numbers stay a's.
    new_code = juminhyo(63)
    [recoded] = apply(
        db,
        notification(
            "pref",
            "juminhyo_code_change_request",
            a,
            record=dict(mine, my_number=my_number(9060)),
            new_juminhyo_code=new_code,
        ),
    )
    assert recoded.status == "accepted", recoded
    [back] = apply(
        db,
        notification("pref", "my_number_change_request", new_code, record=dict(mine, my_number=old_number)),
    )
    assert back.status == "accepted", back


def test_hardening_14_S39_the_owner_look_up_uses_the_history_index(db: Database) -> None:
    """The history look-up is an index scan (the bulk intake must not slow down)."""
    with db.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(
                "EXPLAIN SELECT 1 FROM pref.identity_history WHERE my_number = ANY(%s)", (["123456789018"],)
            )
        )
    assert "identity_history_my_number" in plan
