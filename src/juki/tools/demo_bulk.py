"""The demo's bulk-provision step (F1-2b, SIM-4, SIM-5): a requester's line-linkage folder at work.

Called once by `juki demo` after the network is up: the requester simulator drops a realistic request
file into the 公安委員会's shared folder (``<JUKI_DATA_DIR>/line/koan/request/``), the requester-side agent
pushes it over mutual TLS with its own certificate (role line_agent, naming koan), fetches the result
into ``result/``, and every result row is checked against the simulator's expectations. The step prints
where the files are, the result counts, and how many provision records and operation-log rows the job
left — the same things an administrator can look up with `juki provision bulk list / exchanges`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from juki.domain.peers import PeerRole
from juki.domain.provision import KeyType
from juki.domain.records import FileKind
from juki.files import PREF
from juki.interfaces.common import console
from juki.interfaces.line_agent import LineAgent
from juki.peers.requester import build_request, check_result
from juki.services.access.pki import Pki, client_context
from juki.store.db import Database

__all__ = ["DEMO_BULK_ROLES", "demo_line_linkage"]

REQUESTER = "koan"
TASK = "unten-menkyo"
AGENT = "koan-agent"
#: The demo's first administrator may also upload a request file at the terminal for the 公安委員会
#: (`/bulk/pref`), as an operator of that requester (bootstrap grant, demo only).
DEMO_BULK_ROLES = (f"bulk_requester@{REQUESTER}",)


def demo_line_linkage(
    db: Database, pki: Pki, server_url: str, folder: Path, *, rows: int = 200
) -> dict[str, Any]:
    """Drop one simulated request into ``folder`` and let the agent process it; print what happened."""
    if not pki.cert_path(AGENT).exists():
        pki.issue(PeerRole.LINE_AGENT, AGENT, requester=REQUESTER)
    name = f"irai-{datetime.now():%Y%m%d-%H%M%S}.csv"
    expected_dir = folder.parent / f"{folder.name}-expected"
    with db.connect(PREF.db_role, autocommit=True) as conn:
        built = build_request(
            conn, FileKind.PREF, expected_dir / name, rows=rows,
            allowed_keys=frozenset({KeyType.BASIC4, KeyType.RESIDENT_CODE}),
            national=bool(db.settings.national_url),
        )  # fmt: skip
    (folder / "request").mkdir(parents=True, exist_ok=True)
    built.request.replace(folder / "request" / name)
    ctx = client_context(pki.cert_path(AGENT), pki.key_path(AGENT), pki.ca_cert_path)
    with LineAgent(
        server_url=server_url,
        folder=folder,
        requester=REQUESTER,
        file=FileKind.PREF,
        task=TASK,
        ssl_context=ctx,
    ) as agent:
        report = agent.run_once()
    job = report.fetched.get(name)
    result = folder / "result" / f"{Path(name).stem}.result.csv"
    check = check_result(result, built.expected) if job is not None else None
    with db.connect() as conn:
        records = conn.execute(
            "SELECT count(*) FROM pref.provision_record WHERE bulk_job_id = %s", (job,)
        ).fetchone()
        logged = conn.execute(
            "SELECT count(*) FROM audit.op_log WHERE actor_kind = 'system:line' AND target = %s",
            (f"bulk_job:{job}",),
        ).fetchone()
    console.print(
        f"   一括提供（回線連携）: {folder / 'request' / name} を {AGENT} が送信 → 依頼 {job}、"
        f"照会結果 {result}（{check.counts if check else '未受信'}）",
        soft_wrap=True,  # paths stay whole on an 80-column terminal, like the demo's links
    )
    ok, total = (check.ok, check.rows) if check else (0, 0)
    console.print(
        f"   期待どおりの行 {ok}/{total}、提供の記録 {records[0] if records else 0} 件、"
        f"操作ログ {logged[0] if logged else 0} 行"
        f"（`juki provision bulk list`、`juki provision bulk exchanges {job}`）",
        soft_wrap=True,
    )
    return {"job": job, "result": str(result), "check": check.to_dict() if check else None}
