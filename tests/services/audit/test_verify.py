"""Tamper evidence of the operation log: hash chain + signed RFC 6962 checkpoints outside the
database (REQUIREMENTS S-15, S-19, S-20; ARCHITECTURE.md §7 "Tamper evidence").

Every attack is made the way a database superuser would make it: plain SQL on audit.op_log and
audit.chain_head, with the hashes recomputed where that would hide the edit from the chain alone.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from juki.services.audit.checkpoints import (
    CHECKPOINT_FILE,
    KEY_FILE,
    PUBLIC_KEY_FILE,
    Checkpoint,
    CheckpointRefused,
    MerkleAccumulator,
    create_checkpoint,
    key_id,
    merkle_root,
    read_checkpoints,
)
from juki.services.audit.verify import VerifyReport, verify
from juki.store.db import Database
from tests.services.audit.support import append_many, rehash_everything


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    return tmp_path / "audit"


def check(db: Database, audit: Path) -> VerifyReport:
    with db.connect() as conn:
        return verify(conn, audit, audit / CHECKPOINT_FILE)


def checkpoint(db: Database, audit: Path) -> Checkpoint:
    with db.connect() as conn:
        return create_checkpoint(conn, audit, audit)


def tamper(db: Database, *statements: str) -> None:
    with db.connect() as conn:
        for statement in statements:
            conn.execute(statement)
        conn.commit()


def rehash(db: Database) -> None:
    with db.connect() as conn:
        rehash_everything(conn)
        conn.commit()


# --- Merkle tree ---------------------------------------------------------------------------------

#: RFC 6962 test vectors (certificate-transparency reference implementation): leaves and the tree
#: hash of the first n of them.
_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def test_merkle_root_matches_rfc6962_vectors() -> None:
    assert merkle_root([]).hex() == hashlib.sha256(b"").hexdigest()
    for n, root in _ROOTS.items():
        assert merkle_root(_LEAVES[:n]).hex() == root


def test_streaming_merkle_accumulator_equals_the_recursive_definition() -> None:
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]
    acc = MerkleAccumulator()
    assert acc.root() == merkle_root([])
    for n, leaf in enumerate(leaves, start=1):
        acc.add(leaf)
        assert acc.root() == merkle_root(leaves[:n]), n


# --- an honest log ------------------------------------------------------------------------------


def test_S15_untouched_log_verifies_with_and_without_checkpoints(db: Database, audit: Path) -> None:
    """S-15/S-19: an untouched log verifies; a new, empty log without any checkpoint is only a
    warning (A_NEW_LOG)."""
    report = check(db, audit)
    assert report.ok and report.codes == {"A_NEW_LOG"} and report.rows == 0
    append_many(db, 12)
    first = checkpoint(db, audit)
    assert (first.tree_size, first.last_seq) == (12, 12)
    append_many(db, 5)
    report = check(db, audit)
    assert report.ok, report.findings
    assert report.findings == []
    assert (report.rows, report.checkpoints, report.checkpoints_checked) == (17, 1, 1)
    checkpoint(db, audit)
    report = check(db, audit)
    assert report.ok and report.checkpoints_checked == 2 and report.latest_checkpoint_size == 17


def test_S20_checkpoint_file_and_key_are_outside_the_database(db: Database, audit: Path) -> None:
    """The key is generated on first use with mode 0600, the public key alongside; each checkpoint is
    one signed JSON line."""
    append_many(db, 3)
    cp = checkpoint(db, audit)
    assert stat.S_IMODE((audit / KEY_FILE).stat().st_mode) == 0o600
    assert (audit / PUBLIC_KEY_FILE).exists()
    (line,) = (audit / CHECKPOINT_FILE).read_text(encoding="utf-8").splitlines()
    obj = json.loads(line)
    assert list(obj) == [
        "v",
        "tree_size",
        "root",
        "last_seq",
        "last_row_hash",
        "created_at",
        "key_id",
        "signature",
    ]
    assert obj["tree_size"] == 3 and obj["root"] == cp.root.hex()
    (read,), problems = read_checkpoints(audit / CHECKPOINT_FILE)
    assert problems == [] and read.root == cp.root and read.line == 1


def test_S19_verifier_needs_only_the_public_key(db: Database, audit: Path, tmp_path: Path) -> None:
    """An auditor holding the public key alone can verify (and could not sign)."""
    append_many(db, 4)
    checkpoint(db, audit)
    public_only = tmp_path / "auditor"
    public_only.mkdir()
    (public_only / PUBLIC_KEY_FILE).write_bytes((audit / PUBLIC_KEY_FILE).read_bytes())
    with db.connect() as conn:
        report = verify(conn, public_only, audit / CHECKPOINT_FILE)
    assert report.ok and report.checkpoints_checked == 1


def test_S15_verify_streams_a_larger_log(db: Database, audit: Path) -> None:
    """More rows than one fetch of the server-side cursor, checkpoints at awkward sizes."""
    append_many(db, 2100)
    checkpoint(db, audit)
    append_many(db, 1)
    checkpoint(db, audit)
    with db.connect(autocommit=True) as conn:  # verify opens its own snapshot
        report = verify(conn, audit, audit / CHECKPOINT_FILE)
    assert report.ok and report.rows == 2101 and report.checkpoints_checked == 2


# --- tampering -----------------------------------------------------------------------------------


def test_S15_edited_row_is_detected(db: Database, audit: Path) -> None:
    """S-15: a superuser edits a row's detail: its hash no longer matches its content."""
    append_many(db, 10)
    checkpoint(db, audit)
    tamper(db, """UPDATE audit.op_log SET detail = '{"i": 99}' WHERE seq = 4""")
    report = check(db, audit)
    assert not report.ok
    assert "A_ROW_HASH" in report.codes
    assert [f.seq for f in report.findings if f.code == "A_ROW_HASH"] == [4]


def test_S15_edited_row_with_rehashed_chain_is_caught_by_the_checkpoint(db: Database, audit: Path) -> None:
    """S-15: the superuser edits a row *and* recomputes every later hash and the head: the chain looks
    intact, the signed checkpoint's Merkle root does not match."""
    append_many(db, 10)
    checkpoint(db, audit)
    tamper(db, "UPDATE audit.op_log SET target = '99999999999', operator_login = 'someone' WHERE seq = 3")
    rehash(db)
    report = check(db, audit)
    assert not report.ok
    assert report.codes == {"A_CHECKPOINT_ROOT"}  # the chain itself is consistent again


def test_S15_deleted_middle_row_is_detected(db: Database, audit: Path) -> None:
    """S-15: a row deleted in the middle leaves a gap and a broken link, and the log now holds fewer
    rows than the checkpoint counted."""
    append_many(db, 10)
    checkpoint(db, audit)
    tamper(db, "DELETE FROM audit.op_log WHERE seq = 5")
    report = check(db, audit)
    assert not report.ok
    assert report.codes == {"A_SEQ_GAP", "A_CHAIN_BROKEN", "A_TRUNCATED"}
    assert [f.seq for f in report.findings if f.code == "A_SEQ_GAP"] == [6]


def test_S15_deleted_row_renumbered_and_rehashed_is_detected(db: Database, audit: Path) -> None:
    """S-15: a row deleted, the rest renumbered and re-hashed: the checkpoint counts one row more
    than the log has and its root no longer matches."""
    append_many(db, 10)
    checkpoint(db, audit)
    tamper(db, "DELETE FROM audit.op_log WHERE seq = 5")
    rehash(db)
    report = check(db, audit)
    assert not report.ok
    assert "A_TRUNCATED" in report.codes
    assert not {"A_SEQ_GAP", "A_CHAIN_BROKEN", "A_ROW_HASH"} & report.codes


def test_S15_truncated_tail_with_rewritten_head_is_detected(db: Database, audit: Path) -> None:
    """S-15: rows the checkpoint covers are cut off the tail and the head is rewritten to the new last
    row, so the chain alone is consistent and gapless; the checkpoint counted more rows."""
    append_many(db, 10)
    checkpoint(db, audit)
    tamper(
        db,
        "DELETE FROM audit.op_log WHERE seq > 7",
        "UPDATE audit.chain_head SET last_seq = 7, last_pos = 7, "
        "last_hash = (SELECT row_hash FROM audit.op_log WHERE seq = 7)",
    )
    report = check(db, audit)
    assert not report.ok
    assert report.codes == {"A_TRUNCATED"}


def test_S15_rewritten_head_alone_is_detected(db: Database, audit: Path) -> None:
    """Rows removed from the tail without touching the head: the head names a row that is gone."""
    append_many(db, 6)
    tamper(db, "DELETE FROM audit.op_log WHERE seq = 6")
    report = check(db, audit)
    assert report.codes == {"A_HEAD_MISMATCH", "A_NO_CHECKPOINT"} and not report.ok


def test_S15_forged_checkpoint_signature_is_detected(db: Database, audit: Path) -> None:
    """S-15: the attacker rewrites the log and the checkpoint file's root to match (they have no
    key): the signature fails. Signing with their own key names a key the verifier does not hold."""
    append_many(db, 8)
    real = checkpoint(db, audit)
    tamper(db, "UPDATE audit.op_log SET target = 'x' WHERE seq = 2")
    rehash(db)
    with db.connect() as conn:
        new_root = verify(conn, audit, audit / "none.jsonl").root_hex
        new_last = conn.execute("SELECT row_hash FROM audit.op_log WHERE seq = 8").fetchone()
    assert new_last is not None
    forged = replace(real, root=bytes.fromhex(new_root), last_row_hash=bytes(new_last[0]))
    (audit / CHECKPOINT_FILE).write_text(forged.to_json() + "\n", encoding="utf-8")
    report = check(db, audit)
    assert report.codes == {"A_CHECKPOINT_SIGNATURE"}

    own = Ed25519PrivateKey.generate()
    unsigned = replace(forged, key_id=key_id(own.public_key()))
    resigned = replace(unsigned, signature=own.sign(unsigned.message()))
    (audit / CHECKPOINT_FILE).write_text(resigned.to_json() + "\n", encoding="utf-8")
    report = check(db, audit)
    assert report.codes == {"A_KEY_MISSING"}


def test_S15_damaged_or_reordered_checkpoint_file_is_reported(db: Database, audit: Path) -> None:
    """A line that cannot be read, or a later line counting fewer rows, is a finding too."""
    append_many(db, 3)
    checkpoint(db, audit)
    append_many(db, 2)
    checkpoint(db, audit)
    first, second = (audit / CHECKPOINT_FILE).read_text(encoding="utf-8").splitlines()
    (audit / CHECKPOINT_FILE).write_text(f"{second}\n{first}\n{{not json\n", encoding="utf-8")
    report = check(db, audit)
    assert report.codes == {"A_CHECKPOINT_ORDER", "A_CHECKPOINT_FORMAT"}


def test_S15_no_checkpoint_is_signed_over_a_tampered_log(db: Database, audit: Path) -> None:
    """Signing after an undetected rewrite would bless it: create_checkpoint verifies first."""
    append_many(db, 5)
    checkpoint(db, audit)
    tamper(db, "UPDATE audit.op_log SET outcome = 'allow', function = 'sign_in' WHERE seq = 2")
    rehash(db)
    with pytest.raises(CheckpointRefused) as refused:
        checkpoint(db, audit)
    assert {f.code for f in refused.value.findings} == {"A_CHECKPOINT_ROOT"}
    assert len((audit / CHECKPOINT_FILE).read_text(encoding="utf-8").splitlines()) == 1


def test_hardening_11_S20_verify_fails_when_the_checkpoints_are_gone(
    db: Database, audit: Path, tmp_path: Path
) -> None:
    """Item 11: a log with rows but no checkpoint — the file deleted, or the path pointing at
    nothing — is a failure (A_NO_CHECKPOINT), not "the chain alone verified"; the first checkpoint
    can still be made."""
    append_many(db, 4)
    with db.connect() as conn:
        missing = verify(conn, audit, tmp_path / "nowhere" / CHECKPOINT_FILE)
    assert not missing.ok and missing.codes == {"A_NO_CHECKPOINT"}
    checkpoint(db, audit)
    assert check(db, audit).ok
    (audit / CHECKPOINT_FILE).unlink()
    deleted = check(db, audit)
    assert not deleted.ok and deleted.codes == {"A_NO_CHECKPOINT"}
