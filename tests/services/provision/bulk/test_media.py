"""Output to electronic media (S-29, S-30, S-23, REC-3, REC-6): the register, the checks, the encryption."""

from __future__ import annotations

import hashlib

import psycopg
import pyrage
import pytest

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.provision import catalog_changes
from juki.services.provision.bulk import media, service
from juki.services.provision.bulk.jobs import list_exchanges
from juki.services.provision.catalog import load_catalog, shipped_text
from juki.store.db import Database, DbRole
from tests.services.access.support import Conn, System, log_rows, second_admin
from tests.services.provision.bulk.support import (
    MIXED_ROWS,
    at_business_terminal,
    population,
    request,
    requester_actor,
    store_of,
)

PREF = FileKind.PREF


@pytest.fixture
def identity() -> pyrage.x25519.Identity:
    """The requester's private key: generated here, never stored in the repository or the database."""
    return pyrage.x25519.Identity.generate()


def catalog_with_key(requester: str, key: str) -> str:
    """The shipped catalog with ``key`` as ``requester``'s age recipient (a whole new version's text)."""
    anchor = f'code = "{requester}"\n'
    assert anchor in shipped_text()
    return shipped_text().replace(anchor, f'{anchor}age_recipient = "{key}"\n', 1)


def set_key(conn: Conn, settings: Settings, system: System, requester: str, key: str) -> None:
    """The only way a recipient changes: one administrator proposes, another approves (four eyes)."""
    proposal = catalog_changes.propose(conn, catalog_with_key(requester, key), "媒体暗号化の鍵", system.admin)
    catalog_changes.approve(conn, proposal, second_admin(conn, settings, system))


@pytest.fixture
def done_job(db: Database, conn: Conn, pref_conn: Conn, settings: Settings, system: System) -> int:
    population(db)
    actor = requester_actor(conn, settings, system, "koan1", "bulk_requester@koan")
    job = service.submit_at_terminal(
        pref_conn, actor, PREF, requester_code="koan", task_code="unten-menkyo",
        chunks=[request(*(row for row, _ in MIXED_ROWS))], file_name="irai.csv", store=store_of(settings),
    )  # fmt: skip
    return job.id


def test_rec6_s30_the_register_keeps_every_medium_and_its_disposal(conn: Conn, settings: Settings) -> None:
    """REC-6, S-30: registered media are listed with holder and status; a disposed or lost medium stays in
    the register (with who and when) and is never usable again; a duplicate serial is refused."""
    media.register_medium(
        conn, settings, label="USB-01", kind="usb", serial="SN0001", holder="市町村課 田中", by="admin1"
    )
    media.register_medium(
        conn, settings, label="USB-02", kind="usb", serial="SN0002", holder="市町村課 田中", by="admin1"
    )
    with pytest.raises(media.MediaError):
        media.register_medium(
            conn, settings, label="USB-03", kind="usb", serial="SN0001", holder="x", by="admin1"
        )
    gone = media.dispose_medium(conn, label="USB-02", status="disposed", by="admin1", note="破砕")
    assert gone.status == "disposed" and gone.disposed_by == "admin1" and gone.disposed_at is not None
    with pytest.raises(media.MediaError):
        media.dispose_medium(conn, label="USB-02", status="suspended", by="admin1")
    register = media.list_media(conn)
    assert [(m.label, m.status, m.holder) for m in register] == [
        ("USB-01", "approved", "市町村課 田中"),
        ("USB-02", "disposed", "市町村課 田中"),
    ]
    assert [m.label for m in media.list_media(conn, usable_only=True)] == ["USB-01"]
    assert (media.media_root(settings) / "SN0001" / media.LABEL_FILE).read_text().strip() == "SN0001"


def test_s29_s30_s23_output_goes_encrypted_to_a_registered_medium_and_is_recorded(
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    settings: Settings,
    system: System,
    done_job: int,
    identity: pyrage.x25519.Identity,
) -> None:
    """S-29, S-30, S-23, REC-3: the result, encrypted to the requester's age recipient, is written to the
    approved medium; only the requester's identity decrypts it; the output is recorded with file name,
    SHA-256 of the ciphertext, rows, medium, operator, terminal and time, and logged."""
    media.register_medium(
        conn, settings, label="USB-01", kind="usb", serial="SN0001", holder="田中", by="admin1"
    )
    set_key(conn, settings, system, "koan", str(identity.to_public()))
    actor = requester_actor(conn, settings, system, "koan2", "bulk_requester@koan")
    out = media.output_to_medium(pref_conn, settings, actor, PREF, done_job, "USB-01", store_of(settings))
    ciphertext = out.path.read_bytes()
    assert out.path.parent == media.media_root(settings) / "SN0001" and out.path.suffix == ".age"
    assert hashlib.sha256(ciphertext).hexdigest() == out.sha256
    plain = store_of(settings).path(PREF, done_job).read_bytes()
    assert plain not in ciphertext and pyrage.decrypt(ciphertext, [identity]) == plain
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(ciphertext, [pyrage.x25519.Identity.generate()])
    exchange = [e for e in list_exchanges(pref_conn, PREF, done_job) if e["kind"] == "media"]
    assert len(exchange) == 1
    record = exchange[0]
    assert (record["file_name"], record["sha256"], record["rows"]) == (
        out.path.name,
        out.sha256,
        len(MIXED_ROWS),
    )
    assert (
        record["medium_id"] is not None and record["operator_login"] == "koan2" and record["at"] is not None
    )
    assert log_rows(admin_conn, function="media_output", outcome="allow")[-1]["detail"]["medium"] == "USB-01"


@pytest.mark.parametrize("case", ["disposed", "unknown", "label", "recipient", "terminal", "requester"])
def test_s29_s30_output_is_refused_unless_medium_terminal_operator_and_key_are_right(
    conn: Conn,
    pref_conn: Conn,
    settings: Settings,
    system: System,
    done_job: int,
    identity: pyrage.x25519.Identity,
    case: str,
) -> None:
    """S-30: a disposed or unregistered medium, or one whose label file does not match, is refused; S-29:
    a business terminal without the bulk flag, or an operator of another requester, is refused; without
    the requester's age recipient nothing is written in clear. Nothing is left on the medium."""
    media.register_medium(
        conn, settings, label="USB-01", kind="usb", serial="SN0001", holder="田中", by="admin1"
    )
    if case != "recipient":
        set_key(conn, settings, system, "koan", str(identity.to_public()))
    label = "USB-01"
    if case == "disposed":
        media.dispose_medium(conn, label="USB-01", status="lost", by="admin1")
    elif case == "unknown":
        label = "USB-99"
    elif case == "label":
        (media.media_root(settings) / "SN0001" / media.LABEL_FILE).write_text("SN9999\n")
    login, role = (
        ("kyoiku1", "bulk_requester@kyoiku") if case == "requester" else ("koan2", "bulk_requester@koan")
    )
    actor = requester_actor(conn, settings, system, login, role)
    if case == "terminal":
        actor = at_business_terminal(actor, bulk=False)
    with pytest.raises(Refusal) as refused:
        media.output_to_medium(pref_conn, settings, actor, PREF, done_job, label, store_of(settings))
    expected = {
        "disposed": ("T_MEDIA", "E_MEDIA_NOT_APPROVED"),
        "unknown": ("T_MEDIA", "E_MEDIA_NOT_APPROVED"),
        "label": ("T_MEDIA", "E_MEDIA_LABEL"),
        "recipient": ("T_MEDIA", "E_MEDIA_RECIPIENT"),
        "terminal": ("T_BULK_TERMINAL", ""),
        "requester": ("T_BULK_JOB_NOT_FOUND", ""),
    }[case]
    assert refused.value.code == expected[0] and expected[1] in refused.value.detail
    assert [p.name for p in (media.media_root(settings) / "SN0001").iterdir()] == [media.LABEL_FILE]


def test_s30_a_recipient_changes_only_through_the_four_eyes_catalog(
    conn: Conn,
    pref_conn: Conn,
    admin_conn: Conn,
    db: Database,
    settings: Settings,
    system: System,
    done_job: int,
    identity: pyrage.x25519.Identity,
) -> None:
    """S-30 (issue 11 gap 4): the key a medium is encrypted to is the requester's ``age_recipient`` in the
    approved catalog. A proposed key does nothing until another administrator approves it; its proposer
    cannot approve it; every step is logged; no database role can set a key beside the catalog; a key that
    is not an age public key (or is a private identity) is refused when proposed."""
    media.register_medium(
        conn, settings, label="USB-01", kind="usb", serial="SN0001", holder="田中", by="admin1"
    )
    actor = requester_actor(conn, settings, system, "koan2", "bulk_requester@koan")
    store = store_of(settings)
    key = str(identity.to_public())
    proposal = catalog_changes.propose(conn, catalog_with_key("koan", key), "鍵の登録", system.admin)
    with pytest.raises(Refusal) as pending:
        media.output_to_medium(pref_conn, settings, actor, PREF, done_job, "USB-01", store)
    assert pending.value.detail.startswith("E_MEDIA_RECIPIENT")
    with pytest.raises(Refusal) as own:
        catalog_changes.approve(conn, proposal, system.admin)
    assert own.value.code == "T_RIGHTS_SELF_APPROVAL"
    catalog_changes.approve(conn, proposal, second_admin(conn, settings, system))
    assert media.list_recipients(pref_conn) == {"koan": key}
    assert (requester := load_catalog(pref_conn).requester("koan")) is not None
    assert requester.age_recipient == key
    out = media.output_to_medium(pref_conn, settings, actor, PREF, done_job, "USB-01", store)
    assert pyrage.decrypt(out.path.read_bytes(), [identity]) == store.path(PREF, done_job).read_bytes()
    events = [
        (r["detail"]["event"], r["outcome"])
        for r in log_rows(admin_conn, function="rights_admin")
        if r["detail"]["event"].startswith("catalog")
    ]
    assert events == [("catalog_propose", "allow"), ("catalog_approve", "deny"), ("catalog_approve", "allow")]
    for bad in ("age1notakey", str(identity)):
        with pytest.raises(Refusal) as invalid:
            catalog_changes.propose(conn, catalog_with_key("koan", bad), "誤り", system.admin)
        assert invalid.value.code == "T_CATALOG_INVALID"
        assert str(identity) not in (invalid.value.detail or "")
    for role in (DbRole.TERM, DbRole.PREF, DbRole.FUHYO):
        with db.connect(role) as other, pytest.raises(psycopg.errors.InsufficientPrivilege):
            other.execute(
                "INSERT INTO provision.requester_recipient (requester_code, age_recipient, set_by)"
                " VALUES ('koan', %s, 'x')",
                (key,),
            )
