"""Files handed to the contractor for update or consistency work are encrypted (S-47, S-14).

`seal_directory` turns every file of an outgoing folder into ``<name>.age`` for the prefecture's
recipients and removes the plaintext, so what the contractor carries (a population to load, a
reconciliation upload, a rejects file) is unreadable to them; the prefecture's identity, kept
elsewhere, opens it at the other end (`open_sealed`). Encryption streams: no second plaintext copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyrage

from juki.services.operations import age_keys
from juki.services.operations.ops_settings import OperationsSettings

SUFFIX = ".age"


def seal_file(source: Path, recipients_file: Path) -> Path:
    """Encrypt ``source`` to ``source.age`` and delete ``source``; return the sealed path."""
    recipients = age_keys.recipients(recipients_file)
    target = source.with_name(source.name + SUFFIX)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as plain, os.fdopen(fd, "wb") as out:
        pyrage.encrypt_io(plain, out, recipients)
        out.flush()
        os.fsync(out.fileno())
    source.unlink()
    return target


def seal_directory(folder: Path, ops: OperationsSettings) -> list[Path]:
    """Seal every file of ``folder`` (recursively) that is not sealed yet."""
    return [
        seal_file(path, ops.recipients_file)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(SUFFIX)
    ]


def open_sealed(sealed: Path, target: Path, ops: OperationsSettings) -> Path:
    """Decrypt a sealed file (with the prefecture's identity) to ``target``."""
    identity = age_keys.identity(ops.identity_file)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with sealed.open("rb") as handle, os.fdopen(fd, "wb") as out:
        pyrage.decrypt_io(handle, out, [identity])
    return target
