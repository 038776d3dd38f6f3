"""CLI commands for data: synth, load, apply, demo."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from juki.config import Settings
from juki.domain.lgcodes import for_prefecture
from juki.domain.records import FileKind
from juki.files import all_files
from juki.interfaces.cli_output import (
    Column,
    FormatOption,
    JsonOption,
    emit_json,
    emit_rows,
    emit_value,
    progress,
    resolve_format,
)
from juki.interfaces.common import EXIT_REJECTED, console, open_database
from juki.services.registry.intake import NotificationApplier, Summary, iter_lines
from juki.services.registry.ledger import ItemResult
from juki.services.registry.load import LoadReport, load_population
from juki.store.db import Database


def _data_lines(path: Path) -> int:
    """Lines after the header of a CSV file: the total of the load's progress bar (its ETA).

    Counting newlines reads the file once at disk speed (about a second per GB), small beside the
    load itself; a quoted line break inside a value would only make the estimate a little high.
    """
    lines = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)


def synth_population(out: Path, persons: int, seed: int, prefecture: str) -> dict[str, Any]:
    """Write the synthetic population CSVs of ``prefecture`` with a progress bar; returns the
    writer's summary."""
    from juki.synth import write_population

    out.mkdir(parents=True, exist_ok=True)
    with progress(console) as bar:
        task = bar.add_task("合成人口の生成", total=persons)
        summary = write_population(
            out, persons, seed, progress=lambda n: bar.update(task, completed=n), prefecture=prefecture
        )
        bar.update(task, completed=persons)
    return dict(vars(summary))


def synth_changes(
    out: Path, persons: int, seed: int, count: int, *, stream: int, invalid_share: float, prefecture: str
) -> dict[str, int]:
    """Write a change stream as JSON Lines (malformed lines included when asked for)."""
    from juki.synth import generate_changes

    expected: dict[str, int] = {}
    with open(out, "wb") as handle:
        for change in generate_changes(
            persons, seed, count, stream=stream, invalid_share=invalid_share, prefecture=prefecture
        ):
            line = change.raw_line if change.raw_line is not None else orjson.dumps(change.notification)
            handle.write(line + b"\n")
            expected[change.expect] = expected.get(change.expect, 0) + 1
    return expected


def load_dir(db: Database, src: Path, *, rejects_dir: Path) -> list[LoadReport]:
    """Load pref_*.csv and fuhyo_*.csv from ``src`` in parallel, with progress bars."""
    kinds = [k for k in FileKind if (src / f"{k.value}_current.csv").exists()]
    if not kinds:
        raise RuntimeError(f"{src} に pref_current.csv / fuhyo_current.csv がありません")
    totals = {k: _data_lines(src / f"{k.value}_current.csv") for k in kinds} if console.is_terminal else {}
    with progress(console) as bar:
        tasks = {k: bar.add_task(f"ロード {k.value}", total=totals.get(k)) for k in kinds}

        def tick(done: dict[FileKind, int]) -> None:
            for kind, n in done.items():
                bar.update(tasks[kind], completed=n)

        return load_population(
            {k: db.admin_conninfo for k in kinds},  # a bulk load is an administrator's operation
            src,
            rejects_dir=rejects_dir,
            check_mode=db.settings.juminhyo_check_digit,
            prefecture=db.settings.prefecture,
            progress=tick,
        )


def apply_file(
    db: Database, path: Path, *, only: FileKind | None, batch: int, on_result: Any = None
) -> tuple[Summary, list[ItemResult]]:
    """Apply a notifications file; returns the summary and the results (rejected ones always kept)."""
    summary = Summary()
    kept: list[ItemResult] = []
    with contextlib.ExitStack() as stack:
        connections = {spec.kind: stack.enter_context(db.connect(spec.db_role)) for spec in all_files()}
        applier = NotificationApplier(
            connections,
            check_digit_mode=db.settings.juminhyo_check_digit,
            lg_table=db.settings.lg_table,
            batch_size=batch,
            only=only,
        )
        with open(path, "rb") as handle:
            chunks = iter(lambda: handle.read(1 << 20), b"")
            for result in applier.apply(iter_lines(chunks), source=f"file:{path.name}"):
                summary.add(result)
                if on_result:
                    on_result(result)
                if result.status == "rejected":
                    kept.append(result)
    return summary, kept


#: A notification's outcome as the administrator reads it (the JSON output keeps the status word).
STATUS_LABELS = {"accepted": "受理", "duplicate": "重複", "rejected": "エラー"}


def _print_result(result: ItemResult) -> None:
    label = STATUS_LABELS.get(result.status, result.status)
    if result.status == "rejected":
        console.print(
            f"行 {result.line_no}: [red]{label}[/red] {result.error_code} {escape(result.message or '')}",
            soft_wrap=True,
        )
    else:
        colour = "green" if result.status == "accepted" else "yellow"
        extra = f" 更新順番号={result.update_seq}" if result.update_seq else ""
        warn = f" 警告={','.join(result.warnings)}" if result.warnings else ""
        console.print(
            f"行 {result.line_no}: [{colour}]{label}[/{colour}] {result.juminhyo_code}{extra}{warn}",
            soft_wrap=True,
        )


app = typer.Typer()  # its commands are top-level: `juki synth`, `juki load`, `juki apply`

#: What `juki load` reports per file, under the headings an administrator reads.
LOAD_COLUMNS = [
    Column("file", "ファイル"),
    Column("persons", "人数"),
    Column("history_rows", "履歴行"),
    Column("rejected", "拒否"),
    Column("warnings", "警告"),
    Column("mode", "方式"),
    Column("seconds", "秒"),
    Column("rejects_path", "拒否行のファイル"),
    Column("reject_codes", "拒否の内訳"),
]
_SYNTH_LABELS = {
    "out": "出力先",
    "changes": "異動通知の件数",
    "expected": "期待される応答",
    "persons": "人数",
    "pref_current": "本人確認情報（現在）の行数",
    "pref_history": "本人確認情報（履歴）の行数",
    "fuhyo_current": "附票本人確認情報（現在）の行数",
    "fuhyo_history": "附票本人確認情報（履歴）の行数",
}


def _synth_prefecture(value: str | None) -> str:
    """--prefecture, or the configured one; a code the table does not know is a clear error."""
    if value is None:
        return Settings.from_env().prefecture
    try:
        for_prefecture(value)
    except ValueError as exc:
        console.print(f"[red]エラー:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    return value


@app.command("synth")
def synth_cmd(
    out: Annotated[Path, typer.Option(help="出力先: 人口ならディレクトリ、--changes なら .jsonl ファイル")],
    persons: Annotated[int, typer.Option(min=1, help="人口（人数）")] = 10_000,
    seed: Annotated[int, typer.Option(help="乱数の種（同じ種なら同じデータ）")] = 1,
    changes: Annotated[int, typer.Option(min=0, help="人口の代わりに異動通知を N 件書く")] = 0,
    stream: Annotated[int, typer.Option(min=1, help="異動通知ストリームの番号（通知IDが重ならない）")] = 1,
    invalid_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="不正な通知の割合")] = 0.0,
    prefecture: Annotated[
        str | None,
        typer.Option(help="都道府県コード2桁（既定は JUKI_PREFECTURE、未設定なら 14 神奈川県）"),
    ] = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """合成人口（CSV）または異動通知ストリーム（JSON Lines）を生成する。実在の個人情報は含まない。"""
    pref = _synth_prefecture(prefecture)
    if changes:
        expected = synth_changes(
            out, persons, seed, changes, stream=stream, invalid_share=invalid_share, prefecture=pref
        )
        result: dict[str, Any] = {"changes": changes, "out": str(out), "expected": expected}
    else:
        result = {"out": str(out), **synth_population(out, persons, seed, pref)}
    fields = [Column(key, _SYNTH_LABELS.get(key, key)) for key in result]
    emit_value("合成データを生成しました", fields, result, resolve_format(fmt, as_json))


@app.command("load")
def load_cmd(
    src: Annotated[Path, typer.Argument(help="合成人口の CSV があるディレクトリ")],
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """人口CSVを一括ロードする（空のファイルには索引を後から構築する高速経路）。"""
    db = open_database()
    reports = load_dir(db, src, rejects_dir=db.settings.data_dir / "rejects")
    emit_rows("ロード結果", LOAD_COLUMNS, [dict(vars(r)) for r in reports], resolve_format(fmt, as_json))
    if any(r.rejected for r in reports):
        raise typer.Exit(EXIT_REJECTED)


@app.command("apply")
def apply_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="異動通知ファイル（JSON Lines）")],
    file: Annotated[str, typer.Option(help="auto（各行の file）、pref または fuhyo")] = "auto",
    batch: Annotated[int, typer.Option(min=1, max=5000)] = 500,
    as_json: Annotated[
        bool, typer.Option("--json", help="通知ごとの結果を1行1件の JSON で標準出力へ")
    ] = False,
    quiet: Annotated[bool, typer.Option(help="拒否された通知と集計だけを表示する")] = False,
) -> None:
    """異動通知ファイルを適用し、通知ごとの結果（受理・重複・エラーコード）を出力する。"""
    if file not in ("auto", *(spec.value for spec in all_files())):
        raise typer.BadParameter("--file は auto / pref / fuhyo")
    db = open_database()

    def show(result: ItemResult) -> None:
        if as_json:
            emit_json(result.to_dict())
        elif not quiet or result.status == "rejected":
            _print_result(result)

    summary, _ = apply_file(
        db, path, only=None if file == "auto" else FileKind(file), batch=batch, on_result=show
    )
    console.print(f"受理 {summary.accepted} 件 / 重複 {summary.duplicate} 件 / エラー {summary.rejected} 件")
    if summary.rejected:
        raise typer.Exit(EXIT_REJECTED)
