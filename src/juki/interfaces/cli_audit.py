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
from rich.padding import Padding

from juki.interfaces.cli_output import (
    Column,
    FormatOption,
    JsonOption,
    OutputFormat,
    emit_rows,
    resolve_format,
)
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
    as_json: JsonOption = False,
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
                _print_finding(finding.code, finding.seq, finding.line, finding.message_ja)
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
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """ハッシュチェーンと全チェックポイントを検証する（改ざんを検出したら終了コード 1）。

    端末では所見を1件ずつ（コード・位置の行と、字下げした内容）表示し、リダイレクト先には
    TSV（コード・重要度・seq・行・内容）を書く。"""
    db = open_database()
    base = audit_dir(db.settings)
    with db.connect() as conn:
        report = verify(conn, keydir or base, checkpoints or base / CHECKPOINT_FILE)
    output = resolve_format(fmt, as_json)
    if output is OutputFormat.JSON:
        emit_json(report.to_dict())
    else:
        status = "[green]OK[/green]" if report.ok else "[red]改ざんまたは破損を検出しました[/red]"
        console.print(
            f"{status}: {report.rows} 件, "
            f"チェックポイント {report.checkpoints_checked}/{report.checkpoints} 件を照合"
        )
        if output is OutputFormat.TABLE:
            for f in report.findings:
                _print_finding(f.code, f.seq, f.line, f.message_ja)
        elif report.findings:
            emit_rows(
                "所見",
                [
                    Column("code", "コード"),
                    Column("severity", "重要度"),
                    Column("seq", "seq"),
                    Column("line", "チェックポイント行"),
                    Column("message", "内容"),
                ],
                [f.to_dict() | {"severity": f.severity, "message": f.message_ja} for f in report.findings],
                output,
            )
        if report.findings_total > len(report.findings):
            console.print(f"… ほか {report.findings_total - len(report.findings)} 件")
    if not report.ok:
        raise typer.Exit(1)


def _print_finding(code: str, seq: int | None, line: int | None, message: str) -> None:
    """A finding as two lines that fit 80 columns: the code and where, then the message indented
    (rich wraps it inside the indent instead of squeezing a four-column table)."""
    where = "".join(
        (f"  ログ seq {seq}" if seq is not None else "", f"  チェックポイント {line} 行目" if line else "")
    )
    console.print(f"[bold]{code}[/bold]{where}")
    console.print(Padding(escape(message), (0, 0, 0, 4)))
