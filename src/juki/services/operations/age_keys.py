"""The prefecture's age key pair for backups and contractor files (S-46, S-47).

`keygen` writes an X25519 identity (mode 0600, in a 0700 directory under the data directory, never
in the repository) and appends its public recipient to the recipients file. Writing a backup needs
only the recipients: the machine or person that writes and carries the media cannot read them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyrage

from juki.services.operations.context import JobFailed


def keygen(identity_file: Path, recipients_file: Path) -> str:
    """Create the identity if missing and make sure its recipient is listed; return the recipient."""
    identity_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if identity_file.exists():
        identity = pyrage.x25519.Identity.from_str(_identity_line(identity_file))
    else:
        identity = pyrage.x25519.Identity.generate()
        fd = os.open(identity_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(f"# juki backup identity: decrypts backups; keep it off the backup media\n{identity}\n")
    recipient = str(identity.to_public())
    if recipient not in read_recipient_lines(recipients_file):
        recipients_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with recipients_file.open("a", encoding="ascii") as out:
            out.write(recipient + "\n")
    return recipient


def read_recipient_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="ascii").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def recipients(path: Path) -> list[pyrage.x25519.Recipient]:
    """The recipients every backup is encrypted to; E_BACKUP_NO_RECIPIENT when there are none."""
    found = [pyrage.x25519.Recipient.from_str(line) for line in read_recipient_lines(path)]
    if not found:
        raise JobFailed("E_BACKUP_NO_RECIPIENT")
    return found


def _identity_line(path: Path) -> str:
    for line in path.read_text(encoding="ascii").splitlines():
        if line.startswith("AGE-SECRET-KEY-"):
            return line.strip()
    raise JobFailed("E_RESTORE_DECRYPT", "no identity in the file")


def identity(path: Path) -> pyrage.x25519.Identity:
    if not path.exists():
        raise JobFailed("E_RESTORE_DECRYPT", "identity file missing")
    return pyrage.x25519.Identity.from_str(_identity_line(path))
