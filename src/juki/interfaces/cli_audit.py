"""`juki audit checkpoint|verify`: signed checkpoints of the operation log and its verification
(REQUIREMENTS S-15, S-19, S-20; docs/terminals.md "Operation log").

`checkpoint` is meant for cron (e.g. hourly): it verifies the log and appends one signed line to
`$JUKI_DATA_DIR/audit/checkpoints.jsonl` (copy that file off the machine as well). `verify` is for
the auditor. Exit codes: 0 the log verifies; 1 tampering or damage was found (each finding has a
stable code, see `juki.services.audit.checkpoints.FINDINGS`) or the checkpoint was refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from juki.interfaces.common import console, emit_json, open_database
from juki.services.audit.checkpoints import CHECKPOINT_FILE, CheckpointRefused, audit_dir, create_checkpoint
from juki.services.audit.verify import verify

app = typer.Typer(help="操作ログの改ざん検知（署名付きチェックポイントの作成・検証）", no_args_is_help=True)

KeyDirOption = Annotated[
    Path | None,
    typer.Option("--keydir", help="署名鍵のディレクトリ（既定: $JUKI_DATA_DIR/audit）", file_okay=False),
]


@app.command("checkpoint")
def checkpoint_cmd(
    keydir: KeyDirOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="checkpoints.jsonl を置くディレクトリ（既定: $JUKI_DATA_DIR/audit）"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """ログを検証し、署名付きチェックポイントを1行追記する（鍵がなければ生成する）。"""
    db = open_database()
    base = audit_dir(db.settings)
    with db.connect() as conn:
        try:
            cp = create_checkpoint(conn, keydir or base, out or base)
        except CheckpointRefused as refused:
            console.print(f"[red]{escape(str(refused))}[/red]")
            for finding in refused.findings[:20]:
                console.print(
                    f"  {finding.code} seq={finding.seq} line={finding.line} {escape(finding.message_ja)}"
                )
            raise typer.Exit(1) from None
    file = (out or base) / CHECKPOINT_FILE
    info = {
        "tree_size": cp.tree_size,
        "root": cp.root.hex(),
        "last_seq": cp.last_seq,
        "created_at": cp.created_at,
        "key_id": cp.key_id,
        "file": str(file),
    }
    if as_json:
        emit_json(info)
    else:
        console.print(
            f"チェックポイントを作成しました: {cp.tree_size} 件, root {cp.root.hex()[:16]}…, "
            f"{escape(str(file))}"
        )


@app.command("verify")
def verify_cmd(
    keydir: KeyDirOption = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            "--checkpoints", help="チェックポイントファイル（既定: $JUKI_DATA_DIR/audit/checkpoints.jsonl）"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """ハッシュチェーンと全チェックポイントを検証する（改ざんを検出したら終了コード 1）。"""
    db = open_database()
    base = audit_dir(db.settings)
    with db.connect() as conn:
        report = verify(conn, keydir or base, checkpoints or base / CHECKPOINT_FILE)
    if as_json:
        emit_json(report.to_dict())
    else:
        status = "[green]OK[/green]" if report.ok else "[red]改ざんまたは破損を検出しました[/red]"
        console.print(
            f"{status}: {report.rows} 件, "
            f"チェックポイント {report.checkpoints_checked}/{report.checkpoints} 件を照合"
        )
        if report.findings:
            table = Table("code", "seq", "line", "内容")
            for f in report.findings:
                table.add_row(f.code, str(f.seq or ""), str(f.line or ""), escape(f.message_ja))
            console.print(table)
            if report.findings_total > len(report.findings):
                console.print(f"… ほか {report.findings_total - len(report.findings)} 件")
    if not report.ok:
        raise typer.Exit(1)
