"""Consistency check with the 市町村CS against a real PostgreSQL (REQUIREMENTS F1-7, F2-7, S-53)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from juki.domain.records import FileKind
from juki.files import FUHYO, PREF, file_spec
from juki.services.registry.reconciliation import (
    ReconcileError,
    get_run,
    list_differences,
    list_runs,
    municipality_scope,
    reconcile,
    upload_columns,
)
from juki.store.db import Database, DbRole
from tests.factories import (
    BORN,
    KAMAKURA,
    KANAGAWA_KU,
    MOVED,
    TSURUMI,
    YOKOHAMA,
    apply_accepted,
    born,
    csv_bytes,
    fuhyo_record,
    juminhyo,
    notification,
    person,
    upload_row,
)


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    """Small chunks: a multi-byte character and the header are split across chunks."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def run(db: Database, file: FileKind, municipality: str, data: bytes | Iterator[bytes], **kw: Any) -> Any:
    with db.connect(file_spec(file).db_role) as conn:
        chunks = chunked(data) if isinstance(data, bytes) else data
        info = reconcile(conn, file, municipality, chunks, requested_by="test", **kw)
        return info, list_differences(conn, file, info.run_id, 0, 100)


def fingerprint(db: Database) -> tuple[Any, ...]:
    """Everything of both files that a reconciliation must never change."""
    with db.connect() as conn:
        out = []
        for table in (PREF.current, PREF.history, FUHYO.current, PREF.outbox):
            got = conn.execute(
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
            )
            one = got.fetchone()
            assert one is not None
            out.append(one[0])
        return tuple(out)


@pytest.fixture
def tsurumi(db: Database) -> Database:
    """鶴見区: persons 1–4 present, 6 ended; 鎌倉市: person 5; 神奈川区: person 8."""
    apply_accepted(
        db,
        *(born(n) for n in (1, 2, 3, 4, 6)),
        born(5, KAMAKURA, address="神奈川県鎌倉市御成町1番1号"),
        born(8, KANAGAWA_KU, address="神奈川県横浜市神奈川区反町一丁目1番1号"),
        notification("pref", "ex_officio_removal", juminhyo(6)),
    )
    return db


def test_F1_7_each_kind_of_difference_is_found_exactly(tsurumi: Database) -> None:
    """F1-7 / S-53: a changed address, a person only on the municipal side, one only on the server side;
    birth dates compare by canonical form (和暦 = ISO); persons of another municipality and ended
    records are not counted; the file does not change."""
    before = fingerprint(tsurumi)
    upload = csv_bytes(
        FileKind.PREF,
        [
            person(1, birth_date="令和8年9月1日"),  # same person, 生年月日 written in 和暦: identical
            person(2, address=MOVED),  # address differs
            # person 3 missing: the municipality no longer has them
            person(4),
            person(7),  # unknown to the server
        ],
    )
    info, diffs = run(tsurumi, FileKind.PREF, TSURUMI, upload)
    assert info.status == "completed" and info.uploaded_rows == 4 and info.scope_codes == [TSURUMI]
    assert info.counts == {
        "uploaded": 4,
        "server": 4,
        "matched": 3,
        "identical": 2,
        "missing_on_server": 1,
        "missing_on_municipal": 1,
        "different": 1,
        "differences": 3,
        "fields": {"address": 1},
    }
    assert [(d["seq"], d["juminhyo_code"], d["kind"]) for d in diffs] == [
        (1, juminhyo(2), "different"),
        (2, juminhyo(3), "missing_on_municipal"),
        (3, juminhyo(7), "missing_on_server"),
    ]
    assert diffs[0]["fields"] == {
        "address": {"municipal": MOVED, "server": "神奈川県横浜市鶴見区豊岡町1番1号"}
    }
    assert diffs[1]["fields"] is None and diffs[2]["fields"] is None
    assert fingerprint(tsurumi) == before
    # kept: readable again later, page by page
    with tsurumi.connect(DbRole.PREF) as conn:
        again = get_run(conn, FileKind.PREF, info.run_id)
        assert again is not None and again.counts == info.counts
        assert [d["seq"] for d in list_differences(conn, FileKind.PREF, info.run_id, 1, 1)] == [2]
        assert [r.run_id for r in list_runs(conn, FileKind.PREF, TSURUMI)] == [info.run_id]


def test_F1_7_every_item_is_compared_exactly_as_stored(tsurumi: Database) -> None:
    """F1-7: each notified item is compared as stored — a changed 個人番号, kana or 旧氏 is reported, an
    unreadable 生年月日 too (with both texts)."""
    upload = csv_bytes(
        FileKind.PREF,
        [
            person(1, name_kana="ヤマダ　タロー", former_surname_kanji="鈴木"),
            person(2, birth_date="2026-09-02"),
            person(3, birth_date="そのうち"),
            person(4, sex="2", aza_code="0009009"),
        ],
    )
    info, diffs = run(tsurumi, FileKind.PREF, TSURUMI, upload)
    assert info.counts["different"] == 4
    assert info.counts["fields"] == {
        "aza_code": 1,
        "birth_date": 2,
        "former_surname_kanji": 1,
        "name_kana": 1,
        "sex": 1,
    }
    assert diffs[1]["fields"] == {"birth_date": {"municipal": "2026-09-02", "server": BORN}}
    assert diffs[2]["fields"]["birth_date"]["municipal"] == "そのうち"


def test_F1_7_a_designated_city_upload_covers_its_wards(tsurumi: Database) -> None:
    """F1-7: 横浜市 (a designated city) uploads for all its wards: 鶴見区 and 神奈川区 are compared,
    鎌倉市 is not; a ward's own upload does not see the other ward's persons."""
    assert TSURUMI in municipality_scope(YOKOHAMA) and KANAGAWA_KU in municipality_scope(YOKOHAMA)
    assert KAMAKURA not in municipality_scope(YOKOHAMA)
    rows = [person(n) for n in (1, 2, 3, 4)]
    rows.append(person(8, KANAGAWA_KU, address="神奈川県横浜市神奈川区反町一丁目1番1号"))
    info, diffs = run(tsurumi, FileKind.PREF, YOKOHAMA, csv_bytes(FileKind.PREF, rows))
    assert info.municipality_code == YOKOHAMA and len(info.scope_codes) == 18
    assert info.counts["server"] == 5 and info.counts["identical"] == 5 and diffs == []
    ward, _ = run(tsurumi, FileKind.PREF, TSURUMI, csv_bytes(FileKind.PREF, rows))
    assert ward.counts["missing_on_server"] == 1 and ward.counts["identical"] == 4


def test_F2_7_fuhyo_reconciliation_uses_the_fuhyo_municipality(db: Database) -> None:
    """F2-7: File 2 compares the 附票管理市町村's present records (abroad persons included)."""
    abroad = fuhyo_record(
        birth_date=BORN, address_municipality_code="", address="アメリカ合衆国", last_address=MOVED
    )
    apply_accepted(
        db,
        *(
            notification(
                "fuhyo", "birth", juminhyo(n), record=fuhyo_record(birth_date=BORN), change_date=BORN
            )
            for n in (11, 12)
        ),
        notification("fuhyo", "overseas_move_out", juminhyo(12), record=abroad),
        notification(
            "fuhyo",
            "birth",
            juminhyo(13),
            municipality=KAMAKURA,
            record=fuhyo_record(birth_date=BORN),
            change_date=BORN,
        ),
    )
    upload = csv_bytes(
        FileKind.FUHYO,
        [
            upload_row(FileKind.FUHYO, juminhyo(11), fuhyo_record(birth_date=BORN)),
            upload_row(FileKind.FUHYO, juminhyo(12), {**abroad, "last_address": "神奈川県横浜市鶴見区"}),
        ],
    )
    info, diffs = run(db, FileKind.FUHYO, TSURUMI, upload)
    assert info.file == "fuhyo" and info.counts["server"] == 2 and info.counts["different"] == 1
    assert diffs == [
        {
            "seq": 1,
            "juminhyo_code": juminhyo(12),
            "kind": "different",
            "fields": {"last_address": {"municipal": "神奈川県横浜市鶴見区", "server": MOVED}},
        }
    ]
    with db.connect() as conn:
        got = conn.execute("SELECT count(*) FROM fuhyo.reconciliation_run").fetchone()
        assert got == (1,)
        assert conn.execute("SELECT count(*) FROM pref.reconciliation_run").fetchone() == (0,)


def failed_run(db: Database, file: FileKind, run_id: int | None) -> tuple[str, str, int]:
    assert run_id is not None
    with db.connect() as conn:
        schema = file.value
        got = conn.execute(
            f"""SELECT r.status, r.error_code,
                       (SELECT count(*) FROM {schema}.reconciliation_diff d WHERE d.run_id = r.id)
                  FROM {schema}.reconciliation_run r WHERE id = %s""",
            (run_id,),
        ).fetchone()
    assert got is not None
    return got[0], got[1], int(got[2])


@pytest.mark.parametrize(
    ("cut", "code"),
    [
        (lambda data: data[:-25], "E_RECON_TRUNCATED"),  # mid-row, no final newline
        (lambda data: data[:-1], "E_RECON_TRUNCATED"),  # the last line lacks only its newline
        (lambda data: data + b'"12345678', "E_RECON_TRUNCATED"),  # an open quote at the end
        (
            lambda data: data + '12345678901,"ヤマダ\n'.encode(),
            "E_RECON_TRUNCATED",
        ),  # ends inside a quoted field
    ],
)
def test_S53_an_upload_cut_off_fails_the_run_and_changes_nothing(
    tsurumi: Database, cut: Any, code: str
) -> None:
    """S-53 / F1-7: an upload truncated mid-row is a clear error; the run is kept as failed with no
    differences (never a half result); the file is unchanged."""
    before = fingerprint(tsurumi)
    upload = csv_bytes(FileKind.PREF, [person(1), person(2, address=MOVED), person(4)])
    with pytest.raises(ReconcileError) as caught:
        run(tsurumi, FileKind.PREF, TSURUMI, cut(upload))
    assert caught.value.code == code
    assert failed_run(tsurumi, FileKind.PREF, caught.value.run_id) == ("failed", code, 0)
    assert fingerprint(tsurumi) == before


def test_S53_a_dropped_connection_fails_the_run(tsurumi: Database) -> None:
    """The upload's source raising mid-stream (the sender's connection dropped) fails the run."""
    upload = csv_bytes(FileKind.PREF, [person(n) for n in (1, 2, 3, 4)])

    def dropping() -> Iterator[bytes]:
        yield upload[:200]
        raise ConnectionResetError("peer closed the connection")

    with pytest.raises(ReconcileError) as caught:
        run(tsurumi, FileKind.PREF, TSURUMI, dropping())
    assert caught.value.code == "E_RECON_TRUNCATED" and "切断" in caught.value.message
    assert failed_run(tsurumi, FileKind.PREF, caught.value.run_id) == ("failed", "E_RECON_TRUNCATED", 0)


def test_S53_a_row_count_stated_by_the_sender_must_match(tsurumi: Database) -> None:
    upload = csv_bytes(FileKind.PREF, [person(1), person(2)])
    with pytest.raises(ReconcileError) as caught:
        run(tsurumi, FileKind.PREF, TSURUMI, upload, expected_rows=3)
    assert caught.value.code == "E_RECON_TRUNCATED"
    info, _ = run(tsurumi, FileKind.PREF, TSURUMI, upload, expected_rows=2)
    assert info.status == "completed"


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b"", "E_RECON_HEADER", None),
        (b"juminhyo_code,name\n", "E_RECON_HEADER", None),
        (csv_bytes(FileKind.FUHYO, []), "E_RECON_HEADER", None),  # File 2's header on a File 1 upload
        (csv_bytes(FileKind.PREF, [], header=upload_columns(FileKind.PREF)[:-1]), "E_RECON_HEADER", None),
        (csv_bytes(FileKind.PREF, [["12345678901", "a"]]), "E_RECON_ROW", 2),  # too few columns
        (csv_bytes(FileKind.PREF, [["x" * 11, *("a" * 10)]]), "E_RECON_ROW", 2),  # not a 住民票コード
        (csv_bytes(FileKind.PREF, [[juminhyo(1), *("a" * 11)]]), "E_RECON_ROW", 2),  # too many columns
        (csv_bytes(FileKind.PREF, [[juminhyo(1), *("a" * 10)]] * 2), "E_RECON_DUPLICATE", None),
        (
            csv_bytes(FileKind.PREF, [[juminhyo(1), *("a" * 10)]]).replace(b",a\n", b",\x82\xa0\n"),
            "E_RECON_ENCODING",
            2,
        ),
    ],
)
def test_S53_malformed_uploads_fail_with_stable_codes(
    tsurumi: Database, data: bytes, code: str, line: int | None
) -> None:
    """Wrong or missing header, unreadable rows (with the line), duplicates, Shift_JIS: a failed run."""
    with pytest.raises(ReconcileError) as caught:
        run(tsurumi, FileKind.PREF, TSURUMI, data)
    assert caught.value.code == code, caught.value
    assert caught.value.line == line
    assert failed_run(tsurumi, FileKind.PREF, caught.value.run_id)[:2] == ("failed", code)


def test_windows_line_ends_and_a_bom_are_read_like_plain_utf8(tsurumi: Database) -> None:
    upload = b"\xef\xbb\xbf" + csv_bytes(FileKind.PREF, [person(n) for n in (1, 2, 3, 4)]).replace(
        b"\n", b"\r\n"
    )
    info, diffs = run(tsurumi, FileKind.PREF, TSURUMI, upload)
    assert info.counts["identical"] == 4 and diffs == []


def test_header_only_upload_means_the_municipality_has_nobody(tsurumi: Database) -> None:
    info, diffs = run(tsurumi, FileKind.PREF, TSURUMI, csv_bytes(FileKind.PREF, []))
    assert info.counts["missing_on_municipal"] == 4 and len(diffs) == 4


def test_not_a_municipality_is_refused_before_any_run(tsurumi: Database) -> None:
    for code in ("140007", "131016", "999999"):  # the prefecture, Tokyo, nonsense
        with pytest.raises(ReconcileError) as caught:
            run(tsurumi, FileKind.PREF, code, csv_bytes(FileKind.PREF, []))
        assert caught.value.code == "E_RECON_MUNICIPALITY" and caught.value.run_id is None


def test_a_run_whose_session_vanished_is_marked_failed(db: Database) -> None:
    """A server killed mid-run leaves 'running': the next reader marks it failed (abandoned)."""
    with db.connect(DbRole.PREF) as conn:
        got = conn.execute(
            """INSERT INTO pref.reconciliation_run (municipality_code, scope_codes, requested_by, backend_pid,
                 backend_start) VALUES ('141011', '{141011}', 'test', 2147483000, now()) RETURNING id"""
        ).fetchone()
        assert got is not None
        conn.commit()
        info = get_run(conn, FileKind.PREF, int(got[0]))
    assert info is not None and (info.status, info.error_code) == ("failed", "E_RECON_ABANDONED")
