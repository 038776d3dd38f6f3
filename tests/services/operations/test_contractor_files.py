"""Files for the contractor's update or consistency work are encrypted automatically (S-47)."""

from __future__ import annotations

from pathlib import Path

import pytest

from juki.services.operations.context import JobFailed
from juki.services.operations.contractor_files import open_sealed, seal_directory
from juki.store.db import Database
from tests.services.operations.support import ops_for, with_keys

CSV = "juminhyo_code,name_kanji\n12345678901,山田　太郎\n".encode()


def test_S47_every_outgoing_file_is_sealed_and_the_plaintext_removed(db: Database, tmp_path: Path) -> None:
    ops = with_keys(db)
    outgoing = tmp_path / "outgoing"
    (outgoing / "sub").mkdir(parents=True)
    (outgoing / "population.csv").write_bytes(CSV)
    (outgoing / "sub" / "reconcile.csv").write_bytes(CSV)
    sealed = seal_directory(outgoing, ops)
    assert sorted(p.name for p in sealed) == ["population.csv.age", "reconcile.csv.age"]
    assert sorted(p.name for p in outgoing.rglob("*") if p.is_file()) == sorted(p.name for p in sealed)
    for path in sealed:
        data = path.read_bytes()
        assert data.startswith(b"age-encryption.org/v1") and "山田".encode() not in data
    opened = open_sealed(sealed[0], tmp_path / "back.csv", ops)
    assert opened.read_bytes() == CSV


def test_S47_nothing_is_handed_over_unencrypted_without_a_recipient(db: Database, tmp_path: Path) -> None:
    ops = ops_for(db)
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    (outgoing / "population.csv").write_bytes(CSV)
    with pytest.raises(JobFailed) as refused:
        seal_directory(outgoing, ops)
    assert refused.value.code == "E_BACKUP_NO_RECIPIENT"
    assert (outgoing / "population.csv").exists() and not list(outgoing.glob("*.age"))
