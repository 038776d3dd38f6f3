"""Electronic media (電磁的記録媒体, S-29, S-30, REC-6, S-23): the register, and output to a medium.

The register (電磁的記録媒体管理簿, ``provision.media``) lists every approved medium: its label, kind, serial
number, holder (保管者) and status (approved / suspended / disposed / lost). A medium is *mounted* as a
directory ``<JUKI_DATA_DIR>/media/<serial>/`` holding a label file ``.juki-medium`` with its serial (written
when it is registered — labelling the medium); an output goes only to a medium that is in the register
as approved **and** whose label file says so.

Output to a medium (S-29): only an operator holding ``bulk_requester@<code>`` of the job's requester, at a
代表端末 or bulk-enabled 業務端末. The result file is encrypted to the requester's age recipient (its public
key, ``age_recipient`` of the requester in the legal-basis catalog in force — changed only through the
catalog's four-eyes workflow, decision 90), so a lost medium leaks nothing; the file name, the SHA-256 of the
ciphertext, the rows, the medium, the operator, the terminal and the time are recorded (S-23, REC-3) before
the file gets its final name on the medium.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import psycopg
import pyrage
from psycopg.rows import dict_row

from juki.config import Settings
from juki.domain.records import FileKind
from juki.domain.refusals import Refusal
from juki.services.access import permissions
from juki.services.access.actor import Actor, Function, Outcome
from juki.services.audit.guard import guarded
from juki.services.provision.bulk.jobs import (
    ExchangeKind,
    JobNotFound,
    JobState,
    Sender,
    get_job,
    record_exchange,
)
from juki.services.provision.bulk.journal import log_bulk
from juki.services.provision.bulk.results import ResultStore
from juki.services.provision.bulk.service import check_bulk_terminal, requesters_of
from juki.services.provision.catalog import load_catalog

__all__ = [
    "LABEL_FILE",
    "MEDIUM_KINDS",
    "MediaError",
    "MediaOutput",
    "Medium",
    "dispose_medium",
    "list_media",
    "list_recipients",
    "media_root",
    "output_to_medium",
    "register_medium",
]

LABEL_FILE: Final = ".juki-medium"
MEDIUM_KINDS: Final = ("usb", "optical", "disk", "other")
_CHUNK: Final = 1024 * 1024


class MediaError(ValueError):
    """A register change that cannot be made (console); the message says why (Japanese)."""


@dataclass(frozen=True)
class Medium:
    id: int
    label: str
    kind: str
    serial: str
    holder: str
    status: str
    registered_at: datetime
    registered_by: str
    disposed_at: datetime | None
    disposed_by: str | None
    note: str

    @property
    def usable(self) -> bool:
        return self.status == "approved"

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("registered_at", "disposed_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass(frozen=True)
class MediaOutput:
    """What was written to a medium (and recorded)."""

    job_id: int
    medium: str
    path: Path
    sha256: str
    rows: int
    exchange_id: int


def media_root(settings: Settings) -> Path:
    """Where media are mounted: ``<JUKI_DATA_DIR>/media/<serial>/``."""
    return settings.data_dir / "media"


_MEDIA_COLUMNS: Final = (
    "id, label, kind, serial, holder, status, registered_at, registered_by, disposed_at, disposed_by, note"
)


def list_media(conn: psycopg.Connection[Any], *, usable_only: bool = False) -> list[Medium]:
    """The register, in registration order (any role that may read provision.media)."""
    where = " WHERE status = 'approved'" if usable_only else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {_MEDIA_COLUMNS} FROM provision.media{where} ORDER BY id").fetchall()
    return [Medium(**r) for r in rows]


def _medium(conn: psycopg.Connection[Any], label: str) -> Medium | None:
    with conn.cursor(row_factory=dict_row) as cur:
        query = f"SELECT {_MEDIA_COLUMNS} FROM provision.media WHERE label = %s"
        row = cur.execute(query, (label,)).fetchone()
    return Medium(**row) if row else None


def register_medium(
    conn: psycopg.Connection[Any],
    settings: Settings,
    *,
    label: str,
    kind: str,
    serial: str,
    holder: str,
    by: str,
    note: str = "",
) -> Medium:
    """Enter a medium in the register (approved) and label it (the console, as juki_term)."""
    if kind not in MEDIUM_KINDS:
        raise MediaError(f"媒体の種類は {', '.join(MEDIUM_KINDS)} のいずれかです")
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO provision.media (label, kind, serial, holder, registered_by, note)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (label, kind, serial, holder, by, note),
            )
            log_bulk(
                conn,
                None,
                None,
                function=Function.MEDIA_OUTPUT,
                file=None,
                outcome=Outcome.ALLOW,
                target=f"medium:{label}",
                detail={"event": "media_register", "serial": serial, "kind": kind, "by": by},
            )
    except psycopg.errors.UniqueViolation:
        raise MediaError(f"ラベル {label} または製造番号 {serial} の媒体は既に登録されています") from None
    except psycopg.errors.CheckViolation:
        raise MediaError("ラベル（1〜64文字）、製造番号（英数字 4〜64）、保管者を確かめてください") from None
    mount = media_root(settings) / serial
    mount.mkdir(parents=True, exist_ok=True, mode=0o700)
    (mount / LABEL_FILE).write_text(serial + "\n", encoding="ascii")
    found = _medium(conn, label)
    assert found is not None
    return found


def dispose_medium(
    conn: psycopg.Connection[Any], *, label: str, status: str, by: str, note: str = ""
) -> Medium:
    """Mark a medium disposed (廃棄), lost (紛失) or suspended (使用停止); never usable again when disposed
    or lost (the register keeps it)."""
    if status not in ("disposed", "lost", "suspended"):
        raise MediaError("状態は disposed / lost / suspended のいずれかです")
    with conn.transaction():
        found = conn.execute(
            "UPDATE provision.media SET status = %s,"
            " disposed_at = CASE WHEN %s IN ('disposed', 'lost') THEN now() END,"
            " disposed_by = CASE WHEN %s IN ('disposed', 'lost') THEN %s END, note = %s"
            " WHERE label = %s AND status NOT IN ('disposed', 'lost') RETURNING id",
            (status, status, status, by, note, label),
        ).fetchone()
        if found is None:
            raise MediaError(f"使用中の媒体 {label} は登録にありません（廃棄・紛失済みを含む）")
        log_bulk(
            conn,
            None,
            None,
            function=Function.MEDIA_OUTPUT,
            file=None,
            outcome=Outcome.ALLOW,
            target=f"medium:{label}",
            detail={"event": f"media_{status}", "by": by},
        )
    medium = _medium(conn, label)
    assert medium is not None
    return medium


def list_recipients(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Each requester's age recipient in the catalog in force (changed only by a four-eyes catalog change)."""
    catalog = load_catalog(conn)
    return {
        code: r.age_recipient for code, r in sorted(catalog.requesters.items()) if r.age_recipient is not None
    }


def _media_refusal(code: str, detail: str = "") -> Refusal:
    return Refusal("T_MEDIA", f"{code} {detail}".strip())


def output_to_medium(
    conn: psycopg.Connection[Any],
    settings: Settings,
    actor: Actor,
    file: FileKind,
    job_id: int,
    medium_label: str,
    store: ResultStore,
) -> MediaOutput:
    """Encrypt a done job's result to its requester and write it to a registered medium (S-29, S-30, S-23).

    ``conn``: an autocommit connection as the file's role. Raises Refusal (logged)."""
    part: Path | None = None

    def body() -> MediaOutput:
        nonlocal part
        permissions.require(actor, Function.MEDIA_OUTPUT, file)
        check_bulk_terminal(actor)
        codes = requesters_of(actor, Function.MEDIA_OUTPUT, file)
        try:
            job = get_job(conn, file, job_id, requester_code=None)
        except JobNotFound:
            raise Refusal("T_BULK_JOB_NOT_FOUND") from None
        if job.requester_code not in codes:
            raise Refusal("T_BULK_JOB_NOT_FOUND")
        source = store.path(file, job_id)
        if job.state is not JobState.DONE or not source.exists():
            raise Refusal("T_BULK_STATE", "照会結果ファイルはまだありません")
        medium = _medium(conn, medium_label)
        if medium is None or not medium.usable:
            raise _media_refusal("E_MEDIA_NOT_APPROVED", medium_label)
        mount = media_root(settings) / medium.serial
        label = mount / LABEL_FILE
        if (
            not label.is_file()
            or label.read_text(encoding="ascii", errors="replace").strip() != medium.serial
        ):
            raise _media_refusal("E_MEDIA_LABEL", medium_label)
        # The key comes from the approved catalog in force (four eyes, logged), never from a table one
        # administrator could change alone: otherwise one person could redirect a medium's contents.
        requester = load_catalog(conn).requester(job.requester_code)
        if requester is None or requester.age_recipient is None:
            raise _media_refusal("E_MEDIA_RECIPIENT", job.requester_code)
        recipient = pyrage.x25519.Recipient.from_str(requester.age_recipient)
        name = f"{source.stem}-{job.requester_code}.csv.age"
        part = mount / (name + ".part")
        pyrage.encrypt_file(str(source), str(part), [recipient])
        digest = hashlib.sha256()
        with part.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        sha = digest.hexdigest()
        sender = Sender(actor.operator_id, actor.login, actor.terminal_id, actor.terminal_name)
        exchange = record_exchange(
            conn,
            file,
            job_id,
            ExchangeKind.MEDIA,
            file_name=name,
            sha256=sha,
            rows=job.result_rows or 0,
            sender=sender,
            medium_id=medium.id,
        )
        log_bulk(
            conn,
            actor,
            None,
            function=Function.MEDIA_OUTPUT,
            file=file,
            outcome=Outcome.ALLOW,
            target=f"bulk_job:{job_id}",
            detail={"event": "media_output", "medium": medium.label, "sha256": sha, "rows": job.result_rows},
        )
        return MediaOutput(job_id, medium.label, mount / name, sha, job.result_rows or 0, exchange)

    try:
        written = guarded(
            conn, body, actor=actor, function=Function.MEDIA_OUTPUT, event="media_output", file=file,
            target=f"bulk_job:{job_id}",
        )  # fmt: skip
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    assert part is not None
    os.replace(part, written.path)
    return written
