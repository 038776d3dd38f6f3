"""`juki serve-admin`: the administration port (metrics, health, readiness; docs/deployment.md)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from juki.interfaces.admin_api import create_admin_app
from juki.interfaces.common import console, open_database
from juki.services.access.pki import Pki

app = typer.Typer()  # `juki serve-admin`


@app.command("serve-admin")
def serve_admin(
    host: Annotated[str, typer.Option(help="待ち受けるアドレス（既定: この機械からのみ）")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="待ち受けるポート")] = 9464,
    require_cert: Annotated[
        list[str] | None,
        typer.Option(help="/readyz が有効であることを確かめる証明書（PKI 内の名前、複数可）"),
    ] = None,
) -> None:
    """監視用の管理ポート（/metrics, /healthz, /readyz）を HTTP で起動する。"""
    db = open_database(migrate_schema=False)  # monitoring never changes the schema; /readyz reports it
    pki = Pki(db.settings.pki_directory, prefecture=db.settings.prefecture)
    console.print(f"管理ポート: http://{host}:{port}/metrics /healthz /readyz")
    uvicorn.run(
        create_admin_app(db, pki, require_cert or ()),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
