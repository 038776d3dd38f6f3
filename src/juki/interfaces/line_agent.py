"""The line-linkage agent (回線連携, F1-2b; S-33, S-34): runs on the requester's side, next to its folder.

The 税務システム's shared folder exists only there, and the servers never reach into it (S-33): this agent
looks at ``<folder>/request/`` and ``<folder>/result/`` and nothing else, pushes each request file to the
server over mutual TLS with its own certificate (role ``line_agent``, naming its requester), and writes
each result back. One connection outwards to one server port is all the firewall has to allow (S-34).

Folder protocol (docs/provision.md "回線連携"):

* ``request/NAME.csv`` — a request the tax system put there (anything else, dot files and ``*.part``
  are left alone: write as ``NAME.csv.part`` and rename when complete);
* after the push, the request moves to ``request/.sent/<job>-NAME.csv`` (refused whole:
  ``request/.refused/NAME.csv`` with ``result/NAME.error.json`` saying why);
* ``result/NAME.waiting.json`` while the job waits for the head's approval (S-26);
* ``result/NAME.result.csv`` — the 照会結果ファイル, written as ``.part`` and renamed when complete; its
  SHA-256 is checked against the server's before the rename.

Each pass also purges what is past its period (JUKI_BULK_RESULT_KEEP_DAYS, default 30 days): results,
error notes and the sent or refused request copies — personal data the folder must not keep for good
(the retention table's ``line_folder_files``; the server's purge job cannot reach this folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import httpx

from juki.domain.peers import PeerRole
from juki.domain.records import FileKind
from juki.services.access.pki import ServerRoleCheck
from juki.services.provision.retention import purge_line_folder

__all__ = ["AgentReport", "LineAgent"]

_CHUNK: Final = 256 * 1024
_JST: Final = ZoneInfo("Asia/Tokyo")


@dataclass
class AgentReport:
    """What one pass did, by request file name."""

    sent: dict[str, int] = field(default_factory=dict)  # name → job id
    refused: dict[str, str] = field(default_factory=dict)  # name → error code
    fetched: dict[str, int] = field(default_factory=dict)  # name → job id
    waiting: dict[str, int] = field(default_factory=dict)
    purged: int = 0  # files past their period removed from the folder

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "refused": self.refused,
            "fetched": self.fetched,
            "waiting": self.waiting,
            "purged": self.purged,
        }


class LineAgent:
    """Pushes the requests of one requester's folder and fetches their results (one file, one task)."""

    def __init__(
        self,
        *,
        server_url: str,
        folder: Path,
        requester: str,
        file: FileKind,
        task: str,
        ssl_context: ssl.SSLContext,
        timeout: float = 600.0,
        server_role: PeerRole = PeerRole.PREF_SERVER,
    ) -> None:
        self.folder = folder
        self.requester = requester
        self.file = file
        self.task = task
        self.requests = folder / "request"
        self.results = folder / "result"
        for path in (self.requests / ".sent", self.requests / ".refused", self.results):
            path.mkdir(parents=True, exist_ok=True)
        # The server must be the prefecture's intake (its certificate's role), checked before a byte is sent.
        self._check = ServerRoleCheck(server_role, "都道府県サーバ（受付）")
        self.http = httpx.Client(base_url=server_url, verify=ssl_context, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LineAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------- one pass

    def pending_requests(self) -> list[Path]:
        return sorted(
            p
            for p in self.requests.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() == ".csv"
        )

    def run_once(self) -> AgentReport:
        """Push every complete request, then fetch every result that is ready."""
        report = AgentReport()
        for path in self.pending_requests():
            self._push(path, report)
        for waiting in sorted(self.results.glob("*.waiting.json")):
            self._fetch(waiting, report)
        report.purged = purge_line_folder(self.folder, datetime.now(_JST).date())
        return report

    def run_forever(self, interval: float = 5.0) -> None:
        while True:
            self.run_once()
            time.sleep(interval)

    def _url(self, suffix: str = "") -> str:
        return f"/line/v1/{self.file.value}/requests{suffix}"

    def _push(self, path: Path, report: AgentReport) -> None:
        name = path.name
        stem = path.stem

        def body() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        answer = self.http.post(
            self._url(),
            params={"task": self.task, "name": name, "requester": self.requester},
            content=body(),
            headers={"Content-Type": "text/csv"},
            extensions={"trace": self._check},
        )
        data = answer.json()
        if answer.status_code != 200:
            _write_json(self.results / f"{stem}.error.json", data)
            os.replace(path, self.requests / ".refused" / name)
            report.refused[name] = str(data.get("code"))
            return
        job_id = int(data["id"])
        os.replace(path, self.requests / ".sent" / f"{job_id}-{name}")
        report.sent[name] = job_id
        _write_json(
            self.results / f"{stem}.waiting.json", {"job_id": job_id, "state": data["state"], "name": name}
        )

    def _fetch(self, waiting: Path, report: AgentReport) -> None:
        info = json.loads(waiting.read_text(encoding="utf-8"))
        job_id, name = int(info["job_id"]), str(info["name"])
        stem = Path(name).stem
        job = self.http.get(self._url(f"/{job_id}"), extensions={"trace": self._check})
        state = job.json().get("state") if job.status_code == 200 else None
        if state in ("rejected", "error"):
            _write_json(self.results / f"{stem}.error.json", job.json())
            waiting.unlink()
            report.refused[name] = str(state)
            return
        if state != "done":
            report.waiting[name] = job_id
            return
        part = self.results / f"{stem}.result.csv.part"
        digest = hashlib.sha256()
        with self.http.stream("GET", self._url(f"/{job_id}/result"), extensions={"trace": self._check}) as r:
            if r.status_code != 200:
                report.waiting[name] = job_id
                return
            expected = r.headers.get("x-juki-sha256", "")
            with part.open("wb") as out:
                for chunk in r.iter_bytes():
                    out.write(chunk)
                    digest.update(chunk)
                out.flush()
                os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            part.unlink()
            report.waiting[name] = job_id  # fetched again next pass
            return
        os.replace(part, self.results / f"{stem}.result.csv")
        waiting.unlink()
        report.fetched[name] = job_id


def _write_json(path: Path, data: Any) -> None:
    part = path.with_suffix(path.suffix + ".part")
    part.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(part, path)
