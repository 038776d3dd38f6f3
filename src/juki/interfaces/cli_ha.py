"""`juki ha plan`: the pg_auto_failover commands of a monitor and two nodes, and the URL juki uses.

Prints, does not run: the operator (or the guide, docs/deployment.md "High availability") runs them
as the PostgreSQL account on the machines. The same plan drives the failover drill's formation
(juki.tools.ha_formation), so the printed commands are the ones the fault test runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from juki.interfaces.common import console
from juki.services.operations.ha import FAST_TIMERS, HaPlan

app = typer.Typer(
    help="高可用構成（pg_auto_failover：モニタ1台とノード2台、同期レプリケーション）", no_args_is_help=True
)


@app.command("plan")
def plan_cmd(
    base: Annotated[Path, typer.Option(help="データディレクトリを置く場所")] = Path(
        "/var/lib/postgresql/juki-ha"
    ),
    host: Annotated[str, typer.Option(help="ノードとモニタのアドレス（試験ではループバック）")] = "127.0.0.1",
    monitor_port: Annotated[int, typer.Option(min=1, max=65535)] = 5431,
    node_port: Annotated[list[int] | None, typer.Option(help="2つのノードのポート（2回指定）")] = None,
    auth: Annotated[str, typer.Option(help="pg_autoctl --auth（本番は scram-sha-256）")] = "scram-sha-256",
    fast_timers: Annotated[bool, typer.Option(help="監視の間隔を訓練用に短くする（本番は既定値）")] = False,
) -> None:
    """pg_autoctl の構築手順と JUKI_DATABASE_URL を表示する（実行はしない）。"""
    ports = tuple(node_port or (5432, 5433))
    if len(ports) != 2:
        raise typer.BadParameter("--node-port は2回（ノード2台分）指定してください")
    plan = HaPlan(base=base, monitor_port=monitor_port, node_ports=(ports[0], ports[1]), host=host, auth=auth)
    console.print(
        plan.script(dict(FAST_TIMERS) if fast_timers else None), end="", soft_wrap=True, markup=False
    )
    console.print(f"export JUKI_DATABASE_URL='{plan.database_url()}'", soft_wrap=True, markup=False)
